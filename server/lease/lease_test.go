package lease

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// memLeases is store.Leases in memory, with the SQL's rules, and a switch
// that cuts a holder off from it as a network split or a dead process
// would. The SQL itself is held to these rules by server/store/storetest.
type memLeases struct {
	mu   sync.Mutex
	rows map[string]memLease
	cut  map[string]bool
}

type memLease struct {
	holder  string
	expires time.Time
}

var errCut = errors.New("connection refused")

func newMem() *memLeases { return &memLeases{rows: map[string]memLease{}, cut: map[string]bool{}} }

func (m *memLeases) AcquireLease(_ context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cut[holder] {
		return false, errCut
	}
	l, ok := m.rows[name]
	if ok && l.holder != holder && now.Before(l.expires) {
		return false, nil
	}
	m.rows[name] = memLease{holder: holder, expires: now.Add(ttl)}
	return true, nil
}

func (m *memLeases) ReleaseLease(_ context.Context, name, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cut[holder] {
		return errCut
	}
	if m.rows[name].holder == holder {
		delete(m.rows, name)
	}
	return nil
}

func (m *memLeases) cutOff(holder string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cut[holder] = true
}

const period = 30 * time.Second

// replica is one server process's Runner with one job.
type replica struct {
	r      *Runner
	logs   *bytes.Buffer
	cycles atomic.Int64
	stop   context.CancelFunc
}

func newReplica(st *memLeases) *replica {
	var logs bytes.Buffer
	return &replica{r: New(st, period, slog.New(slog.NewTextHandler(&logs, nil)), prometheus.NewRegistry()), logs: &logs}
}

// start runs a job on the replica whose cycle counts and then does what
// cycle says (nothing when nil).
func (p *replica) start(ctx context.Context, every time.Duration, cycle func(ctx context.Context) error, wake <-chan struct{}) {
	ctx, p.stop = context.WithCancel(ctx)
	go p.r.Run(ctx, Job{Name: "checkups", Every: every, Wake: wake, Cycle: func(ctx context.Context) error {
		p.cycles.Add(1)
		if cycle != nil {
			return cycle(ctx)
		}
		return nil
	}})
}

func (p *replica) held() float64 { return testutil.ToFloat64(p.r.held.WithLabelValues("checkups")) }

func (p *replica) counted(result string) float64 {
	return testutil.ToFloat64(p.r.cycles.WithLabelValues("checkups", result))
}

func TestOneReplicaRunsEachCycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMem()
		a, b := newReplica(st), newReplica(st)
		a.start(t.Context(), time.Minute, nil, nil)
		b.start(t.Context(), time.Minute, nil, nil)
		time.Sleep(10*time.Minute + time.Second)
		synctest.Wait()

		holder, other := a, b
		if b.cycles.Load() > 0 {
			holder, other = b, a
		}
		require.Equal(t, int64(11), holder.cycles.Load(), "at start and every minute for ten minutes")
		require.Zero(t, other.cycles.Load(), "the other replica ran no cycle")
		require.Equal(t, 1.0, holder.held())
		require.Zero(t, other.held())
		require.Equal(t, 11.0, holder.counted("run"))
		require.Zero(t, holder.counted("skipped"))
		require.Zero(t, other.counted("run"))
		require.Equal(t, 10.0, other.counted("skipped"))

		require.Equal(t, 1, strings.Count(holder.logs.String(), "took the job's lease"), "one line when gained, none per cycle:\n%s", holder.logs)
		require.Equal(t, 1, strings.Count(holder.logs.String(), "\n"), "got logs:\n%s", holder.logs)
		require.Empty(t, other.logs.String())
		a.stop()
		b.stop()
		synctest.Wait()
	})
}

func TestTakeOver(t *testing.T) {
	for _, tt := range []struct {
		name   string
		killed bool          // the holder dies without a word (kill -9), else it stops cleanly
		within time.Duration // how soon the other replica runs the job
	}{
		{"a stopped holder releases: the other takes over at its next try", false, period / 3},
		{"a killed holder's lease expires", true, period + period/3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := newMem()
				a, b := newReplica(st), newReplica(st)
				a.start(t.Context(), time.Minute, nil, nil)
				synctest.Wait()
				b.start(t.Context(), time.Minute, nil, nil)
				// Off the beat of the tickers (10s renewals, 1m cycles),
				// so that no two events fall on one instant.
				time.Sleep(5*time.Minute + 35*time.Second)
				require.Equal(t, int64(6), a.cycles.Load(), "at start and every minute")
				require.Zero(t, b.cycles.Load())

				if tt.killed {
					st.cutOff(a.r.Holder())
				}
				a.stop()
				stopped := time.Now()
				for b.held() == 0 {
					require.Less(t, time.Since(stopped), tt.within, "b took over too late")
					time.Sleep(time.Second)
					synctest.Wait()
				}
				tookOver := time.Now()
				require.Equal(t, int64(1), b.cycles.Load(), "the new holder runs a cycle at once")
				require.Equal(t, int64(6), a.cycles.Load())
				require.Zero(t, a.held())
				if !tt.killed {
					require.Contains(t, a.logs.String(), "released the job's lease")
				}
				time.Sleep(time.Until(tookOver.Add(time.Minute - time.Second)))
				synctest.Wait()
				require.Equal(t, int64(1), b.cycles.Load(), "the next cycle comes a minute after the one at take-over")
				time.Sleep(2 * time.Second)
				synctest.Wait()
				require.Equal(t, int64(2), b.cycles.Load())
				b.stop()
				synctest.Wait()
			})
		})
	}
}

