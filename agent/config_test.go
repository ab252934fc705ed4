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

func TestBadConfigs(t *testing.T) {
	tests := []struct {
		file    string
		wantErr []string
	}{
		{"unknown_field.bad.yaml", []string{"testdata/unknown_field.bad.yaml", "line 5: field communty not found"}},
		{"unknown_type.bad.yaml", []string{`line 4: unknown collector type "bogus" (known: [redfish rest snmp])`}},
		{"missing_asset.bad.yaml", []string{`line 4: collectors[0] "snmp": targets[0]: asset: missing`}},
		{"duplicate_asset.bad.yaml", []string{`line 9: collectors[1] "b": asset "sw1" is already polled by a`}},
		{"bad_interval.bad.yaml", []string{`line 5: "soon" is not a duration`}},
		{"timeout_above_interval.bad.yaml", []string{"timeout 20s: must not exceed interval 10s"}},
		{"no_server.bad.yaml", []string{`server.url "ftp://kpilot.example.com"`}},
		{"v3_incomplete.bad.yaml", []string{`auth_protocol "sha1"`, "auth_password: missing", `priv_protocol ""`}},
		{"two_documents.bad.yaml", []string{"found a second one"}},
		{"wrong_type.bad.yaml", []string{"testdata/wrong_type.bad.yaml", "line 3: cannot unmarshal !!str `many` into int"}},
		{"runtime_settings.bad.yaml", []string{
			"exporter.enabled: the exporter is served on metrics_listen, which is empty",
			`spool.fsync "sometimes": must be always`,
			"spool.segment_size_mb: must be at least 1 and at most spool.max_size_mb",
			"spool.memory_limit_mb: must be at least 1",
			"defaults.jitter: must be at least 0 and less than defaults.interval"}},
		{"secret_twice.bad.yaml", []string{"line 6: password and password_file: give the secret or the file that holds it, not both"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := LoadConfig("testdata/" + tt.file)
			require.Error(t, err)
			for _, w := range tt.wantErr {
				require.Contains(t, err.Error(), w)
			}
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
