package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/wire"
	"github.com/kpilot/kpilot/server/store"
)

// writerFunc is a Writer for failures a real InfluxDB seldom shows on cue.
type writerFunc func(ctx context.Context, lines []byte) error

func (f writerFunc) Write(ctx context.Context, lines []byte) error { return f(ctx, lines) }

func body(t *testing.T, samples string) []byte {
	t.Helper()
	b, err := (&wire.Batch{Version: wire.Version, ID: uuid.NewString(), Samples: samples}).Marshal()
	require.NoError(t, err)
	return b
}

func TestIngestResultsAndErrors(t *testing.T) {
	in, ag := agentIngester(t)
	at := time.Now().Add(-time.Minute).UnixNano()
	down := New(in.store, writerFunc(func(context.Context, []byte) error { return errors.New("connection refused") }),
		Limits{InfluxRetries: -1}, in.log, prometheus.NewRegistry())
	small := New(in.store, nil, Limits{MaxBytes: 100}, in.log, prometheus.NewRegistry())
	tests := []struct {
		name    string
		in      *Ingester
		body    []byte
		coding  string
		want    Status
		wantErr any // a pointer to the error type wanted
		msg     string
	}{
		{name: "a batch of nothing is stored", in: in, body: body(t, ""), want: Stored},
		{name: "every point refused", in: in, body: body(t, fmt.Sprintf("Bad,asset=sw1 v=1 %d\n", at)),
			wantErr: new(*RefusedError), msg: `no point of the batch can be stored: line 1: invalid measurement name "Bad"`},
		{name: "malformed", in: in, body: []byte("not gzip"), coding: wire.Gzip,
			wantErr: new(*MalformedError), msg: "malformed batch: the body is not gzip"},
		{name: "over the compressed limit", in: small, body: bytes.Repeat([]byte{0x1f}, 101),
			wantErr: new(*TooLargeError), msg: "batch too large: at most 100 bytes compressed and 16777216 bytes decompressed"},
		{name: "InfluxDB down", in: down, body: body(t, fmt.Sprintf("m,asset=sw1 v=1 %d\n", at)),
			wantErr: new(*UnavailableError), msg: "InfluxDB is unavailable: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			coding := tt.coding
			if coding == "" {
				coding = wire.Gzip
			}
			res, err := tt.in.Ingest(t.Context(), ag, "1.0", bytes.NewReader(tt.body), coding)
			if tt.wantErr != nil {
				require.ErrorAs(t, err, tt.wantErr)
				require.EqualError(t, err, tt.msg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, res.Status)
		})
	}

	t.Run("a retried batch is a duplicate", func(t *testing.T) {
		b := body(t, "")
		res, err := in.Ingest(t.Context(), ag, "", bytes.NewReader(b), wire.Gzip)
		require.NoError(t, err)
		require.Equal(t, Stored, res.Status)
		res, err = in.Ingest(t.Context(), ag, "", bytes.NewReader(b), wire.Gzip)
		require.NoError(t, err)
		require.Equal(t, Duplicate, res.Status)
	})

	t.Run("busy when every slot is taken", func(t *testing.T) {
		busy := New(in.store, nil, Limits{Concurrency: 1, QueueWait: 10 * time.Millisecond}, in.log, prometheus.NewRegistry())
		release, ok := busy.slot(t.Context())
		require.True(t, ok)
		defer release()
		_, err := busy.Ingest(t.Context(), ag, "", bytes.NewReader(body(t, "")), wire.Gzip)
		require.ErrorIs(t, err, ErrBusy)
	})
}

func TestBodyReaderStopsAfterTheLimit(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		wantErr bool
	}{
		{"under", 99, false},
		{"at the limit", 100, false},
		{"one over", 101, true},
		{"far over", 1 << 20, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := &bodyReader{r: bytes.NewReader(make([]byte, tt.size)), max: 100}
			var buf bytes.Buffer
			_, err := buf.ReadFrom(br)
			if tt.wantErr {
				require.ErrorIs(t, err, errBodyTooLarge)
				require.LessOrEqual(t, br.n, int64(101), "reads stop one byte past the limit")
				return
			}
			require.NoError(t, err)
			require.Equal(t, int64(tt.size), br.n)
		})
	}
}

// TestClaimedBatchWaitsForTheOtherRequest: a request whose batch id is
// claimed by another (on this server or a replica) waits for the other's
// outcome: a failed write released the claim, so it stores the batch; a
// stored one is a duplicate; one still pending after QueueWait is
// ErrPending, and nothing was written.
func TestClaimedBatchWaitsForTheOtherRequest(t *testing.T) {
	base, ag := agentIngester(t)
	st := base.store
	writes := 0
	in := New(st, writerFunc(func(context.Context, []byte) error { writes++; return nil }),
		Limits{QueueWait: 300 * time.Millisecond}, base.log, prometheus.NewRegistry())
	at := time.Now().Add(-time.Minute).UnixNano()
	batch := func() (*wire.Batch, []byte) {
		b := &wire.Batch{Version: wire.Version, ID: uuid.NewString(), Samples: fmt.Sprintf("m,asset=sw1 v=1 %d\n", at)}
		data, err := b.Marshal()
		require.NoError(t, err)
		return b, data
	}
	claimOther := func(id string) {
		now := time.Now()
		c, err := st.ClaimBatch(t.Context(), ag.ID, id, "other", now, now.Add(time.Minute))
		require.NoError(t, err)
		require.Equal(t, store.BatchClaimed, c)
	}
	tests := []struct {
		name    string
		other   func(id string) // what the other request does 100 ms after the claim
		want    Status
		wantErr error
		writes  int
	}{
		{"the other stored it: duplicate", func(id string) {
			require.NoError(t, st.RecordBatch(t.Context(), ag.ID, id, time.Now()))
		}, Duplicate, nil, 0},
		{"the other failed: this one stores it", func(id string) {
			require.NoError(t, st.ReleaseBatch(t.Context(), ag.ID, id, "other"))
		}, Stored, nil, 1},
		{"the other is not done: retry later", func(string) {}, "", ErrPending, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writes = 0
			b, data := batch()
			claimOther(b.ID)
			time.AfterFunc(100*time.Millisecond, func() { tt.other(b.ID) })
			res, err := in.Ingest(t.Context(), ag, "", bytes.NewReader(data), wire.Gzip)
			require.ErrorIs(t, err, tt.wantErr)
			require.Equal(t, tt.want, res.Status)
			require.Equal(t, tt.writes, writes)
		})
	}

	t.Run("a failed write releases the claim for the retry", func(t *testing.T) {
		fail := true
		flaky := New(st, writerFunc(func(context.Context, []byte) error {
			if fail {
				return errors.New("connection refused")
			}
			return nil
		}), Limits{InfluxRetries: -1}, base.log, prometheus.NewRegistry())
		_, data := batch()
		_, err := flaky.Ingest(t.Context(), ag, "", bytes.NewReader(data), wire.Gzip)
		require.ErrorAs(t, err, new(*UnavailableError))
		fail = false
		start := time.Now()
		res, err := flaky.Ingest(t.Context(), ag, "", bytes.NewReader(data), wire.Gzip)
		require.NoError(t, err)
		require.Equal(t, Stored, res.Status)
		require.Less(t, time.Since(start), time.Second, "the retry did not wait for a claim")
	})
}
