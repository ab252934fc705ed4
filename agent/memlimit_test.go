package agent

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSoftMemoryLimit: automatic, the agent keeps Go's soft memory limit at
// the live heap plus headroom, far below what GOGC=100 alone allows when
// much is live; a fixed value is set as it is; -1 leaves the limit alone;
// the limit found is put back at the end.
func TestSoftMemoryLimit(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "") // the test sets the limit itself
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	orig := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(orig)
	ballast := make([]byte, 64<<20) // live: the limit follows it
	for i := range ballast {
		ballast[i] = byte(i)
	}
	runtime.GC()

	for _, tc := range []struct {
		name     string
		mb       int
		min, max int64
	}{
		{"automatic", 0, 64<<20 + minHeadroom, 64<<20 + 48<<20 + 16<<20}, // live, three quarters of it, the runtime's own
		{"fixed", 200, 200 << 20, 200 << 20},
		{"off", -1, orig, orig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { limitMemory(ctx, tc.mb, log); close(done) }()
			defer func() { cancel(); <-done }() // also when the test fails: the next must not see this one's limit
			var got int64
			require.Eventually(t, func() bool {
				got = debug.SetMemoryLimit(-1)
				return got >= tc.min && got <= tc.max
			}, 10*time.Second, 10*time.Millisecond, "limit %d", got)
			cancel()
			<-done
			if tc.mb == 0 {
				require.Less(t, got, int64(2*64<<20+16<<20), "below twice the live heap, where GOGC=100 lets it grow, with the runtime's own")
			}
			require.Equal(t, orig, debug.SetMemoryLimit(-1), "the limit found is back")
		})
	}
	runtime.KeepAlive(ballast)

	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	require.Equal(t, metrics.KindUint64, s[0].Value.Kind(), "the runtime reports the live heap")
}

// GOMEMLIMIT in the environment wins over the config.
func TestSoftMemoryLimitLeavesGOMEMLIMIT(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "1GiB")
	orig := debug.SetMemoryLimit(-1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	limitMemory(ctx, 100, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.Equal(t, orig, debug.SetMemoryLimit(-1))
}

func TestMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name                      string
		live, objects, own, limit int64
	}{
		{"little live: the least headroom", 10 * mib, 12 * mib, 8 * mib, 10*mib + minHeadroom + 8*mib},
		{"much live: three quarters of it", 60 * mib, 70 * mib, 8 * mib, 105*mib + 8*mib},
		{"the heap grew past it: above the heap", 20 * mib, 50 * mib, 8 * mib, 50*mib + minHeadroom/2 + 8*mib},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.limit, memoryLimit(tc.live, tc.objects, tc.own))
		})
	}
}