// TestCutOffHolderStopsBeforeTakeOver: a holder that cannot reach the
// store ends its running cycle before another replica may take over, so
// that a cycle never runs twice at once.
func TestCutOffHolderStopsBeforeTakeOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMem()
		a, b := newReplica(st), newReplica(st)
		var aEnded, bStarted time.Time
		a.start(t.Context(), time.Hour, func(ctx context.Context) error {
			<-ctx.Done()
			aEnded = time.Now()
			return ctx.Err()
		}, nil)
		synctest.Wait()
		b.start(t.Context(), time.Hour, func(context.Context) error {
			bStarted = time.Now()
			return nil
		}, nil)
		time.Sleep(time.Minute + 5*time.Second)
		cut := time.Now()
		st.cutOff(a.r.Holder())
		time.Sleep(2 * period)
		synctest.Wait()

		require.False(t, aEnded.IsZero(), "a's cycle ended")
		require.False(t, bStarted.IsZero(), "b took over")
		require.True(t, aEnded.Before(bStarted), "a ended at %s, b started at %s", aEnded.Sub(cut), bStarted.Sub(cut))
		require.Zero(t, a.held())
		require.Equal(t, 1.0, b.held())
		require.Contains(t, a.logs.String(), "lost the job's lease")
		require.Equal(t, 1, strings.Count(a.logs.String(), "cannot renew"), "one line while the store is away:\n%s", a.logs)
		a.stop()
		b.stop()
		synctest.Wait()
	})
}

func TestLongCycleKeepsTheLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMem()
		a, b := newReplica(st), newReplica(st)
		a.start(t.Context(), time.Minute, func(ctx context.Context) error {
			select {
			case <-ctx.Done():
			case <-time.After(3 * time.Minute): // six lease periods
			}
			return ctx.Err()
		}, nil)
		synctest.Wait()
		b.start(t.Context(), time.Minute, nil, nil)
		time.Sleep(7 * time.Minute)
		synctest.Wait()
		require.Equal(t, int64(3), a.cycles.Load(), "cycles back to back, at 0, 3m and 6m")
		require.Zero(t, b.cycles.Load())
		require.Equal(t, 1.0, a.held())
		a.stop()
		b.stop()
		synctest.Wait()
	})
}

func TestWakeRunsOnAnyReplica(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMem()
		a, b := newReplica(st), newReplica(st)
		a.start(t.Context(), 15*time.Second, nil, nil)
		synctest.Wait()
		wake := make(chan struct{}, 1)
		b.start(t.Context(), 15*time.Second, nil, wake)
		time.Sleep(time.Second)
		wake <- struct{}{}
		synctest.Wait()
		require.Equal(t, int64(1), b.cycles.Load(), "what b queued goes out from b at once")
		require.Zero(t, b.held(), "a still holds the lease")
		time.Sleep(time.Minute)
		synctest.Wait()
		require.Equal(t, int64(1), b.cycles.Load(), "b's periodic cycles are a's")
		require.Equal(t, int64(5), a.cycles.Load(), "a: at start, then every 15s")
		a.stop()
		b.stop()
		synctest.Wait()
	})
}

func TestCycleErrorsAreLoggedAndCyclesGoOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newReplica(newMem())
		a.start(t.Context(), time.Minute, func(context.Context) error { return errors.New("influxdb down") }, nil)
		time.Sleep(2*time.Minute + time.Second)
		synctest.Wait()
		require.Equal(t, int64(3), a.cycles.Load())
		require.Equal(t, 3, strings.Count(a.logs.String(), "influxdb down"), "got logs:\n%s", a.logs)
		a.stop()
		synctest.Wait()
	})
}

func TestHoldersDiffer(t *testing.T) {
	a, b := newReplica(newMem()), newReplica(newMem())
	require.NotEqual(t, a.r.Holder(), b.r.Holder(), "two runners in one process are two holders")
}
