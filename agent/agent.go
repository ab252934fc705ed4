// Package agent runs kpilot-agent: it polls the configured targets, spools
// what it reads to disk, and ships the spool to the server.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/kpilot/kpilot/internal/debugserve"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/kpilot/kpilot/agent/enroll"
	"github.com/kpilot/kpilot/agent/ship"
	"github.com/kpilot/kpilot/agent/spool"
	"github.com/kpilot/kpilot/agent/transport"
	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/internal/catalog"
)

// drainTimeout is how long shutdown waits for the server to take what is
// spooled; whatever is left is shipped after the next start.
const drainTimeout = 5 * time.Second

// Agent is one running kpilot-agent.
type Agent struct {
	log     *slog.Logger
	level   *slog.LevelVar // nil when the caller fixed the level
	reg     *prometheus.Registry
	spool   *spool.Disk
	batcher *batcher
	shipper *ship.Shipper
	kpis    *kpiSender
	kpiDefs func(*Config) []catalog.Section // (*Config).KPIDefinitions; a seam for tests
	sem     chan struct{}
	shared  collectors.Shared // what collectors share across entries and reloads
	m       *agentMetrics
	latest  *latestStore
	reload  chan chan error

	mu   sync.Mutex // guards cfg and jobs against Reload
	cfg  *Config
	jobs map[string]*job
}

// New builds the agent from a validated config: it opens the spool, reads
// the credential and builds every collector. It contacts no device and no
// server. level, when not nil, is the logger's level, which a reload may
// change.
func New(cfg *Config, log *slog.Logger, level *slog.LevelVar) (*Agent, error) {
	cred, err := enroll.Load(cfg.Server.CredentialFile)
	if err != nil {
		return nil, err
	}
	sp, err := spool.Open(filepath.Join(cfg.DataDir, "spool"), cfg.Spool.options(log.With("part", "spool")))
	if err != nil {
		return nil, err
	}
	hc, err := transport.NewClient(transport.Options{CAFile: cfg.Server.CAFile, CertFile: cfg.Server.CertFile, KeyFile: cfg.Server.KeyFile})
	if err != nil {
		sp.Close()
		return nil, fmt.Errorf("server TLS settings: %w", err)
	}
	reg := prometheus.NewRegistry()
	a := &Agent{cfg: cfg, log: log, level: level, reg: reg, spool: sp,
		sem: make(chan struct{}, cfg.MaxParallelPolls), reload: make(chan chan error),
		latest: newLatestStore(cfg.Exporter.Enabled)}
	a.batcher = newBatcher(sp, cfg.Spool.MaxBatchLines, int64(cfg.Spool.MemoryLimitMB)<<20, log.With("part", "batcher"),
		func(n int) { a.m.spooled.Add(float64(n)) })
	a.m = newMetrics(reg, sp, a.batcher)
	a.batcher.onDrop = func(reason string, n int) { a.m.dropped.WithLabelValues(reason).Add(float64(n)) }
	a.shipper = ship.New(hc, cfg.Server.URL, cred.Token, sp, log.With("part", "shipper"), reg)
	a.kpis = newKPISender(hc, cfg.Server.URL, cred.Token, log.With("part", "kpis"))
	a.kpiDefs = (*Config).KPIDefinitions
	jobs, err := a.buildJobs(cfg, nil)
	if err != nil {
		sp.Close()
		return nil, err
	}
	a.jobs = jobs
	return a, nil
}

// buildJobs makes one job per target of cfg. A job of old whose entry and
// target are unchanged is kept as it is, with its collector's state (the
// previous counter readings that rates need, a Redfish session).
func (a *Agent) buildJobs(cfg *Config, old map[string]*job) (map[string]*job, error) {
	jobs := map[string]*job{}
	var errs []error
	for _, cc := range cfg.Collectors {
		b := cc.Base()
		for _, t := range b.Targets {
			j := &job{collector: b.Name, typ: b.Type, cfg: cc.Config, target: t, interval: b.Interval.D(),
				timeout: b.Timeout.D(), jitter: b.Jitter.D()}
			if prev, ok := old[j.key()]; ok && prev.sameAs(j) {
				jobs[j.key()] = prev
				continue
			}
			j.log = a.log.With("collector", b.Name, "target", t.Asset)
			dataDir := filepath.Join(cfg.DataDir, "collectors", b.Name)
			c, err := cc.New(t, collectors.Options{Logger: j.log, Registerer: a.reg, DataDir: dataDir, Shared: &a.shared})
			if err != nil {
				errs = append(errs, fmt.Errorf("collector %s, target %s: %w", b.Name, t.Asset, err))
				continue
			}
			j.c = c
			jobs[j.key()] = j
		}
	}
	if err := errors.Join(errs...); err != nil {
		for k, j := range jobs {
			if old[k] != j {
				closeCollector(j)
			}
		}
		return nil, err
	}
	return jobs, nil
}

// sameAs reports whether j polls what n would, so a reload can keep it.
// Entries compare by value, secrets included.
func (j *job) sameAs(n *job) bool {
	return j.typ == n.typ && j.interval == n.interval && j.timeout == n.timeout && j.jitter == n.jitter &&
		reflect.DeepEqual(j.target, n.target) && sameEntry(j.cfg, n.cfg)
}

