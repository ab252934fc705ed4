package ship

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/agent/spool"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/wire"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func batch(t *testing.T, lines int) []byte {
	t.Helper()
	var samples []kpi.Sample
	for i := range lines {
		samples = append(samples, kpi.Sample{Asset: "a", Measurement: "m", Time: time.Unix(int64(i), 0),
			Fields: map[string]any{"v": float64(i)}})
	}
	b, err := wire.NewBatch(samples, nil)
	require.NoError(t, err)
	data, err := b.Marshal()
	require.NoError(t, err)
	return data
}

// zstdBatch is batch as the agent spools it.
func zstdBatch(t *testing.T, lines int) []byte {
	t.Helper()
	data, err := wire.Recode(batch(t, lines), wire.Zstd)
	require.NoError(t, err)
	return data
}

type fixture struct {
	q       *spool.Disk
	s       *Shipper
	reg     *prometheus.Registry
	mu      sync.Mutex
	got     []*wire.Batch
	codings []string // Content-Encoding of each request
	auth    []string
}

// newFixture serves handler and records the batches it receives.
func newFixture(t *testing.T, handler func(b *wire.Batch) (int, http.Header)) *fixture {
	t.Helper()
	f := &fixture{reg: prometheus.NewRegistry()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/api/v1/ingest", r.URL.Path)
		coding := r.Header.Get("Content-Encoding")
		var d wire.Decoder
		b, err := d.Decode(r.Body, coding, 1<<20)
		require.NoError(t, err, "the body is in its Content-Encoding")
		b.Samples = strings.Clone(b.Samples)
		f.mu.Lock()
		f.got = append(f.got, b)
		f.codings = append(f.codings, coding)
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		code, h := handler(b)
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":"status %d"}`, code)
	}))
	t.Cleanup(srv.Close)
	q, err := spool.Open(t.TempDir(), spool.Options{MaxBytes: 1 << 20, Log: discard})
	require.NoError(t, err)
	f.q = q
	f.s = New(srv.Client(), srv.URL+"/", "kpa_secret", q, discard, f.reg)
	return f
}

func (f *fixture) deliverOne(t *testing.T) (time.Duration, bool) {
	t.Helper()
	e, err := f.q.Peek()
	require.NoError(t, err)
	return f.s.deliver(t.Context(), e)
}

func TestDeliverOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		code      int
		header    http.Header
		wantAcked bool
		wantWait  time.Duration // minimum
		result    string
	}{
		{"stored", 200, nil, true, 0, "sent"},
		{"busy with Retry-After", 503, http.Header{"Retry-After": {"7"}}, false, 7 * time.Second, "retried"},
		{"rate limited", 429, nil, false, 500 * time.Millisecond, "retried"},
		{"server error", 500, nil, false, 500 * time.Millisecond, "retried"},
		{"credential refused keeps data", 401, nil, false, 500 * time.Millisecond, "retried"},
		{"format the server does not read yet is kept", 415, nil, false, 500 * time.Millisecond, "retried"},
		{"malformed is dropped", 400, nil, true, 0, "dropped"},
		{"forbidden asset is dropped", 422, nil, true, 0, "dropped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(*wire.Batch) (int, http.Header) { return tt.code, tt.header })
			require.NoError(t, f.q.Append(batch(t, 3), 3))
			wait, ok := f.deliverOne(t)
			require.Equal(t, tt.wantAcked, ok)
			require.GreaterOrEqual(t, wait, tt.wantWait)
			require.Equal(t, map[bool]int{true: 0, false: 1}[tt.wantAcked], f.q.Stats().Batches)
			require.Equal(t, 1.0, testutil.ToFloat64(f.s.m.batches.WithLabelValues(tt.result)))
			require.Equal(t, "Bearer kpa_secret", f.auth[0])
		})
	}
}

func TestTooLargeIsSplit(t *testing.T) {
	for name, spooled := range map[string]func(*testing.T, int) []byte{"gzip": batch, "zstd": zstdBatch} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, func(b *wire.Batch) (int, http.Header) {
				h := http.Header{"Accept-Encoding": {wire.AcceptEncoding}}
				if b.Lines() > 2 {
					return http.StatusRequestEntityTooLarge, h
				}
				return http.StatusOK, h
			})
			require.NoError(t, f.q.Append(spooled(t, 8), 8))
			_, ok := f.deliverOne(t)
			require.True(t, ok)
			var delivered []string
			ids := map[string]bool{}
			for _, b := range f.got {
				if b.Lines() <= 2 {
					delivered = append(delivered, strings.Split(strings.TrimSpace(b.Samples), "\n")...)
					ids[b.ID] = true
				}
			}
			require.Len(t, delivered, 8, "every sample arrives once in the halves")
			require.Len(t, ids, 4, "each part has its own id")
			require.Equal(t, 0, f.q.Stats().Batches)
			require.Equal(t, name, f.codings[len(f.codings)-1], "the halves keep the spooled coding")
		})
	}
}

