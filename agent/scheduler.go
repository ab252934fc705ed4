package agent

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/wire"
)

// job is one collector polling one target.
type job struct {
	collector string // entry name
	typ       string
	cfg       collectors.Config // the entry it was built from, to tell on reload whether it changed
	target    collectors.Target
	interval  time.Duration
	timeout   time.Duration
	jitter    time.Duration
	c         collectors.Collector
	log       *slog.Logger

	cancel context.CancelFunc
	done   chan struct{} // closed when the job's loop has ended

	mu      sync.Mutex
	running chan struct{} // closed when the current collection returns; nil when idle

	lineBytes int // line protocol the last poll wrote, to size the next one's buffer (poll only)
}

// key names a job across reloads.
func (j *job) key() string { return j.collector + "\x00" + j.target.Asset }

// stuckGrace is how long a collection may overrun its timeout before the
// agent stops waiting for it. A collector that ignores its context (a
// driver stuck in a system call) is left behind, reported, and not polled
// again until it returns; the other targets are not held up.
const stuckGrace = 5 * time.Second

// runJob polls j every interval until ctx is done. Runs of one target never
// overlap: a tick that comes while the previous collection still runs is
// skipped and counted as missed.
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
		if j.busy() {
			a.m.missed.WithLabelValues(j.collector, j.target.Asset).Inc()
			j.log.Warn("previous collection still running; skipping this poll")
		} else {
			a.poll(ctx, j)
		}
		next = next.Add(j.interval)
		now := time.Now()
		if missed := int(now.Sub(next) / j.interval); now.After(next) {
			a.m.missed.WithLabelValues(j.collector, j.target.Asset).Add(float64(missed + 1))
			next = next.Add(time.Duration(missed+1) * j.interval)
		}
		var jitter time.Duration
		if j.jitter > 0 {
			jitter = rand.N(j.jitter)
		}
		timer.Reset(time.Until(next) + jitter)
	}
}

