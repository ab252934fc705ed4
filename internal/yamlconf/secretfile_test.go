package yamlconf

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

type inner struct {
	Password Secret `yaml:"password"`
	CAFile   string `yaml:"ca_file"`
}

type outer struct {
	Token  Secret  `yaml:"token"`
	Inline inner   `yaml:",inline"`
	List   []inner `yaml:"list"`
	Port   int     `yaml:"port"`
}

func TestSecretKeys(t *testing.T) {
	require.Equal(t, []string{"password", "token"}, SecretKeys(&outer{}))
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	pw := write("pw", "s3cret\n")
	tok := write("tok with space", "tok-value")
	cfg := write("cfg.yaml", `token_file: "`+tok+`"   # quoted, with a comment
password_file: `+pw+`
ca_file: /etc/ssl/ca.pem
list:
  - {password_file: '`+pw+`', ca_file: x}
  - password: inline
`)
	var got outer
	require.NoError(t, LoadFile(cfg, &got))
	require.Equal(t, "tok-value", got.Token.Reveal())
	require.Equal(t, "s3cret", got.Inline.Password.Reveal())
	require.Equal(t, "/etc/ssl/ca.pem", got.Inline.CAFile, "ca_file is not a secret's file")
	require.Equal(t, "s3cret", got.List[0].Password.Reveal())
	require.Equal(t, "x", got.List[0].CAFile)
	require.Equal(t, "inline", got.List[1].Password.Reveal())
}

func TestSecretFileErrorsKeepTheirLines(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cfg.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("password_file: /nonexistent/pw\nport: many\n"), 0o600))
	err := LoadFile(cfg, &outer{})
	require.ErrorContains(t, err, "line 1: reading secret")
	require.ErrorContains(t, err, "/nonexistent/pw")

	require.NoError(t, os.WriteFile(cfg, []byte("token: x\n\nport: many\n"), 0o600))
	require.ErrorContains(t, LoadFile(cfg, &outer{}), "line 3")

	require.NoError(t, os.WriteFile(cfg, []byte("password: a\npassword_file: /b\n"), 0o600))
	require.ErrorContains(t, LoadFile(cfg, &outer{}), "line 2: password and password_file: give the secret or the file that holds it, not both")

	require.NoError(t, os.WriteFile(cfg, []byte("port_file: /x\n"), 0o600))
	require.ErrorContains(t, LoadFile(cfg, &outer{}), "field port_file not found", "only secrets have _file forms")
}
