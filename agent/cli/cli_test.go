package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(t.Context(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelpAndVersion(t *testing.T) {
	code, out, _ := run(t, "--help")
	require.Equal(t, 0, code)
	for _, sub := range []string{"run", "validate", "enroll", "probe"} {
		require.Contains(t, out, sub)
	}
	code, out, _ = run(t, "--version")
	require.Equal(t, 0, code)
	require.True(t, strings.HasPrefix(out, "kpilot-agent dev"), "got %q", out)
}

func TestUsageErrorsExit2(t *testing.T) {
	code, _, errOut := run(t, "frobnicate")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "unknown command")
	code, _, _ = run(t, "validate", "--no-such-flag")
	require.Equal(t, 2, code)
	code, _, errOut = run(t, "enroll", "--config", "../../configs/agent.example.yaml")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "--token is required")
}

func TestValidate(t *testing.T) {
	code, out, _ := run(t, "validate", "--config", "../../configs/agent.example.yaml")
	require.Equal(t, 0, code)
	require.Contains(t, out, "OK (3 collectors, 3 targets)")

	code, _, errOut := run(t, "validate", "--config", "../testdata/unknown_field.bad.yaml")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `line 5: unknown key "communty" in collector "snmp" (snmp); did you mean "community"?`)

	code, out, _ = run(t, "validate", "--print", "--config", "../../configs/agent.example.yaml")
	require.Equal(t, 0, code)
	require.Contains(t, out, "community: <secret>")
	require.NotContains(t, out, "public")
	require.Contains(t, out, "password: <secret>")
	require.NotContains(t, out, "lab-bmc-password")
}

// TestValidateBadConfigs runs validate on the agent's bad-config corpus:
// it prints exactly the message paired with each file, and exits 1.
func TestValidateBadConfigs(t *testing.T) {
	t.Chdir("..") // the messages name the files as agent/testdata/*.bad.want does
	files, err := filepath.Glob("testdata/*.bad.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			want, err := os.ReadFile(strings.TrimSuffix(file, ".yaml") + ".want")
			require.NoError(t, err)
			code, out, errOut := run(t, "validate", "--config", file)
			require.Equal(t, 1, code)
			require.Empty(t, out)
			require.Equal(t, "kpilot-agent: "+string(want), errOut)
		})
	}
}

// exampleConfig copies the example config with its data_dir in a temp dir.
// exampleConfig writes configs/agent.example.yaml into a temporary
// directory that also serves as its data_dir, with each old, new pair of
// replace applied (addresses of the test's own devices).
func exampleConfig(t *testing.T, replace ...string) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	data, err := os.ReadFile("../../configs/agent.example.yaml")
	require.NoError(t, err)
	data = bytes.ReplaceAll(data, []byte("/var/lib/kpilot"), []byte(dir))
	for i := 0; i+1 < len(replace); i += 2 {
		data = bytes.ReplaceAll(data, []byte(replace[i]), []byte(replace[i+1]))
	}
	path = filepath.Join(dir, "agent.yaml")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return dir, path
}

func TestRunWithoutEnrollmentSaysWhatToDo(t *testing.T) {
	_, cfg := exampleConfig(t)
	code, _, errOut := run(t, "run", "--config", cfg)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "kpilot-agent enroll --server URL --token TOKEN")
}

func TestRunRefusesReadableCredential(t *testing.T) {
	dir, cfg := exampleConfig(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "credential.json"), []byte(`{"token":"kpa_x"}`), 0o644))
	code, _, errOut := run(t, "run", "--config", cfg)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "chmod 600")
}
