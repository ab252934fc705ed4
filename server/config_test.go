package server

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestExampleConfigLoads(t *testing.T) {
	cfg, err := LoadConfig("../configs/server.example.yaml")
	require.NoError(t, err)
	require.Equal(t, "/var/lib/kpilot-server/kpilot.db", cfg.Database.Path)
	require.Equal(t, "kpilot/autogen", cfg.InfluxDB.Bucket)
	require.Equal(t, "kpilot", cfg.InfluxDB.Database)
	require.Equal(t, "autogen", cfg.InfluxDB.RetentionPolicy)
	require.Equal(t, 10*time.Second, cfg.InfluxDB.QueryTimeout.D())
	require.Equal(t, 12*time.Hour, cfg.Sessions.TTL.D())
	require.Equal(t, DefaultConfig().Retention, cfg.Retention, "the example states the defaults")
	require.Equal(t, DefaultConfig().Jobs, cfg.Jobs, "the example states the defaults")
	require.Equal(t, DefaultConfig().MetricsListen, cfg.MetricsListen, "the example states the defaults")
}

func TestRetentionConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.yaml")
	require.NoError(t, os.WriteFile(p, []byte("influxdb:\n  url: http://x\nretention:\n  ingested_batches: 7d\n  audit_events: 365d\n  resolved_findings: 0s\n"), 0o600))
	cfg, err := LoadConfig(p)
	require.NoError(t, err)
	day := 24 * time.Hour
	r := cfg.Retention.Store()
	require.Equal(t, 7*day, r.Batches)
	require.Equal(t, 365*day, r.AuditEvents)
	require.Zero(t, r.ResolvedFindings, "0 keeps for good")
	require.Equal(t, 30*day, r.WebhookDeliveries, "unset: the default")
	require.Zero(t, r.InventoryChanges, "inventory history is kept by default")
	require.Equal(t, day, r.RateLimits)
	require.Equal(t, time.Hour, cfg.Retention.Interval.D())
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
		{"retention too short", "influxdb:\n  url: http://x\nretention:\n  ingested_batches: 10m\n", "retention.ingested_batches 10m0s: at least 1d"},
		{"retention negative", "influxdb:\n  url: http://x\nretention:\n  audit_events: -1h\n", "retention.audit_events -1h0m0s: at least 1d"},
		{"retention in weeks", "influxdb:\n  url: http://x\nretention:\n  resolved_findings: 2w\n", `"2w" is not a duration`},
		{"housekeeping too often", "influxdb:\n  url: http://x\nretention:\n  interval: 5s\n", "retention.interval 5s: from 1m to 24h"},
		{"API tokens forever", "influxdb:\n  url: http://x\nsessions:\n  api_token_ttl: 1000d\n", "sessions.api_token_ttl: from 1h to 732d"},
		{"write parts", "influxdb:\n  url: http://x\n  write_parts: 17\n", "influxdb.write_parts 17: from 0 (the default, 2) to 16"},
		{"lease period too short", "influxdb:\n  url: http://x\njobs:\n  lease_period: 1s\n", "jobs.lease_period 1s: from 3s to 10m"},
		{"trusted proxy not an address", "influxdb:\n  url: http://x\ntrusted_proxies: [proxy.example]\n", `trusted_proxies: "proxy.example" is not an address`},
		{"database with quote", "influxdb:\n  url: http://x\n  database: \"k'p\"\n", `influxdb.database "k'p": must contain no quotes`},
		{"retention policy with newline", "influxdb:\n  url: http://x\n  database: k\n  retention_policy: \"a\\nb\"\n", `influxdb.retention_policy "a\nb": must contain no quotes`},
		{"database with slash", "influxdb:\n  url: http://x\n  database: a/b\n", `influxdb.database "a/b": must be set (or influxdb.bucket) and contain no '/'`},
		{"retention policy alone", "influxdb:\n  url: http://x\n  bucket: k\n  retention_policy: r\n", "influxdb.retention_policy: set influxdb.database too"},
		{"query timeout too short", "influxdb:\n  url: http://x\n  query_timeout: 100ms\n", "influxdb.query_timeout 100ms: from 1s to 10m"},
		{"query timeout too long", "influxdb:\n  url: http://x\n  query_timeout: 1h\n", "influxdb.query_timeout 1h0m0s: from 1s to 10m"},
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

func TestInfluxConfig(t *testing.T) {
	tests := []struct {
		name, yaml           string
		database, rp, bucket string
	}{
		{"defaults", "", "kpilot", "autogen", "kpilot/autogen"},
		{"1.x bucket of an old config", "bucket: metrics/two_years\n", "metrics", "two_years", "metrics/two_years"},
		{"2.x bucket without a slash", "bucket: kpilot\n", "kpilot", "", "kpilot"},
		{"1.x database and retention policy", "database: metrics\nretention_policy: two_years\n", "metrics", "two_years", "metrics/two_years"},
		{"3.x database", "database: kpilot\n", "kpilot", "", "kpilot"},
		{"2.x bucket and its DBRP mapping", "bucket: kpilot-data\ndatabase: kpilot\nretention_policy: autogen\n", "kpilot", "autogen", "kpilot-data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "s.yaml")
			var y strings.Builder
			y.WriteString("influxdb:\n  url: http://x\n")
			for l := range strings.Lines(tt.yaml) {
				y.WriteString("  " + l)
			}
			require.NoError(t, os.WriteFile(p, []byte(y.String()), 0o600))
			cfg, err := LoadConfig(p)
			require.NoError(t, err)
			require.Equal(t, tt.database, cfg.InfluxDB.Database, "database")
			require.Equal(t, tt.rp, cfg.InfluxDB.RetentionPolicy, "retention policy")
			require.Equal(t, tt.bucket, cfg.InfluxDB.Bucket, "bucket")
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
