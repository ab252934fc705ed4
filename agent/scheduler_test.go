package agent

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/kpilot/kpilot/agent/spool"
	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/collectors/snmp"
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// A dead device must not delay a live one, its polls must end at their
// timeout without overlapping, and nothing may be left running afterwards.
func TestDeadTargetDoesNotDelayOthers(t *testing.T) {
	s := devenv.SNMP(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool"), 1<<20, log)
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	a := &Agent{log: log, reg: reg, spool: sp, sem: make(chan struct{}, maxParallelPolls)}
	a.m = newMetrics(reg, sp)
	a.batcher = newBatcher(sp, 1000, log, func(int) {})

	deadPort, err := devenv.FreePort("udp")
	require.NoError(t, err)
	build := func(addr, asset string) *job {
		cfg := snmp.BenchConfig([]string{"system", "if-mib"}, nil)
		cfg.Retries = 0
		cfg.Timeout = yamlconf.Duration(400 * time.Millisecond)
		cfg.Targets = []collectors.Target{{Address: addr, Asset: asset}}
		require.NoError(t, cfg.Validate())
		c, err := cfg.New(cfg.Targets[0], collectors.Options{})
		require.NoError(t, err)
		return &job{collector: "snmp", target: cfg.Targets[0], interval: 500 * time.Millisecond,
			timeout: 400 * time.Millisecond, c: c, log: log}
	}
	live := build(s.Addr(), "live")
	dead := build("127.0.0.1:"+strconv.Itoa(deadPort), "dead")

	ctx, cancel := context.WithTimeout(context.Background(), 2600*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for _, j := range []*job{live, dead} {
		wg.Add(1)
		go func() { defer wg.Done(); a.runJob(ctx, j) }()
	}
	wg.Wait()

	okLive := testutil.ToFloat64(a.m.polls.WithLabelValues("snmp", "live", "success"))
	failDead := testutil.ToFloat64(a.m.polls.WithLabelValues("snmp", "dead", "failure"))
	require.GreaterOrEqual(t, okLive, 4.0, "the live target is polled every interval")
	require.GreaterOrEqual(t, failDead, 3.0, "the dead target fails at its timeout, every interval")
	require.Zero(t, testutil.ToFloat64(a.m.missed.WithLabelValues("snmp", "live")))
	require.Zero(t, testutil.ToFloat64(a.m.missed.WithLabelValues("snmp", "dead")), "a poll ends at its timeout, before the next is due")
	require.Less(t, testutil.ToFloat64(a.m.duration.WithLabelValues("snmp", "dead")), 0.6)
}
