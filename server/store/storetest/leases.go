package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

var leaseTests = []test{
	{"LeaseAcquireRenewExpire", testLeaseLifecycle},
	{"LeaseRelease", testLeaseRelease},
	{"LeaseOneOfManyRacing", testLeaseRace},
}

func acquire(t *testing.T, s store.Store, name, holder string, now time.Time) bool {
	t.Helper()
	ok, err := s.AcquireLease(t.Context(), name, holder, now, time.Minute)
	require.NoError(t, err)
	return ok
}

func testLeaseLifecycle(t *testing.T, s store.Store) {
	t0 := time.Now().Truncate(time.Millisecond)
	steps := []struct {
		name   string
		holder string
		at     time.Duration // after t0; every lease lasts a minute
		want   bool
	}{
		{"a takes the free lease", "a", 0, true},
		{"b waits while a holds it", "b", 30 * time.Second, false},
		{"a renews before it expires", "a", 50 * time.Second, true},
		{"b waits past a's first expiry: the renewal counts", "b", 70 * time.Second, false},
		{"b waits until a's renewal expires", "b", 109 * time.Second, false},
		{"b takes it over once it has expired", "b", 110 * time.Second, true},
		{"a finds it gone", "a", 111 * time.Second, false},
		{"b renews", "b", 112 * time.Second, true},
	}
	for _, st := range steps {
		require.Equal(t, st.want, acquire(t, s, "checkups", st.holder, t0.Add(st.at)), st.name)
	}
	require.True(t, acquire(t, s, "webhooks", "a", t0.Add(111*time.Second)), "leases of other jobs are apart")
}

func testLeaseRelease(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Now()
	require.True(t, acquire(t, s, "housekeeping", "a", now))
	require.NoError(t, s.ReleaseLease(ctx, "housekeeping", "b"), "releasing what one does not hold is no error")
	require.False(t, acquire(t, s, "housekeeping", "b", now), "b's release left a's lease alone")
	require.NoError(t, s.ReleaseLease(ctx, "housekeeping", "a"))
	require.True(t, acquire(t, s, "housekeeping", "b", now), "a released lease is free at once")
	require.False(t, acquire(t, s, "housekeeping", "a", now))
	require.NoError(t, s.ReleaseLease(ctx, "never-taken", "a"))
}

func testLeaseRace(t *testing.T, s store.Store) {
	for _, tt := range []struct {
		name string
		seed func(now time.Time) // the lease's state before the race
	}{
		{"free", func(time.Time) {}},
		{"expired", func(now time.Time) { require.True(t, acquire(t, s, "race-expired", "old", now.Add(-2*time.Minute))) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now()
			tt.seed(now)
			won := make(chan string, 8)
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					holder := fmt.Sprintf("replica-%d", i)
					ok, err := s.AcquireLease(t.Context(), "race-"+tt.name, holder, now, time.Minute)
					if err == nil && ok {
						won <- holder
					}
				})
			}
			wg.Wait()
			close(won)
			var winners []string
			for h := range won {
				winners = append(winners, h)
			}
			require.Len(t, winners, 1, "got winners %v, want exactly one", winners)
			for i := range 8 {
				h := fmt.Sprintf("replica-%d", i)
				require.Equal(t, h == winners[0], acquire(t, s, "race-"+tt.name, h, now), "only the winner holds it: %s", h)
			}
		})
	}
}
