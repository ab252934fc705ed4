package agent

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/internal/kpi"
)

// job is one collector polling one target.
type job struct {
	collector string // entry name
	target    collectors.Target
	interval  time.Duration
	timeout   time.Duration
	c         collectors.Collector
	log       *slog.Logger
}

// runJob polls j every interval until ctx is done. Runs of one target never
// overlap: the loop waits for a poll to end (it ends by its timeout at the
// latest, which is at most the interval) before starting the next; ticks
// that pass meanwhile are counted as missed.
func (a *Agent) runJob(ctx context.Context, j *job) {
	// Spread first polls so that many targets do not start at once.
	first := rand.N(min(j.interval/10, 5*time.Second) + 1)
	timer := time.NewTimer(first)
	defer timer.Stop()
	next := time.Now().Add(first)
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		a.poll(ctx, j)
		next = next.Add(j.interval)
		now := time.Now()
		if missed := int(now.Sub(next) / j.interval); now.After(next) {
			a.m.missed.WithLabelValues(j.collector, j.target.Asset).Add(float64(missed + 1))
			next = next.Add(time.Duration(missed+1) * j.interval)
		}
		timer.Reset(time.Until(next))
	}
}

// poll runs one collection with its timeout, within the agent's bound on
// parallel collections, and records its outcome.
func (a *Agent) poll(ctx context.Context, j *job) {
	select {
	case a.sem <- struct{}{}:
		defer func() { <-a.sem }()
	case <-ctx.Done():
		return
	}
	pctx, cancel := context.WithTimeout(ctx, j.timeout)
	defer cancel()
	sink := &targetSink{b: a.batcher, log: j.log, asset: j.target.Asset,
		partial: a.m.partial.WithLabelValues(j.collector, j.target.Asset)}
	start := time.Now()
	err := safeCollect(pctx, j.c, sink)
	dur := time.Since(start)
	labels := []string{j.collector, j.target.Asset}
	a.m.duration.WithLabelValues(labels...).Set(dur.Seconds())
	switch {
	case ctx.Err() != nil:
		return // shutting down: not a failure of the target
	case err != nil:
		a.m.success.WithLabelValues(labels...).Set(0)
		a.m.polls.WithLabelValues(j.collector, j.target.Asset, "failure").Inc()
		j.log.Warn("poll failed", "err", err, "duration", dur.Round(time.Millisecond))
	default:
		a.m.success.WithLabelValues(labels...).Set(1)
		a.m.polls.WithLabelValues(j.collector, j.target.Asset, "success").Inc()
		j.log.Debug("poll done", "samples", sink.samples, "duration", dur.Round(time.Millisecond))
	}
	// Reachability is a KPI too: downtime is computed from it on the server.
	a.batcher.Sample(kpi.Sample{Asset: j.target.Asset, Measurement: "agent_poll", Time: start,
		Tags:   map[string]string{"collector": j.collector},
		Fields: map[string]any{"up": err == nil, "duration_seconds": dur.Seconds()}})
}

// safeCollect turns a collector panic into an error so that one bad device
// answer cannot stop the agent.
func safeCollect(ctx context.Context, c collectors.Collector, s collectors.Sink) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("collector panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return c.Collect(ctx, s)
}

// targetSink scopes what one poll reports: partial errors are logged with
// the target, and samples for other assets are refused (a collector may
// only report the target it polls).
type targetSink struct {
	b       *batcher
	log     *slog.Logger
	asset   string
	samples int
	partial prometheus.Counter
}

func (s *targetSink) Sample(x kpi.Sample) {
	if x.Asset != s.asset {
		s.Error(fmt.Errorf("collector reported asset %q while polling %q; sample dropped", x.Asset, s.asset))
		return
	}
	s.samples++
	s.b.Sample(x)
}

func (s *targetSink) Inventory(x kpi.Inventory) {
	if x.Asset != s.asset {
		s.Error(fmt.Errorf("collector reported inventory of %q while polling %q; dropped", x.Asset, s.asset))
		return
	}
	s.b.Inventory(x)
}

func (s *targetSink) Error(err error) {
	s.partial.Inc()
	s.log.Warn("partial poll error", "err", err)
}
