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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/kpilot/kpilot/agent/enroll"
	"github.com/kpilot/kpilot/agent/ship"
	"github.com/kpilot/kpilot/agent/spool"
	"github.com/kpilot/kpilot/agent/transport"
	"github.com/kpilot/kpilot/collectors"
)

// maxParallelPolls bounds how many collections run at once, so that a site
// with hundreds of targets does not open hundreds of sockets at the same
// moment.
const maxParallelPolls = 16

// drainTimeout is how long shutdown waits for the server to take what is
// spooled; whatever is left is shipped after the next start.
const drainTimeout = 5 * time.Second

// Agent is one running kpilot-agent.
type Agent struct {
	cfg     *Config
	log     *slog.Logger
	reg     *prometheus.Registry
	spool   *spool.Disk
	batcher *batcher
	shipper *ship.Shipper
	jobs    []*job
	sem     chan struct{}
	m       *agentMetrics
}

// New builds the agent from a validated config: it opens the spool, reads
// the credential and builds every collector. It contacts no device and no
// server.
func New(cfg *Config, log *slog.Logger) (*Agent, error) {
	cred, err := enroll.Load(cfg.Server.CredentialFile)
	if err != nil {
		return nil, err
	}
	sp, err := spool.Open(filepath.Join(cfg.DataDir, "spool"), int64(cfg.Spool.MaxSizeMB)<<20, log.With("part", "spool"))
	if err != nil {
		return nil, err
	}
	hc, err := transport.NewClient(transport.Options{CAFile: cfg.Server.CAFile, CertFile: cfg.Server.CertFile, KeyFile: cfg.Server.KeyFile})
	if err != nil {
		return nil, fmt.Errorf("server TLS settings: %w", err)
	}
	reg := prometheus.NewRegistry()
	a := &Agent{cfg: cfg, log: log, reg: reg, spool: sp, sem: make(chan struct{}, maxParallelPolls)}
	a.m = newMetrics(reg, sp)
	a.batcher = newBatcher(sp, cfg.Spool.MaxBatchLines, log.With("part", "batcher"),
		func(n int) { a.m.spooled.Add(float64(n)) })
	a.shipper = ship.New(hc, cfg.Server.URL, cred.Token, sp, log.With("part", "shipper"), reg)
	if err := a.buildJobs(); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Agent) buildJobs() error {
	var errs []error
	for _, cc := range a.cfg.Collectors {
		b := cc.Base()
		for _, t := range b.Targets {
			log := a.log.With("collector", b.Name, "target", t.Asset)
			dataDir := filepath.Join(a.cfg.DataDir, "collectors", b.Name)
			c, err := cc.New(t, collectors.Options{Logger: log, Registerer: a.reg, DataDir: dataDir})
			if err != nil {
				errs = append(errs, fmt.Errorf("collector %s, target %s: %w", b.Name, t.Asset, err))
				continue
			}
			a.jobs = append(a.jobs, &job{collector: b.Name, target: t, interval: b.Interval.D(),
				timeout: b.Timeout.D(), c: c, log: log})
		}
	}
	return errors.Join(errs...)
}

// Registry returns the agent's metrics registry.
func (a *Agent) Registry() *prometheus.Registry { return a.reg }

// Run polls, spools and ships until ctx is done, then stops polling, writes
// what was collected to the spool as whole batches, gives the server a few
// seconds to take them, and returns. Cancellation is not an error.
func (a *Agent) Run(ctx context.Context) error {
	a.log.Info("agent starting", "targets", len(a.jobs), "server", a.cfg.Server.URL, "spooled_batches", a.spool.Stats().Batches)
	var metricsSrv *http.Server
	if a.cfg.MetricsListen != "" {
		ln, err := net.Listen("tcp", a.cfg.MetricsListen)
		if err != nil {
			return fmt.Errorf("metrics_listen %s: %w", a.cfg.MetricsListen, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}))
		metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go metricsSrv.Serve(ln)
		a.log.Info("serving metrics", "address", ln.Addr().String())
	}

	pollCtx, stopPolling := context.WithCancel(ctx)
	defer stopPolling()
	batcherDone := make(chan struct{})
	go func() {
		a.batcher.run(pollCtx, a.cfg.Spool.FlushInterval.D())
		close(batcherDone)
	}()
	g, gctx := errgroup.WithContext(pollCtx)
	for _, j := range a.jobs {
		g.Go(func() error { a.runJob(gctx, j); return nil })
	}
	g.Go(func() error { return a.shipper.Run(gctx) })
	err := g.Wait()

	stopPolling()
	a.closeCollectors()
	<-batcherDone // the last batch is on disk
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
	a.shipper.Drain(dctx)
	cancel()
	if metricsSrv != nil {
		metricsSrv.Close()
	}
	a.log.Info("agent stopped", "spooled_batches", a.spool.Stats().Batches)
	return err
}

// closeCollectors lets collectors that hold something on a device (a
// Redfish session) give it back.
func (a *Agent) closeCollectors() {
	for _, j := range a.jobs {
		if c, ok := j.c.(io.Closer); ok {
			if err := c.Close(); err != nil {
				j.log.Warn("closing collector", "err", err)
			}
		}
	}
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