// busy reports whether a collection of j that was given up on is still
// running.
func (j *job) busy() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.running == nil {
		return false
	}
	select {
	case <-j.running:
		j.running = nil
		return false
	default:
		return true
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
	sink := &targetSink{b: a.batcher, log: j.log, asset: j.target.Asset, keep: a.latest.isEnabled(),
		hint:    min(j.lineBytes, maxHint),
		partial: a.m.partial.WithLabelValues(j.collector, j.target.Asset)}
	start := time.Now()
	done := make(chan struct{})
	j.mu.Lock()
	j.running = done
	j.mu.Unlock()
	result := make(chan error, 1)
	go func() {
		defer close(done)
		result <- safeCollect(pctx, j.c, sink)
	}()
	var err error
	select {
	case err = <-result:
	case <-time.After(j.timeout + stuckGrace):
		sink.close()
		err = fmt.Errorf("collection did not stop %s after its timeout of %s; left behind, and this target is not polled again until it returns",
			stuckGrace, j.timeout)
		a.m.stuck.WithLabelValues(j.collector, j.target.Asset).Inc()
	}
	sink.close()
	j.lineBytes = sink.bytes
	dur := time.Since(start)
	labels := []string{j.collector, j.target.Asset}
	a.m.duration.WithLabelValues(labels...).Set(dur.Seconds())
	taken, samples := sink.result()
	// Counted even when the poll was cut short: what it took was handed to
	// the batcher by close, so it is spooled, delivered or counted dropped.
	a.m.collected.WithLabelValues(labels...).Add(float64(taken))
	if ctx.Err() != nil {
		return // shutting down or reloading: not a failure of the target
	}
	partial, first := sink.problems()
	outcome, msg := pollOutcome(err, partial, first)
	a.m.outcomes.WithLabelValues(j.collector, j.target.Asset, outcome.String()).Inc()
	a.m.outcome.WithLabelValues(labels...).Set(float64(outcome))
	if err != nil {
		a.m.success.WithLabelValues(labels...).Set(0)
		a.m.polls.WithLabelValues(j.collector, j.target.Asset, "failure").Inc()
		j.log.Warn("poll failed", "outcome", outcome.String(), "err", err, "duration", dur.Round(time.Millisecond))
	} else {
		a.m.success.WithLabelValues(labels...).Set(1)
		a.m.polls.WithLabelValues(j.collector, j.target.Asset, "success").Inc()
		j.log.Debug("poll done", "outcome", outcome.String(), "samples", taken, "duration", dur.Round(time.Millisecond))
	}
	a.latest.replace(j.collector, j.target.Asset, samples)
	// Reachability is a KPI too: downtime is computed from it on the
	// server, and only a target that did not answer is down. Rejected
	// credentials and protocol errors are a monitoring problem, shown
	// with their message.
	a.batcher.Sample(kpi.Sample{Asset: j.target.Asset, Measurement: "agent_poll", Time: start,
		Tags: map[string]string{"collector": j.collector},
		Fields: map[string]any{"up": outcome != collectors.OutcomeUnreachable, "outcome": int64(outcome),
			"message": msg, "duration_seconds": dur.Seconds()}})
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
// the target, samples for other assets are refused (a collector may only
// report the target it polls), and nothing is taken after the poll ended
// (from a collection that was given up on). It encodes samples as they
// come and hands the lines to the batcher when the poll ends, or every
// maxLines on a large one; it keeps the samples themselves only for the
// exporter.
var _ collectors.RowSink = (*targetSink)(nil)

type targetSink struct {
	b       *batcher
	log     *slog.Logger
	asset   string
	partial prometheus.Counter
	keep    bool // keep the samples (exporter mode)
	hint    int  // bytes of line protocol expected, to size the buffer
	closed  atomic.Bool

	mu      sync.Mutex
	enc     wire.Encoder
	taken   int          // samples taken
	bytes   int          // line protocol handed to the batcher
	samples []kpi.Sample // with keep
	invalid int
	bad     error // the first invalid sample's problem

	partials     int   // partial errors reported
	firstPartial error // the first of them
}

func (s *targetSink) Sample(x kpi.Sample) {
	s.take(x.Asset, func(e *wire.Encoder) error { return e.Sample(x) }, func() kpi.Sample { return x })
}

// Row is Sample for a collector that builds rows (collectors.RowSink).
func (s *targetSink) Row(r *kpi.Row) {
	s.take(r.Asset, func(e *wire.Encoder) error { return e.Row(r) }, r.Sample)
}

// take encodes one sample of asset unless the poll has ended or the
// asset is not the target's; sample gives it as a kpi.Sample for keep.
func (s *targetSink) take(asset string, encode func(*wire.Encoder) error, sample func() kpi.Sample) {
	if s.closed.Load() {
		return
	}
	if asset != s.asset {
		s.Error(fmt.Errorf("collector reported asset %q while polling %q; sample dropped", asset, s.asset))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grow()
	s.took(encode(&s.enc), sample)
}

// grow sizes an empty buffer for what the last poll wrote; s.mu is held.
func (s *targetSink) grow() {
	if s.hint > 0 && s.enc.Lines() == 0 {
		s.enc.Grow(s.hint)
	}
}

// took counts a sample the encoder took or refused; s.mu is held.
func (s *targetSink) took(err error, sample func() kpi.Sample) {
	if s.closed.Load() {
		return // closed while encoding: close has handed over already
	}
	if err != nil {
		s.invalid++
		if s.bad == nil {
			s.bad = err
		}
		return
	}
	s.taken++
	if s.keep {
		s.samples = append(s.samples, sample())
	}
	if s.enc.Lines() >= s.b.maxLines {
		s.handOver()
	}
}

// maxHint bounds the buffer a poll's sink makes room for at once.
const maxHint = 8 << 20

// handOver gives the lines encoded so far to the batcher; s.mu is held.
func (s *targetSink) handOver() {
	data, n := s.enc.Take()
	s.bytes += len(data)
	s.b.add(data, n)
}

func (s *targetSink) Inventory(x kpi.Inventory) {
	if s.closed.Load() {
		return
	}
	if x.Asset != s.asset {
		s.Error(fmt.Errorf("collector reported inventory of %q while polling %q; dropped", x.Asset, s.asset))
		return
	}
	s.b.Inventory(x)
}

func (s *targetSink) Error(err error) {
	if s.closed.Load() {
		return
	}
	s.partial.Inc()
	s.mu.Lock()
	s.partials++
	if s.firstPartial == nil {
		s.firstPartial = err
	}
	s.mu.Unlock()
	s.log.Warn("partial poll error", "outcome", collectors.OutcomePartial.String(), "err", err)
}

// problems returns how many partial errors the poll reported and the
// first of them; call after close.
func (s *targetSink) problems() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.partials, s.firstPartial
}

// close ends the poll: nothing is taken afterwards, and what was taken
// goes to the batcher. It may be called more than once.
func (s *targetSink) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Swap(true) {
		return
	}
	s.handOver()
	if s.invalid > 0 {
		s.b.dropped("invalid", s.invalid)
		s.log.Error("some samples were invalid and left out", "samples", s.invalid, "first", s.bad)
	}
}

// result returns how many samples the poll took and, with keep, the
// samples; call after close.
func (s *targetSink) result() (int, []kpi.Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.taken, s.samples
}
