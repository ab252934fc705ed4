package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/agent/enroll"
	"github.com/kpilot/kpilot/internal/devenv"
)

// agentFixture runs a real agent against a real snmpd, with the server
// down (nothing listens on its port), so that everything stays spooled.
type agentFixture struct {
	t       *testing.T
	dir     string
	path    string
	snmp    *devenv.Snmpd
	metrics string // host:port
	level   slog.LevelVar
	a       *Agent
	stop    context.CancelFunc
	done    chan error
}

// writeConfig writes the agent config with one SNMP target per asset.
func (f *agentFixture) writeConfig(extra string, assets ...string) {
	f.t.Helper()
	var targets strings.Builder
	for _, a := range assets {
		fmt.Fprintf(&targets, "      - {address: %q, asset: %s}\n", f.snmp.Addr(), a)
	}
	cfg := fmt.Sprintf(`server:
  url: http://127.0.0.1:9
data_dir: %s
metrics_listen: %s
spool:
  flush_interval: 200ms
%s
collectors:
  - type: snmp
    name: lab
    interval: 1s
    timeout: 900ms
    community: %s
    profiles: [system]
    targets:
%s`, f.dir, f.metrics, extra, f.snmp.Community, targets.String())
	// Written beside and renamed over, as editors and config management do.
	tmp := f.path + ".new"
	require.NoError(f.t, os.WriteFile(tmp, []byte(cfg), 0o600))
	require.NoError(f.t, os.Rename(tmp, f.path))
}

func startAgent(t *testing.T, extra string, assets ...string) *agentFixture {
	t.Helper()
	port, err := devenv.FreePort("tcp")
	require.NoError(t, err)
	f := &agentFixture{t: t, dir: t.TempDir(), snmp: devenv.SNMP(t), metrics: fmt.Sprintf("127.0.0.1:%d", port)}
	f.path = filepath.Join(f.dir, "agent.yaml")
	cred, err := json.Marshal(enroll.Credential{ServerURL: "http://127.0.0.1:9", AgentID: "test", Token: "agent-token-secret"})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, "credential.json"), cred, 0o600))
	f.writeConfig(extra, assets...)
	cfg, err := LoadConfig(f.path)
	require.NoError(t, err)
	f.level.Set(cfg.Level())
	f.a, err = New(cfg, slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: &f.level})), &f.level)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	f.stop, f.done = cancel, make(chan error, 1)
	go func() { f.done <- f.a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-f.done)
	})
	return f
}

func (f *agentFixture) polls(asset string) float64 {
	return testutil.ToFloat64(f.a.m.polls.WithLabelValues("lab", asset, "success"))
}

func (f *agentFixture) waitPolls(asset string, n float64) {
	f.t.Helper()
	require.Eventually(f.t, func() bool { return f.polls(asset) >= n }, 15*time.Second, 50*time.Millisecond,
		"target %s polled %v times, want %v", asset, f.polls(asset), n)
}

func TestReload(t *testing.T) {
	f := startAgent(t, "", "sw1")
	f.waitPolls("sw1", 1)
	first := f.a.jobs["lab\x00sw1"]

	t.Run("a file change adds a target and keeps the unchanged one", func(t *testing.T) {
		f.writeConfig("", "sw1", "sw2")
		require.Eventually(t, func() bool { return testutil.ToFloat64(f.a.m.reloads.WithLabelValues("success")) == 1 },
			10*time.Second, 50*time.Millisecond, "the watcher reloads the changed file")
		f.waitPolls("sw2", 1)
		f.a.mu.Lock()
		kept := f.a.jobs["lab\x00sw1"]
		f.a.mu.Unlock()
		require.Same(t, first, kept, "an unchanged target keeps its collector and its counter readings")
	})

	t.Run("a bad config is rejected and the old one keeps running", func(t *testing.T) {
		before := f.a.spool.Stats().Batches + int(f.a.spool.Stats().DroppedBatches)
		f.writeConfig("colectors: []", "sw1")
		require.Eventually(t, func() bool { return testutil.ToFloat64(f.a.m.reloads.WithLabelValues("failure")) == 1 },
			10*time.Second, 50*time.Millisecond)
		require.Zero(t, testutil.ToFloat64(f.a.m.reloadOK))
		p1, p2 := f.polls("sw1"), f.polls("sw2")
		f.waitPolls("sw1", p1+2)
		f.waitPolls("sw2", p2+2) // sw2 was removed only in the rejected config
		require.GreaterOrEqual(t, f.a.spool.Stats().Batches, before, "spooled data is untouched")

		// SIGHUP calls Reload, which returns the reason naming file, line and key.
		err := f.a.Reload(t.Context())
		require.ErrorContains(t, err, f.path)
		require.ErrorContains(t, err, `line 7: unknown key "colectors" at the top level; did you mean "collectors"?`)
		require.Equal(t, 2.0, testutil.ToFloat64(f.a.m.reloads.WithLabelValues("failure")))
	})

	t.Run("a good config removes a target, its metrics, and applies the log level", func(t *testing.T) {
		f.writeConfig("log_level: debug", "sw1")
		require.NoError(t, f.a.Reload(t.Context()))
		require.Equal(t, 1.0, testutil.ToFloat64(f.a.m.reloadOK))
		f.a.mu.Lock()
		_, still := f.a.jobs["lab\x00sw2"]
		f.a.mu.Unlock()
		require.False(t, still)
		require.Equal(t, slog.LevelDebug, f.level.Level())
		body := scrape(t, "http://"+f.metrics+"/metrics")
		require.NotContains(t, body, `target="sw2"`, "a removed target's series go")
		require.Contains(t, body, `kpilot_agent_polls_total{collector="lab",result="success",target="sw1"}`)
	})

	t.Run("restart-only settings are reported and keep their running value", func(t *testing.T) {
		f.writeConfig("max_parallel_polls: 3", "sw1")
		require.NoError(t, f.a.Reload(t.Context()))
		f.a.mu.Lock()
		defer f.a.mu.Unlock()
		require.Equal(t, 16, f.a.cfg.MaxParallelPolls)
	})
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	return string(b)
}
