package api_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/api"
	"github.com/kpilot/kpilot/server/ingest"
)

// bomb returns a batch that decompresses to a header and size bytes of
// zeros: members (gzip) or frames (zstd) of 1 MiB each, concatenated,
// which a decoder reads as one stream. No member says the size of the
// whole, so only decompressing finds it.
func bomb(t *testing.T, coding string, size int) []byte {
	t.Helper()
	compress := func(p []byte) []byte {
		var buf bytes.Buffer
		var w io.WriteCloser
		switch coding {
		case "gzip":
			zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			require.NoError(t, err)
			w = zw
		case "zstd":
			// A stream: its frame does not say its size up front.
			zw, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedBestCompression))
			require.NoError(t, err)
			w = zw
		}
		_, err := w.Write(p)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		return buf.Bytes()
	}
	out := compress([]byte(`{"version":2,"id":"` + uuid.NewString() + `"}` + "\n"))
	mib := compress(make([]byte, 1<<20))
	for range size >> 20 {
		out = append(out, mib...)
	}
	return out
}

// procStatus reads a field of /proc/self/status in bytes.
func procStatus(t *testing.T, field string) uint64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// goMemory is the memory the Go runtime holds from the OS and has not
// given back: what the process's resident size is made of, without the
// race detector's shadow memory.
func goMemory() uint64 {
	ms := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(ms)
	return ms[0].Value.Uint64() - ms[1].Value.Uint64()
}

// TestIngestBombsBoundMemory sends four 1 GiB decompression bombs at once,
// of each coding, with the default limits, and measures how much the
// process's memory grew at its peak: under 256 MiB, as docs/kpis.md
// says, and each bomb is answered 413. The resident size's peak (VmHWM,
// reset before) is the measure; under the race detector, whose shadow
// memory inflates it, the Go runtime's own figure, sampled, is.
func TestIngestBombsBoundMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self")
	}
	e := newEnvWith(t, nil, "http://127.0.0.1:1", func(l *api.Limits) {
		// The defaults, with four bombs of one agent decoded at once.
		l.Ingest = ingest.DefaultLimits()
		l.Ingest.Concurrency, l.Ingest.PerAgent = 4, 4
	})
	for _, coding := range []string{"gzip", "zstd"} {
		t.Run(coding, func(t *testing.T) {
			b := bomb(t, coding, 1<<30)
			t.Logf("%s bomb: %d KiB for 1 GiB", coding, len(b)>>10)
			runtime.GC()
			debug.FreeOSMemory()
			// Writing 5 to clear_refs resets the peak (VmHWM) to the
			// current resident size.
			require.NoError(t, os.WriteFile("/proc/self/clear_refs", []byte("5"), 0))
			base, goBase := procStatus(t, "VmRSS"), goMemory()
			var goPeak atomic.Uint64
			done := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				for {
					if m := goMemory(); m > goPeak.Load() {
						goPeak.Store(m)
					}
					select {
					case <-done:
						return
					case <-time.After(time.Millisecond):
					}
				}
			}()
			var wg sync.WaitGroup
			codes := make([]int, 4)
			for i := range codes {
				wg.Go(func() {
					r := e.post(e.cred, b, func(r *http.Request) { r.Header.Set("Content-Encoding", coding) })
					codes[i] = r.code
				})
			}
			wg.Wait()
			close(done)
			<-sampled
			added, goAdded := procStatus(t, "VmHWM")-base, goPeak.Load()-min(goBase, goPeak.Load())
			t.Logf("four %s bombs at once: peak resident memory +%d MiB, Go runtime +%d MiB", coding, added>>20, goAdded>>20)
			for _, c := range codes {
				require.Equal(t, http.StatusRequestEntityTooLarge, c)
			}
			if !raceEnabled {
				require.Less(t, added, uint64(256<<20), "four bombs add under 256 MiB")
			}
			require.Less(t, goAdded, uint64(256<<20), "four bombs add under 256 MiB")
		})
	}
}
