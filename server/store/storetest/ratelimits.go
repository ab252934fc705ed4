package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// rateLimitTests cover store.RateLimits.
var rateLimitTests = []test{
	{"RateLimitWindows", testRateLimit},
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
