package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// rateLimitTests cover store.RateLimits and store.FailureCounts.
var rateLimitTests = []test{
	{"RateLimitWindows", testRateLimit},
	{"FailureCounts", testFailureCounts},
}

func testRateLimit(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)
	var n int
	var err error
	for range 3 {
		n, _, err = s.Hit(ctx, "key:org1", time.Minute, now)
		require.NoError(t, err)
	}
	require.Equal(t, 3, n)
	require.NoError(t, s.Unhit(ctx, "key:org1"))
	n, reset, err := s.Hit(ctx, "key:org1", time.Minute, now.Add(30*time.Second))
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.True(t, reset.Equal(now.Add(time.Minute)), "the window ends a minute after its first attempt, not %s", reset)
	n, _, err = s.Hit(ctx, "key:org2", time.Minute, now)
	require.NoError(t, err)
	require.Equal(t, 1, n, "buckets are separate")
	n, _, err = s.Hit(ctx, "key:org1", time.Minute, now.Add(61*time.Second))
	require.NoError(t, err)
	require.Equal(t, 1, n, "a new window starts over")

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { _, _, _ = s.Hit(ctx, "race", time.Hour, now) })
	}
	wg.Wait()
	n, _, err = s.Hit(ctx, "race", time.Hour, now)
	require.NoError(t, err)
	require.Equal(t, 21, n, "concurrent attempts are all counted")
}

// testFailureCounts: a count lasts while failures keep coming, starts over
// after an idle period, and counts every concurrent failure.
func testFailureCounts(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)
	idle := time.Hour
	n, last, err := s.Failures(ctx, "fail:a", idle, now)
	require.NoError(t, err)
	require.Zero(t, n, "no failures yet")
	require.True(t, last.IsZero())
	for i := range 3 {
		n, err = s.Fail(ctx, "fail:a", idle, now.Add(time.Duration(i)*50*time.Minute))
		require.NoError(t, err)
	}
	require.Equal(t, 3, n, "each failure within the idle period of the one before counts on")
	at := now.Add(100 * time.Minute)
	n, last, err = s.Failures(ctx, "fail:a", idle, at.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.True(t, last.Equal(at), "the latest failure is %s, not %s", at, last)
	n, _, err = s.Failures(ctx, "fail:a", idle, at.Add(idle))
	require.NoError(t, err)
	require.Zero(t, n, "an idle bucket counts nothing")
	n, err = s.Fail(ctx, "fail:a", idle, at.Add(idle))
	require.NoError(t, err)
	require.Equal(t, 1, n, "a failure after the idle period starts over")
	n, _, err = s.Failures(ctx, "fail:b", idle, now)
	require.NoError(t, err)
	require.Zero(t, n, "buckets are separate")
	require.NoError(t, s.Forget(ctx, "fail:a"))
	require.NoError(t, s.Forget(ctx, "fail:none"))
	n, _, err = s.Failures(ctx, "fail:a", idle, at.Add(idle))
	require.NoError(t, err)
	require.Zero(t, n, "a forgotten bucket counts nothing")

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { _, _ = s.Fail(ctx, "fail:race", idle, now) })
	}
	wg.Wait()
	n, _, err = s.Failures(ctx, "fail:race", idle, now)
	require.NoError(t, err)
	require.Equal(t, 20, n, "concurrent failures are all counted")
}