func TestNetworkErrorKeepsBatch(t *testing.T) {
	q, err := spool.Open(t.TempDir(), spool.Options{MaxBytes: 1 << 20, Log: discard})
	require.NoError(t, err)
	s := New(http.DefaultClient, "http://127.0.0.1:1", "kpa_x", q, discard, prometheus.NewRegistry())
	require.NoError(t, q.Append(batch(t, 1), 1))
	e, err := q.Peek()
	require.NoError(t, err)
	_, ok := s.deliver(t.Context(), e)
	require.False(t, ok)
	require.Equal(t, 1, q.Stats().Batches)
}

func TestRetryAfter(t *testing.T) {
	require.Equal(t, 30*time.Second, retryAfter("30"))
	require.Equal(t, time.Duration(0), retryAfter(""))
	require.Equal(t, time.Hour, retryAfter("999999"), "capped")
	require.InDelta(t, 60, retryAfter(time.Now().Add(time.Minute).UTC().Format(http.TimeFormat)).Seconds(), 2)
	require.Equal(t, time.Duration(0), retryAfter("soon"))
}

func TestRunStopsOnCancel(t *testing.T) {
	f := newFixture(t, func(*wire.Batch) (int, http.Header) { return 200, nil })
	require.NoError(t, f.q.Append(batch(t, 1), 1))
	ctx, cancel := contextWithCancel(t)
	done := make(chan error)
	go func() { done <- f.s.Run(ctx) }()
	require.Eventually(t, func() bool { return f.q.Stats().Batches == 0 }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, f.q.Append(batch(t, 1), 1))
	require.Eventually(t, func() bool { return f.q.Stats().Batches == 0 }, 5*time.Second, 10*time.Millisecond,
		"a new batch is sent as soon as it is spooled")
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err, "cancellation is not an error")
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// The agent spools zstd but sends it only to a server that has said it
// takes zstd (Accept-Encoding on its answers); to any other it sends
// gzip, which every server takes.
func TestZstdOnlyOnceTheServerSaysSo(t *testing.T) {
	t.Run("server that does not say", func(t *testing.T) {
		f := newFixture(t, func(*wire.Batch) (int, http.Header) { return 200, nil })
		for range 2 {
			require.NoError(t, f.q.Append(zstdBatch(t, 3), 3))
			_, ok := f.deliverOne(t)
			require.True(t, ok)
		}
		require.Equal(t, []string{wire.Gzip, wire.Gzip}, f.codings)
		require.Equal(t, 3, f.got[1].Lines())
	})
	t.Run("server that takes zstd", func(t *testing.T) {
		f := newFixture(t, func(*wire.Batch) (int, http.Header) {
			return 200, http.Header{"Accept-Encoding": {wire.AcceptEncoding}}
		})
		for range 3 {
			require.NoError(t, f.q.Append(zstdBatch(t, 3), 3))
			_, ok := f.deliverOne(t)
			require.True(t, ok)
		}
		require.Equal(t, []string{wire.Gzip, wire.Zstd, wire.Zstd}, f.codings)
		require.Equal(t, 3, f.got[2].Lines())
		// Batches spooled as gzip by an older agent go as they are.
		require.NoError(t, f.q.Append(batch(t, 2), 2))
		_, ok := f.deliverOne(t)
		require.True(t, ok)
		require.Equal(t, wire.Gzip, f.codings[3])
	})
}

// A server that stops taking zstd (replaced by an older one behind the
// same name) answers 415: the batch goes again at once as gzip instead of
// being dropped as refused.
func TestZstdRefusedIsResentAsGzip(t *testing.T) {
	var codings []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		coding := r.Header.Get("Content-Encoding")
		codings = append(codings, coding)
		if coding != wire.Gzip {
			w.WriteHeader(http.StatusUnsupportedMediaType)
			fmt.Fprint(w, `{"error":"Content-Encoding must be gzip"}`)
			return
		}
		_, err := wire.Decode(r.Body, 1<<20)
		require.NoError(t, err)
	}))
	defer srv.Close()
	q, err := spool.Open(t.TempDir(), spool.Options{MaxBytes: 1 << 20, Log: discard})
	require.NoError(t, err)
	s := New(srv.Client(), srv.URL, "kpa_secret", q, discard, prometheus.NewRegistry())
	s.zstd.Store(true) // as a newer server had said
	require.NoError(t, q.Append(zstdBatch(t, 3), 3))
	e, err := q.Peek()
	require.NoError(t, err)
	_, ok := s.deliver(t.Context(), e)
	require.True(t, ok)
	require.Equal(t, []string{wire.Zstd, wire.Gzip}, codings)
	require.Equal(t, 0, q.Stats().Batches, "stored, not dropped")
	require.Equal(t, 1.0, testutil.ToFloat64(s.m.batches.WithLabelValues("sent")))
	require.False(t, s.zstd.Load())
}
