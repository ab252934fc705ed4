// Package lease runs the server's periodic jobs — check-ups, report
// schedules, webhook delivery, housekeeping — on one replica at a time.
// Each job has a lease in the store (store.Leases). A replica runs the
// job's cycles only while it holds the job's lease, renews the lease
// every third of its period whether a cycle runs or not, and releases it
// when it stops, so that with N replicas each cycle runs once, another
// replica takes over at once after a clean stop, and within about a
// lease period after the holder died.
package lease

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kpilot/kpilot/server/store"
)

// DefaultPeriod is how long a lease lasts unless renewed: the longest a
// job pauses when its replica dies.
const DefaultPeriod = 30 * time.Second

// releaseTimeout bounds giving a lease back on shutdown; when it fails,
// the lease expires on its own.
const releaseTimeout = 5 * time.Second

// Job is a periodic task that runs on one replica at a time.
type Job struct {
	// Name names the job's lease and labels its metrics and log lines.
	Name string
	// Every (positive) is the time between the starts of two cycles. A
	// cycle that takes longer delays the next; cycles never overlap.
	Every time.Duration
	// Cycle runs the job once. Its ctx ends when the replica stops or
	// loses the lease. An error is logged, and the next cycle comes as
	// usual.
	Cycle func(ctx context.Context) error
	// Wake, when set, runs a cycle on this replica at once, whether it
	// holds the lease or not. It is for jobs whose work the store hands
	// out item by item (webhook deliveries are claimed one by one), so
	// that what this replica just queued need not wait for the holder's
	// next cycle.
	Wake <-chan struct{}
}

// Runner runs jobs under leases taken in one store under one holder id,
// unique to the process. Run it once per job.
type Runner struct {
	store  store.Leases
	holder string
	period time.Duration
	log    *slog.Logger
	held   *prometheus.GaugeVec
	cycles *prometheus.CounterVec
}

// New returns a Runner whose leases last period (DefaultPeriod when 0).
// reg receives its metrics.
func New(st store.Leases, period time.Duration, log *slog.Logger, reg prometheus.Registerer) *Runner {
	if period <= 0 {
		period = DefaultPeriod
	}
	r := &Runner{store: st, holder: newHolder(), period: period, log: log,
		held: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kpilot_server_lease_held",
			Help: "1 while this replica holds the job's lease and runs its cycles, else 0."}, []string{"job"}),
		cycles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kpilot_server_job_cycles_total",
			Help: "Cycles of a periodic job by result: run here, or skipped because another replica holds the lease."},
			[]string{"job", "result"}),
	}
	reg.MustRegister(r.held, r.cycles)
	return r
}

// Holder is the id under which this Runner takes its leases.
func (r *Runner) Holder() string { return r.holder }

// newHolder names this process among the replicas: the host name for
// the operator, the pid for two replicas on one host, and a random part
// for a restarted container that got the same pid again.
func newHolder() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), rand.Text()[:8])
}

// Run runs j's cycles while this replica holds j's lease, until ctx ends;
// then it waits for a running cycle to stop and releases the lease.
func (r *Runner) Run(ctx context.Context, j Job) {
	x := &jobRun{r: r, j: j, log: r.log.With("job", j.Name, "holder", r.holder),
		held: r.held.WithLabelValues(j.Name), ran: r.cycles.WithLabelValues(j.Name, "run"),
		skipped: r.cycles.WithLabelValues(j.Name, "skipped")}
	x.held.Set(0)
	x.loop(ctx)
}

// jobRun is the state of one job on this replica; only its loop's
// goroutine touches it.
type jobRun struct {
	r            *Runner
	j            Job
	log          *slog.Logger
	held         prometheus.Gauge
	ran, skipped prometheus.Counter

	holding bool
	until   time.Time // when the lease expires, as of the last renewal
	failing bool      // the last renewal got no answer from the store

	cancel context.CancelFunc // ends the running cycle; nil when none runs
	done   chan struct{}      // closed when the running cycle returned
}

