package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/agent/enroll"
	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/wire"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// burstEmitted counts every sample the bursttest collector reported, over
// all agents of a test.
var burstEmitted atomic.Int64

// burstConfig is a collector that reports Samples random values a poll,
// fast enough to fill a small disk in seconds. It is not registered (the
// list of types is the product's); the test puts it into the config.
type burstConfig struct {
	collectors.Common `yaml:",inline"`
	Samples           int `yaml:"samples"`
}

func (c *burstConfig) Validate() error { return c.ValidateCommon() }

func (c *burstConfig) New(t collectors.Target, _ collectors.Options) (collectors.Collector, error) {
	return &burst{asset: t.Asset, n: c.Samples}, nil
}

type burst struct {
	asset string
	n     int
}

func (b *burst) Collect(_ context.Context, s collectors.Sink) error {
	now := time.Now()
	for i := range b.n {
		// Random values, so that the spooled batches hardly compress.
		s.Sample(kpi.Sample{Asset: b.asset, Measurement: "burst", Time: now.Add(time.Duration(i)),
			Fields: map[string]any{"v": rand.Float64()}})
		burstEmitted.Add(1)
	}
	return nil
}

// ingestServer is the server's ingest endpoint as far as the agent can
// tell: it takes batches while up, answers 503 while down, and counts the
// samples of every batch id it stored, and every id it got twice.
type ingestServer struct {
	down atomic.Bool

	mu      sync.Mutex
	ids     map[string]bool
	samples int
	repeats int
}

func (s *ingestServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.down.Load() {
		http.Error(w, `{"error":"down for the test"}`, http.StatusServiceUnavailable)
		return
	}
	var d wire.Decoder
	b, err := d.Decode(r.Body, r.Header.Get("Content-Encoding"), 64<<20)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	if s.ids[b.ID] {
		s.repeats++
	} else {
		s.ids[b.ID] = true
		s.samples += b.Lines()
	}
	s.mu.Unlock()
	w.Header().Set("Accept-Encoding", wire.AcceptEncoding)
	w.WriteHeader(http.StatusOK)
}

func (s *ingestServer) received() (samples, repeats int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples, s.repeats
}

// lockedBuffer is a log destination safe to read while the agent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// metricValue reads one sample of a scrape, 0 when absent.
func metricValue(t *testing.T, body, series string) float64 {
	t.Helper()
	for line := range strings.Lines(body) {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			require.NoError(t, err)
			return f
		}
	}
	return 0
}

