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
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// A dead device must not delay a live one, its polls must end at their
// timeout without overlapping, and nothing may be left running afterwards.
func TestDeadTargetDoesNotDelayOthers(t *testing.T) {
	s := devenv.SNMP(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	a := newTestAgent(t, 16)
	log := a.log

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
		return &job{collector: "snmp", typ: "snmp", target: cfg.Targets[0], interval: 500 * time.Millisecond,
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

// newTestAgent is an agent without config or server, for driving jobs
// directly.
func newTestAgent(t *testing.T, parallel int) *Agent {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool"), spool.Options{MaxBytes: 1 << 20, Log: log})
	require.NoError(t, err)
	t.Cleanup(func() { sp.Close() })
	reg := prometheus.NewRegistry()
	a := &Agent{log: log, reg: reg, spool: sp, sem: make(chan struct{}, parallel), latest: newLatestStore(true)}
	a.batcher = newBatcher(sp, 1000, 32<<20, log, func(int) {})
	a.m = newMetrics(reg, sp, a.batcher)
	return a
}

// fakeCollector misbehaves on purpose: it hangs ignoring its context, or
// panics, or reports a sample.
type fakeCollector struct {
	hang    chan struct{} // blocks Collect until closed, ignoring ctx
	panics  bool
	entered chan struct{}
}

func (f *fakeCollector) Collect(ctx context.Context, s collectors.Sink) error {
	if f.entered != nil {
		select {
		case f.entered <- struct{}{}:
		default:
		}
	}
	if f.panics {
		var m map[string]int
		m["boom"]++ // a nil map write, as a collector bug would
	}
	if f.hang != nil {
		<-f.hang
	}
	s.Sample(kpi.Sample{Asset: "ok", Measurement: "m", Time: time.Now(), Fields: map[string]any{"v": 1.0}})
	return nil
}

// A collector that hangs ignoring its timeout, and one that panics, are
// reported for their target while another target keeps being polled; the
// hung one is not polled again while it hangs.
func TestHangAndPanicAreIsolated(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the stuck grace of 5s")
	}
	a := newTestAgent(t, 2)
	hang := make(chan struct{})
	mk := func(asset string, c collectors.Collector) *job {
		return &job{collector: "x", typ: "fake", target: collectors.Target{Asset: asset}, interval: 300 * time.Millisecond,
			timeout: 200 * time.Millisecond, c: c, log: a.log}
	}
	entered := make(chan struct{}, 100)
	hung := mk("hung", &fakeCollector{hang: hang, entered: entered})
	panicky := mk("panicky", &fakeCollector{panics: true})
	ok := mk("ok", &fakeCollector{})

	ctx, cancel := context.WithTimeout(context.Background(), 7*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, j := range []*job{hung, panicky, ok} {
		wg.Add(1)
		go func() { defer wg.Done(); a.runJob(ctx, j) }()
	}
	wg.Wait()
	close(hang)

	require.Equal(t, 1.0, testutil.ToFloat64(a.m.stuck.WithLabelValues("x", "hung")), "the hang is reported once")
	require.Equal(t, 1.0, testutil.ToFloat64(a.m.polls.WithLabelValues("x", "hung", "failure")))
	require.Len(t, entered, 1, "a target whose collection hangs is not polled again meanwhile")
	require.Greater(t, testutil.ToFloat64(a.m.missed.WithLabelValues("x", "hung")), 3.0, "the skipped polls are counted")
	require.Greater(t, testutil.ToFloat64(a.m.polls.WithLabelValues("x", "panicky", "failure")), 10.0, "a panic fails the poll, not the agent")
	require.Greater(t, testutil.ToFloat64(a.m.polls.WithLabelValues("x", "ok", "success")), 15.0,
		"the healthy target keeps its schedule although the hung one holds a slot of two")
	require.Greater(t, testutil.ToFloat64(a.m.collected.WithLabelValues("x", "ok")), 15.0)
}
