package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/agent/enroll"
	"github.com/kpilot/kpilot/internal/devenv"
)

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSecretsStayOutOfLogsAndMetrics runs the agent at debug level with an
// SNMPv3 target that answers, one whose passwords are wrong and one that
// is down, reloads it, and looks for the secrets everywhere it writes.
func TestSecretsStayOutOfLogsAndMetrics(t *testing.T) {
	s := devenv.SNMP(t)
	dir := t.TempDir()
	port, err := devenv.FreePort("tcp")
	require.NoError(t, err)
	dead, err := devenv.FreePort("udp")
	require.NoError(t, err)
	cred, _ := json.Marshal(enroll.Credential{ServerURL: "http://127.0.0.1:9", AgentID: "a", Token: "kpa_agent-token-secret"})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "credential.json"), cred, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "priv"), []byte(s.V3PrivPass+"\n"), 0o600))
	t.Setenv("KPILOT_TEST_AUTH", s.V3AuthPass)
	path := filepath.Join(dir, "agent.yaml")
	require.NoError(t, os.WriteFile(path, fmt.Appendf(nil, `server: {url: "http://127.0.0.1:9"}
data_dir: %s
log_level: debug
metrics_listen: 127.0.0.1:%d
spool: {flush_interval: 200ms}
credentials:
  v3: &v3
    version: "3"
    username: %s
    security_level: auth_priv
    auth_protocol: sha
    auth_password: ${KPILOT_TEST_AUTH}
    priv_protocol: aes
    priv_password_file: %s
collectors:
  - type: snmp
    name: good
    <<: *v3
    interval: 1s
    timeout: 900ms
    profiles: [system]
    targets: [{address: %q, asset: sw1}, {address: "127.0.0.1:%d", asset: down}]
  - type: snmp
    name: wrong
    version: "3"
    username: %s
    security_level: auth_priv
    auth_protocol: sha
    auth_password: wrong-auth-secret
    priv_protocol: aes
    priv_password: wrong-priv-secret
    interval: 1s
    timeout: 900ms
    retries: 0
    profiles: [system]
    targets: [{address: %q, asset: sw2}]
`, dir, port, s.V3User, filepath.Join(dir, "priv"), s.Addr(), dead, s.V3User, s.Addr()), 0o600))
	cfg, err := LoadConfig(path)
	require.NoError(t, err)
	var logs syncBuffer
	a, err := New(cfg, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(a.m.polls.WithLabelValues("good", "sw1", "success")) >= 2 &&
			testutil.ToFloat64(a.m.polls.WithLabelValues("wrong", "sw2", "failure")) >= 1 &&
			testutil.ToFloat64(a.m.polls.WithLabelValues("good", "down", "failure")) >= 1
	}, 20*time.Second, 100*time.Millisecond, "logs so far:\n%s", logs.String())
	require.NoError(t, a.Reload(ctx))
	metrics := scrape(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	cancel()
	require.NoError(t, <-done)

	out := logs.String()
	require.Contains(t, out, `"level":"DEBUG"`, "debug logging was on")
	require.Contains(t, out, "poll failed", "the failures were logged")
	for _, secret := range []string{s.V3AuthPass, s.V3PrivPass, "wrong-auth-secret", "wrong-priv-secret", "agent-token-secret"} {
		require.NotContains(t, out, secret, "secret in the log")
		require.NotContains(t, metrics, secret, "secret in /metrics")
	}
}
