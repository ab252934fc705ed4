package server

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestExampleConfigLoads(t *testing.T) {
	cfg, err := LoadConfig("../configs/server.example.yaml")
	require.NoError(t, err)
	require.Equal(t, "/var/lib/kpilot-server/kpilot.db", cfg.Database.Path)
	require.Equal(t, "kpilot/autogen", cfg.InfluxDB.Bucket)
	require.Equal(t, 12*time.Hour, cfg.Sessions.TTL.D())
}

func TestConfigErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown key", "influxdb:\n  url: http://x\n  bukket: b\n", "line 3: field bukket not found"},
		{"bucket with quote", "influxdb:\n  url: http://x\n  bucket: 'a\"b'\n", "influxdb.bucket"},
		{"tls half set", "influxdb:\n  url: http://x\ntls_cert_file: c.pem\n", "tls_cert_file and tls_key_file"},
		{"limits", "influxdb:\n  url: http://x\nlimits:\n  ingest_max_bytes: 10\n", "limits:"},
		{"postgres without dsn", "influxdb:\n  url: http://x\ndatabase:\n  driver: postgres\n", "database.dsn: missing"},
		{"unknown driver", "influxdb:\n  url: http://x\ndatabase:\n  driver: mysql\n", `database.driver "mysql": must be sqlite or postgres`},
		{"checkups too often", "influxdb:\n  url: http://x\ncheckups:\n  interval: 10s\n", "checkups.interval: at least 1m"},
		{"token from missing env", "influxdb:\n  url: http://x\n  token: ${KPILOT_NO_SUCH_VAR}\n", "KPILOT_NO_SUCH_VAR is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "s.yaml")
			require.NoError(t, os.WriteFile(p, []byte(tt.yaml), 0o600))
			_, err := LoadConfig(p)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestCheckupRulesFile(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.InfluxDB.URL = "http://127.0.0.1:1"
	cfg.DataDir = dir
	require.NoError(t, cfg.Validate())
	cfg.Checkups.RulesFile = filepath.Join(dir, "missing.yaml")
	_, err := New(t.Context(), &cfg, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "checkups.rules_file: open "+cfg.Checkups.RulesFile)

	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("rules:\n  - {id: x, kind: storage_used}\n"), 0o600))
	cfg.Checkups.RulesFile = bad
	_, err = New(t.Context(), &cfg, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "checkups.rules_file "+bad+": rule 1 (x): storage_used needs warning or critical")

	good := filepath.Join(dir, "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte("# ours\nrules:\n  - {id: x, kind: health}\n"), 0o600))
	cfg.Checkups.RulesFile = good
	s, err := New(t.Context(), &cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer s.Close()
	rs, own, err := s.checks.Rules(t.Context(), "any")
	require.NoError(t, err)
	require.False(t, own)
	require.Len(t, rs.Rules, 1)
	require.Equal(t, "# ours\nrules:\n  - {id: x, kind: health}\n", string(s.checks.DefaultsYAML()))
}