// sameEntry compares the settings of two collector entries: their exported
// fields, without the list of targets (each job compares its own target),
// and without what Validate derived from them.
func sameEntry(a, b collectors.Config) bool {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	if va.Type() != vb.Type() {
		return false
	}
	for i := range va.NumField() {
		f := va.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		x, y := va.Field(i).Interface(), vb.Field(i).Interface()
		if ca, ok := x.(collectors.Common); ok {
			cb := y.(collectors.Common)
			ca.Targets, cb.Targets = nil, nil
			x, y = ca, cb
		}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

// Reload reads the config file again and applies it while the agent runs.
// A config that does not load, validate or build is rejected with the
// reason, and the running one stays in force. Spooled data is never
// touched. Settings that only take effect at start (server, data_dir,
// spool, metrics_listen) are reported when they changed.
func (a *Agent) Reload(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case a.reload <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run polls, spools and ships until ctx is done, then stops polling, writes
// what was collected to the spool as whole batches, gives the server a few
// seconds to take them, and returns. Cancellation is not an error.
func (a *Agent) Run(ctx context.Context) error {
	defer a.spool.Close()
	a.log.Info("agent starting", "targets", len(a.jobs), "server", a.cfg.Server.URL,
		"spooled_batches", a.spool.Stats().Batches, "config", a.cfg.Path())
	metricsSrv, err := a.serveMetrics()
	if err != nil {
		return err
	}
	if metricsSrv != nil {
		defer metricsSrv.Close()
	}
	if a.cfg.DebugListen != "" {
		debugSrv, err := a.serveDebug()
		if err != nil {
			return err
		}
		defer debugSrv.Close()
	}

	pollCtx, stopPolling := context.WithCancel(ctx)
	defer stopPolling()
	memDone := make(chan struct{})
	softLimitMB := a.cfg.SoftMemoryLimitMB // read here: a reload replaces a.cfg
	go func() {
		limitMemory(pollCtx, softLimitMB, a.log)
		close(memDone)
	}()
	defer func() { stopPolling(); <-memDone }()
	batcherDone := make(chan struct{})
	flushEvery := a.cfg.Spool.FlushInterval.D() // a.cfg changes on reload; spool settings do not
	go func() {
		a.batcher.run(pollCtx, flushEvery)
		close(batcherDone)
	}()
	shipperDone := make(chan error, 1)
	go func() { shipperDone <- a.shipper.Run(pollCtx) }()
	kpisDone := make(chan struct{})
	a.kpis.offer(a.kpiDefs(a.cfg))
	go func() {
		a.kpis.run(pollCtx)
		close(kpisDone)
	}()
	for _, j := range a.jobs {
		a.startJob(pollCtx, j)
	}
	changes := a.watchConfig(pollCtx)

loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case done := <-a.reload:
			done <- a.apply(pollCtx)
		case <-changes:
			if err := a.apply(pollCtx); err == nil {
				a.log.Info("config file changed; reloaded")
			}
		}
	}

	stopPolling()
	a.mu.Lock()
	for _, j := range a.jobs {
		a.stopJob(j)
	}
	a.mu.Unlock()
	<-batcherDone
	<-kpisDone
	a.batcher.flush() // what polls stopped by the shutdown handed over last
	err = <-shipperDone
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
	a.shipper.Drain(dctx)
	cancel()
	a.batcher.stop() // deliveries may have made room; what still finds none is counted as lost
	// The final counts, which /metrics can no longer be asked for: every
	// sample of this run was collected (a poll's own and its agent_poll
	// sample) and is spooled, delivered or among the dropped.
	a.log.Info("agent stopped", "spooled_batches", a.spool.Stats().Batches,
		"samples_collected", int64(sumCounters(a.m.collected)), "polls", int64(sumCounters(a.m.polls)),
		"samples_dropped", int64(sumCounters(a.m.dropped))+int64(a.spool.Stats().DroppedSamples))
	return err
}

// sumCounters adds up every counter of a vector.
func sumCounters(c prometheus.Collector) float64 {
	ch := make(chan prometheus.Metric)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	var sum float64
	for m := range ch {
		var pb dto.Metric
		if m.Write(&pb) == nil {
			sum += pb.GetCounter().GetValue()
		}
	}
	return sum
}

func (a *Agent) startJob(ctx context.Context, j *job) {
	jctx, cancel := context.WithCancel(ctx)
	j.cancel, j.done = cancel, make(chan struct{})
	go func() {
		defer close(j.done)
		a.runJob(jctx, j)
	}()
}

// stopJob ends j's loop, waits for it (a poll ends at its timeout, or is
// left behind after the grace), and lets its collector give back what it
// holds on the device.
func (a *Agent) stopJob(j *job) {
	j.cancel()
	<-j.done
	closeCollector(j)
}

func closeCollector(j *job) {
	if c, ok := j.c.(io.Closer); ok && !j.busy() {
		if err := c.Close(); err != nil {
			j.log.Warn("closing collector", "err", err)
		}
	}
}

// apply reloads the config file; see Reload.
func (a *Agent) apply(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	err := a.applyLocked(ctx)
	if err != nil {
		a.m.reloads.WithLabelValues("failure").Inc()
		a.m.reloadOK.Set(0)
		a.log.Error("config reload rejected; still running the previous config", "config", a.cfg.Path(), "err", err)
		return err
	}
	a.m.reloads.WithLabelValues("success").Inc()
	a.m.reloadOK.Set(1)
	a.m.reloadAt.SetToCurrentTime()
	return nil
}

func (a *Agent) applyLocked(ctx context.Context) error {
	cfg, err := LoadConfig(a.cfg.Path())
	if err != nil {
		return err
	}
	if changed := restartOnly(a.cfg, cfg); len(changed) > 0 {
		a.log.Warn("changed settings take effect after a restart of the agent; the rest of the config is applied now",
			"settings", strings.Join(changed, ", "))
	}
	jobs, err := a.buildJobs(cfg, a.jobs)
	if err != nil {
		return err
	}
	var started, stopped, kept int
	for k, j := range a.jobs {
		if jobs[k] != j {
			a.stopJob(j)
			stopped++
			if _, still := jobs[k]; !still {
				a.latest.forget(j.collector, j.target.Asset)
				labels := prometheus.Labels{"collector": j.collector, "target": j.target.Asset}
				for _, v := range a.m.perTarget() {
					v.DeletePartialMatch(labels)
				}
			}
		}
	}
	for k, j := range jobs {
		if a.jobs[k] == j {
			kept++
			continue
		}
		a.startJob(ctx, j)
		started++
	}
	if a.level != nil {
		a.level.Set(cfg.Level())
	}
	a.latest.setEnabled(cfg.Exporter.Enabled)
	// What only takes effect at start keeps its running value.
	cfg.Server, cfg.DataDir, cfg.Spool, cfg.MetricsListen, cfg.DebugListen = a.cfg.Server, a.cfg.DataDir, a.cfg.Spool, a.cfg.MetricsListen, a.cfg.DebugListen
	cfg.SoftMemoryLimitMB = a.cfg.SoftMemoryLimitMB
	cfg.Exporter.Path, cfg.Exporter.Prefix = a.cfg.Exporter.Path, a.cfg.Exporter.Prefix
	cfg.MaxParallelPolls, cfg.WatchConfig = a.cfg.MaxParallelPolls, a.cfg.WatchConfig
	a.cfg, a.jobs = cfg, jobs
	a.kpis.offer(a.kpiDefs(cfg)) // sent again only if they changed
	a.log.Info("config reloaded", "targets", len(jobs), "kept", kept, "started", started, "stopped", stopped)
	return nil
}

// restartOnly lists the settings that differ between a and b and that take
// effect only at start.
func restartOnly(a, b *Config) []string {
	var out []string
	for name, same := range map[string]bool{
		"server":               reflect.DeepEqual(a.Server, b.Server),
		"data_dir":             a.DataDir == b.DataDir,
		"spool":                a.Spool == b.Spool,
		"metrics_listen":       a.MetricsListen == b.MetricsListen,
		"debug_listen":         a.DebugListen == b.DebugListen,
		"soft_memory_limit_mb": a.SoftMemoryLimitMB == b.SoftMemoryLimitMB,
		"exporter.path":        a.Exporter.Path == b.Exporter.Path,
		"exporter.prefix":      a.Exporter.Prefix == b.Exporter.Prefix,
		"max_parallel_polls":   a.MaxParallelPolls == b.MaxParallelPolls,
		"watch_config":         a.WatchConfig == b.WatchConfig,
	} {
		if !same {
			out = append(out, name)
		}
	}
	return out
}

// serveMetrics serves /metrics, and with the exporter the latest KPIs, on
// metrics_listen.
func (a *Agent) serveMetrics() (*http.Server, error) {
	if a.cfg.MetricsListen == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", a.cfg.MetricsListen)
	if err != nil {
		return nil, fmt.Errorf("metrics_listen %s: %w", a.cfg.MetricsListen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}))
	kpis := prometheus.NewRegistry()
	kpis.MustRegister(&exporter{store: a.latest, prefix: a.cfg.Exporter.Prefix})
	kpiHandler := promhttp.HandlerFor(kpis, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	mux.Handle("GET "+a.cfg.Exporter.Path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.latest.isEnabled() {
			http.Error(w, "exporter mode is off: set exporter.enabled: true in the agent config", http.StatusNotFound)
			return
		}
		kpiHandler.ServeHTTP(w, r)
	}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	a.log.Info("serving metrics", "address", ln.Addr().String(), "exporter", a.cfg.Exporter.Enabled)
	return srv, nil
}

// serveDebug serves net/http/pprof on debug_listen.
func (a *Agent) serveDebug() (*http.Server, error) {
	return debugserve.Listen(a.cfg.DebugListen, a.log)
}

// Level is the configured log level (validated already).
func (c *Config) Level() slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.LogLevel))
	return l
}

// Hostname is the default agent name at enrollment.
func Hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "kpilot-agent"
	}
	return h
}