func (x *jobRun) loop(ctx context.Context) {
	renew := time.NewTicker(x.r.period / 3)
	defer renew.Stop()
	tick := time.NewTicker(x.j.Every)
	defer tick.Stop()
	defer x.stop(ctx)
	due := x.renew(ctx) // a replica that gains the lease runs a cycle at once
	woken := false
	for {
		if x.done == nil && (due && x.holding || woken) {
			x.start(ctx)
			tick.Reset(x.j.Every)
			due, woken = false, false
		}
		select {
		case <-ctx.Done():
			return
		case <-renew.C:
			if x.renew(ctx) {
				due = true
			}
		case <-tick.C:
			if x.holding {
				due = true
			} else {
				x.skipped.Inc()
			}
		case <-x.done:
			x.cancel, x.done = nil, nil
		case <-x.j.Wake:
			woken = true
		}
	}
}

// renew takes or extends the lease and reports whether this replica has
// just gained it.
func (x *jobRun) renew(ctx context.Context) bool {
	now := time.Now()
	// A renewal that hangs must not outlive the lease it renews: it is
	// given up after half a period, and while this replica holds the
	// lease no later than a third of a period before it runs out, which
	// leaves time to stop the cycle (below).
	deadline := now.Add(x.r.period / 2)
	if stopBy := x.until.Add(-x.r.period / 3); x.holding && stopBy.Before(deadline) {
		deadline = stopBy
	}
	actx, cancel := context.WithDeadline(ctx, deadline)
	ok, err := x.r.store.AcquireLease(actx, x.j.Name, x.r.holder, now, x.r.period)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return false // shutting down
		}
		if !x.failing {
			x.log.Warn("cannot renew the job's lease", "err", err)
			x.failing = true
		}
		// Stop a third of a period before the lease expires: until then
		// no other replica can have taken it over, so the cycle that
		// runs here runs alone.
		if x.holding && !time.Now().Add(x.r.period/3).Before(x.until) {
			x.lose("the store did not answer before the lease ran out")
		}
		return false
	}
	if x.failing {
		x.log.Info("the store answers again")
		x.failing = false
	}
	switch {
	case ok && x.holding:
		x.until = now.Add(x.r.period)
		return false
	case ok:
		x.holding, x.until = true, now.Add(x.r.period)
		x.held.Set(1)
		x.log.Info("took the job's lease: this replica runs it")
		return true
	case x.holding:
		x.lose("another replica holds it")
	}
	return false
}

// lose stops a running cycle: the job is another replica's now.
func (x *jobRun) lose(why string) {
	x.holding = false
	x.held.Set(0)
	if x.cancel != nil {
		x.cancel()
	}
	x.log.Warn("lost the job's lease: another replica runs it", "reason", why)
}

// start runs one cycle in its own goroutine, so that the loop goes on
// renewing the lease however long the cycle takes.
func (x *jobRun) start(ctx context.Context) {
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	x.cancel, x.done = cancel, done
	x.ran.Inc()
	go func() {
		defer close(done)
		defer cancel()
		if err := x.j.Cycle(cctx); err != nil && cctx.Err() == nil {
			x.log.Warn("job cycle failed", "err", err)
		}
	}()
}

// stop ends a running cycle, waits for it, and gives the lease back so
// that another replica takes over at its next try instead of after the
// lease expired.
func (x *jobRun) stop(ctx context.Context) {
	if x.cancel != nil {
		x.cancel()
		<-x.done
		x.cancel, x.done = nil, nil
	}
	if !x.holding {
		return
	}
	x.holding = false
	x.held.Set(0)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if err := x.r.store.ReleaseLease(ctx, x.j.Name, x.r.holder); err != nil {
		x.log.Warn("cannot release the job's lease; it expires on its own", "err", err)
		return
	}
	x.log.Info("released the job's lease")
}
