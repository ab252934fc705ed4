package agent

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	redfishc "github.com/kpilot/kpilot/collectors/redfish"
	_ "github.com/kpilot/kpilot/collectors/rest"
	snmpc "github.com/kpilot/kpilot/collectors/snmp"
)

// TestBadConfigs loads every testdata/*.bad.yaml and requires exactly the
// message in its .bad.want file: the corpus of mistakes a new user makes,
// each paired with what the agent says about it.
func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bad.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 20)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			want, err := os.ReadFile(strings.TrimSuffix(file, ".yaml") + ".want")
			require.NoError(t, err, "every bad config is paired with the message it must give")
			_, err = LoadConfig(file)
			require.EqualError(t, err, strings.TrimSuffix(string(want), "\n"))
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
		})
	}
}

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"top level", "sever:\n  url: https://x.example.com\n",
			`line 1: unknown key "sever" at the top level; did you mean "server"?`},
		{"nested section", "server:\n  url: https://x.example.com\nspool:\n  fsnyc: always\n",
			`line 4: unknown key "fsnyc" in spool; did you mean "fsync"?`},
		{"redfish entry", "server: {url: https://x.example.com}\ncollectors:\n  - type: redfish\n    name: bmc\n    pasword: x\n    targets: [{address: https://192.0.2.1, asset: a}]\n",
			`line 5: unknown key "pasword" in collector "bmc" (redfish); did you mean "password"?`},
		{"rest entry", "server: {url: https://x.example.com}\ncollectors:\n  - type: rest\n    template: netapp-ontap\n    usrename: x\n    targets: [{address: https://192.0.2.1, asset: a}]\n",
			`line 5: unknown key "usrename" in collector "rest" (rest); did you mean "username"?`},
		{"target of an entry", "server: {url: https://x.example.com}\ncollectors:\n  - type: snmp\n    name: sw\n    targets:\n      - adress: 192.0.2.1\n        asset: a\n",
			`line 6: unknown key "adress" in targets[0] of collector "sw" (snmp); did you mean "address"?`},
		{"secret file form is known", "server: {url: https://x.example.com}\ncollectors:\n  - type: snmp\n    comunity_file: /x\n    targets: [{address: 192.0.2.1, asset: a}]\n",
			`line 4: unknown key "comunity_file" in collector "snmp" (snmp); did you mean "community_file"?`},
		{"nothing near", "server: {url: https://x.example.com}\nexporter:\n  colour: red\n",
			`line 3: unknown key "colour" in exporter (known keys: enabled, path, prefix)`},
		{"collector type", "server: {url: https://x.example.com}\ncollectors:\n  - type: snpm\n",
			`line 3: collectors[0]: unknown collector type "snpm" (known: redfish, rest or snmp); did you mean "snmp"?`},
		{"through a merge key", "server: {url: https://x.example.com}\ncredentials:\n  v2: &v2\n    comunity: x\ncollectors:\n  - type: snmp\n    <<: *v2\n    targets: [{address: 192.0.2.1, asset: a}]\n",
			`line 4: unknown key "comunity" in collector "snmp" (snmp); did you mean "community"?`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "agent.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tt.yaml), 0o600))
			_, err := LoadConfig(path)
			require.EqualError(t, err, "config "+path+": "+tt.want)
		})
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"community", "community", 0},
		{"comunity", "community", 1},
		{"comminuty", "community", 2},
		{"communtiy", "community", 1},
		{"", "abc", 3},
		{"ab", "ba", 1},
		{"abc", "xyz", 3},
	}
	for _, tt := range tests {
		t.Run(tt.a+"/"+tt.b, func(t *testing.T) {
			require.Equal(t, tt.want, editDistance(tt.a, tt.b))
		})
	}
}

func TestExampleConfigLoads(t *testing.T) {
	cfg, err := LoadConfig("../configs/agent.example.yaml")
	require.NoError(t, err)
	require.Len(t, cfg.Collectors, 3)
	require.Equal(t, "lab_bmc", cfg.Collectors[1].Base().Name)
	require.Equal(t, "lab_storage", cfg.Collectors[2].Base().Name)
	b := cfg.Collectors[0].Base()
	require.Equal(t, "lab_snmp", b.Name)
	require.Equal(t, 15*time.Second, b.Interval.D())
	require.Equal(t, 10*time.Second, b.Timeout.D(), "timeout defaults from defaults.timeout")
	require.Equal(t, "/var/lib/kpilot/credential.json", cfg.Server.CredentialFile)
}

func TestSecretsNeverPrinted(t *testing.T) {
	t.Setenv("KPILOT_TEST_COMMUNITY", "env-community-secret")
	cfg, err := LoadConfig("testdata/secrets.good.yaml")
	require.NoError(t, err)

	v3 := cfg.Collectors[1].Config.(*snmpc.Config)
	require.Equal(t, "file-auth-secret", v3.AuthPassword.Reveal(), "{file: …} reads the file")
	require.Equal(t, "env-community-secret", cfg.Collectors[0].Config.(*snmpc.Config).Community.Reveal(), "${VAR} reads the environment")
	require.Equal(t, "file-auth-secret", cfg.Collectors[2].Config.(*redfishc.Config).Password.Reveal(), "password_file reads the file")

	dumped, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "auth", v3.AuthPassword, "cfg", v3)
	for _, out := range []string{string(dumped), logs.String()} {
		for _, secret := range []string{"env-community-secret", "file-auth-secret", "plain-text-priv-secret"} {
			require.False(t, strings.Contains(out, secret), "secret %q printed in:\n%s", secret, out)
		}
	}
	require.Contains(t, string(dumped), "<secret>")
}

func TestSharedCredentialsAndTargetRanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`
server: {url: "http://127.0.0.1:8080"}
data_dir: /tmp/kpilot-test
credentials:
  lab_v3: &lab_v3
    version: "3"
    username: kpilot
    security_level: auth_priv
    auth_protocol: sha256
    auth_password: s3cret-auth
    priv_protocol: aes
    priv_password: s3cret-priv
collectors:
  - type: snmp
    name: ups
    <<: *lab_v3
    targets:
      - {address: 192.0.2.0/29, asset: "ups-{host}"}
  - type: snmp
    name: switches
    <<: *lab_v3
    profiles: [system, if-mib]
    targets:
      - {hosts: [198.51.100.1, "198.51.100.2:1161"], asset: "sw-{host}"}
`), 0o600))
	cfg, err := LoadConfig(path)
	require.NoError(t, err)
	require.Len(t, cfg.Collectors[0].Base().Targets, 6, "a /29 has 6 hosts")
	require.Equal(t, "ups-192.0.2.1", cfg.Collectors[0].Base().Targets[0].Asset)
	require.Equal(t, "198.51.100.2:1161", cfg.Collectors[1].Base().Targets[1].Address)
	out, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	require.NotContains(t, string(out), "s3cret", "validate --print must not show the shared secrets")
	require.Contains(t, string(out), "username: kpilot", "the merged settings are in both entries")
}
