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