// TestFullDiskRecovery runs a real agent with its data dir on a 512 KiB
// tmpfs and the server down until the disk is full and the memory bound
// is passed, brings the server back, lets the disk fill again and stops
// the agent on the full disk, then starts it again. The spool must give
// delivered space back and resume by itself, a restart must send nothing
// delivered twice, and every sample collected must be either received by
// the server or counted as dropped, exactly.
func TestFullDiskRecovery(t *testing.T) {
	data := devenv.SmallDisk(t, 512<<10)
	srv := &ingestServer{ids: map[string]bool{}}
	srv.down.Store(true)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	port, err := devenv.FreePort("tcp")
	require.NoError(t, err)
	metrics := fmt.Sprintf("127.0.0.1:%d", port)
	cred, err := json.Marshal(enroll.Credential{ServerURL: hs.URL, AgentID: "test", Token: "agent-token-secret"})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(data, "credential.json"), cred, 0o600))
	cfgPath := filepath.Join(t.TempDir(), "agent.yaml") // off the small disk
	var samples int                                     // a poll, per target
	writeCfg := func() {
		require.NoError(t, os.WriteFile(cfgPath, fmt.Appendf(nil, `server:
  url: %s
data_dir: %s
metrics_listen: %s
watch_config: false
spool:
  flush_interval: 200ms
  memory_limit_mb: 1
`, hs.URL, data, metrics), 0o600))
	}
	load := func() *Config {
		cfg, err := LoadConfig(cfgPath)
		require.NoError(t, err)
		c := &burstConfig{Common: collectors.Common{Type: "bursttest", Name: "burst", Interval: yamlconf.Duration(time.Second)}, Samples: samples}
		for _, a := range []string{"b1", "b2", "b3", "b4"} {
			c.Targets = append(c.Targets, collectors.Target{Address: "127.0.0.1", Asset: a})
		}
		cfg.Collectors = []CollectorConfig{{Config: c}}
		require.NoError(t, cfg.Validate())
		return cfg
	}
	burstEmitted.Store(0)

	type run struct {
		a    *Agent
		log  *lockedBuffer
		stop context.CancelFunc
		done chan struct{} // closed when Run returned, with err
		err  error
	}
	start := func() *run {
		cfg := load()
		r := &run{log: &lockedBuffer{}, done: make(chan struct{})}
		r.a, err = New(cfg, slog.New(slog.NewTextHandler(r.log, nil)), nil)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		r.stop = cancel
		go func() {
			r.err = r.a.Run(ctx)
			close(r.done)
		}()
		t.Cleanup(func() {
			cancel()
			<-r.done
		})
		return r
	}
	scrape := func() string {
		resp, err := http.Get("http://" + metrics + "/metrics")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	// produced counts what the agents collected: the collector's samples
	// and one agent_poll sample per poll.
	var polls float64
	countPolls := func(r *run) {
		for _, a := range []string{"b1", "b2", "b3", "b4"} {
			for _, res := range []string{"success", "failure"} {
				polls += testutil.ToFloat64(r.a.m.polls.WithLabelValues("burst", a, res))
			}
		}
	}
	var dropped float64
	countDrops := func(r *run) {
		for _, reason := range []string{"invalid", "memory_bound", "shutdown"} {
			dropped += testutil.ToFloat64(r.a.m.dropped.WithLabelValues(reason))
		}
		dropped += float64(r.a.spool.Stats().DroppedSamples)
	}

	samples = 5000 // 20,000 samples a second
	writeCfg()
	a := start()
	var body string
	require.Eventually(t, func() bool {
		body = scrape()
		return strings.Contains(body, "kpilot_agent_spool_writable 0") &&
			metricValue(t, body, `kpilot_agent_samples_dropped_total{reason="memory_bound"}`) > 0
	}, 15*time.Second, 100*time.Millisecond, "the disk fills and the memory bound is passed:\n%s", a.log)
	require.LessOrEqual(t, metricValue(t, body, "kpilot_agent_spool_memory_bytes"), float64(1<<20))
	require.Positive(t, metricValue(t, body, "kpilot_agent_spool_memory_samples"))
	cfg := load()
	sc := checkSpool(t.Context(), cfg)
	require.False(t, sc.OK)
	require.Contains(t, sc.Error, "no space left on device")
	writable, held, ok := runningSpool(t.Context(), metrics)
	require.True(t, ok, "check reads the running agent's /metrics")
	require.False(t, writable)
	require.Positive(t, held)

	// The server comes back: deliveries give the space back and spooling
	// resumes without a restart.
	srv.down.Store(false)
	require.Eventually(t, func() bool {
		w, held, _ := a.a.batcher.state()
		return w && held < 20000 && a.a.spool.Stats().Bytes < 256<<10
	}, 15*time.Second, 100*time.Millisecond, "spooling resumes and delivered space comes back:\n%s", a.log)
	require.True(t, checkSpool(t.Context(), cfg).OK)

	// Down again until the disk is full, and the agent stops on it: what it
	// holds in memory is counted as lost at shutdown.
	srv.down.Store(true)
	require.Eventually(t, func() bool { w, _, _ := a.a.batcher.state(); return !w },
		15*time.Second, 100*time.Millisecond, "the disk fills again")
	delivered, _ := srv.received()
	a.stop()
	<-a.done
	require.NoError(t, a.err)
	require.Positive(t, testutil.ToFloat64(a.a.m.dropped.WithLabelValues("shutdown")))
	countPolls(a)
	countDrops(a)
	logA := a.log.String()
	require.Equal(t, 2, strings.Count(logA, "spool cannot write: "), "once per episode, not per batch:\n%s", logA)
	require.Equal(t, 1, strings.Count(logA, "spool writes again"), logA)
	require.Contains(t, logA, "holding samples in memory up to 1 MiB")
	require.Less(t, strings.Count(logA, "\n"), 40, "no log line per batch:\n%s", logA)

	// A restart on the full disk, with the server back, sends what was
	// not delivered and nothing that was.
	srv.down.Store(false)
	samples = 10
	b := start()
	require.Eventually(t, func() bool {
		_, held, _ := b.a.batcher.state()
		return b.a.spool.Stats().Batches == 0 && held == 0
	}, 15*time.Second, 100*time.Millisecond, "the restarted agent delivers the spool:\n%s", b.log)
	b.stop()
	<-b.done
	require.NoError(t, b.err)
	require.Zero(t, b.a.spool.Stats().Batches, "delivered at shutdown")
	countPolls(b)
	countDrops(b)

	received, repeats := srv.received()
	require.Zero(t, repeats, "no delivered batch is sent again")
	require.Greater(t, received, delivered, "the restart delivered what was spooled")
	produced := float64(burstEmitted.Load()) + polls
	t.Logf("produced %v samples: received %d, dropped %v", produced, received, dropped)
	require.Positive(t, dropped)
	require.Equal(t, produced, float64(received)+dropped, "every sample is received or counted as dropped")
}
