package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/wire"
	"github.com/kpilot/kpilot/server/tsdb"
)

func TestSplitLines(t *testing.T) {
	var in bytes.Buffer
	for i := range 1000 {
		fmt.Fprintf(&in, "m,asset=1.%d v=%d %d\n", i%7, i, i)
	}
	for _, n := range []int{1, 2, 3, 4} {
		t.Run(fmt.Sprint(n, " parts"), func(t *testing.T) {
			parts := splitLines(in.Bytes(), n)
			require.Len(t, parts, n)
			require.Equal(t, in.Bytes(), bytes.Join(parts, nil), "the parts are the lines, in order, once")
			for _, p := range parts {
				require.True(t, bytes.HasSuffix(p, []byte("\n")), "a part ends at a line end")
				require.InDelta(t, in.Len()/n, len(p), float64(in.Len()/n/10), "parts are about equal")
			}
		})
	}
}

// recorder is a Writer that keeps what it is given and fails on cue.
type recorder struct {
	mu    sync.Mutex
	parts [][]byte
	fail  func(part []byte) error
}

func (r *recorder) Write(_ context.Context, lines []byte) error {
	r.mu.Lock()
	r.parts = append(r.parts, bytes.Clone(lines))
	r.mu.Unlock()
	if r.fail != nil {
		return r.fail(lines)
	}
	return nil
}

func batchOfLines(t *testing.T, n int) []byte {
	var b strings.Builder
	at := time.Now().Add(-time.Hour).UnixNano()
	for i := range n {
		fmt.Fprintf(&b, "interface,asset=sw%d,ifindex=%d in_octets=%di %d\n", i%10, i%48, i, at+int64(i))
	}
	return body(t, b.String())
}

// TestLargeBatchWrittenInParts: a lone large batch goes to InfluxDB as
// WriteParts requests that hold every line once; a part that fails
// fails the batch; a part InfluxDB partly refused reports its refusals.
func TestLargeBatchWrittenInParts(t *testing.T) {
	base, ag := agentIngester(t)
	const lines = 4000
	t.Run("every line in one of four parts", func(t *testing.T) {
		rec := &recorder{}
		in := New(base.store, rec, Limits{WriteParts: 4}, base.log, prometheus.NewRegistry())
		res, err := in.Ingest(t.Context(), ag, "", bytes.NewReader(batchOfLines(t, lines)), wire.Gzip)
		require.NoError(t, err)
		require.Equal(t, lines, res.Accepted)
		require.Len(t, rec.parts, 4)
		var all []string
		for _, p := range rec.parts {
			all = append(all, strings.Split(strings.TrimSuffix(string(p), "\n"), "\n")...)
		}
		require.Len(t, all, lines)
		slices.Sort(all)
		require.Len(t, slices.Compact(all), lines, "no line twice")
	})
	t.Run("small batches and busy servers write once", func(t *testing.T) {
		rec := &recorder{}
		in := New(base.store, rec, Limits{WriteParts: 4}, base.log, prometheus.NewRegistry())
		_, err := in.Ingest(t.Context(), ag, "", bytes.NewReader(batchOfLines(t, 1500)), wire.Gzip)
		require.NoError(t, err)
		require.Len(t, rec.parts, 1, "1,500 lines are one part")
		rec.parts = nil
		for range 3 { // three other batches in flight
			release, ok := in.slot(t.Context())
			require.True(t, ok)
			defer release()
		}
		_, err = in.Ingest(t.Context(), ag, "", bytes.NewReader(batchOfLines(t, lines)), wire.Gzip)
		require.NoError(t, err)
		require.Len(t, rec.parts, 1, "with four in flight each writes whole")

		rec.parts = nil
		def := New(base.store, rec, Limits{}, base.log, prometheus.NewRegistry())
		_, err = def.Ingest(t.Context(), ag, "", bytes.NewReader(batchOfLines(t, lines)), wire.Gzip)
		require.NoError(t, err)
		require.Len(t, rec.parts, 2, "two parts by default")
	})
	t.Run("one failed part fails the batch", func(t *testing.T) {
		var n int
		var mu sync.Mutex
		rec := &recorder{fail: func([]byte) error {
			mu.Lock()
			defer mu.Unlock()
			if n++; n == 2 {
				return fmt.Errorf("%w: timeout", tsdb.ErrUnavailable)
			}
			return nil
		}}
		in := New(base.store, rec, Limits{InfluxRetries: -1, WriteParts: 4}, base.log, prometheus.NewRegistry())
		_, err := in.Ingest(t.Context(), ag, "", bytes.NewReader(batchOfLines(t, lines)), wire.Gzip)
		var ue *UnavailableError
		require.ErrorAs(t, err, &ue)
	})
	t.Run("refusals of every part are reported", func(t *testing.T) {
		rec := &recorder{fail: func(p []byte) error { return &tsdb.PartialWriteError{Msg: fmt.Sprintf("part of %d bytes", len(p))} }}
		in := New(base.store, rec, Limits{WriteParts: 4}, base.log, prometheus.NewRegistry())
		res, err := in.Ingest(t.Context(), ag, "", bytes.NewReader(batchOfLines(t, lines)), wire.Gzip)
		require.NoError(t, err)
		require.Equal(t, 4, strings.Count(strings.Join(res.Rejections, " "), "part of"), "%v", res.Rejections)
	})
}

// TestLargeBatchInPartsReachesInfluxDB: the parts of a batch written to a
// real influxd (two by default) hold every point.
func TestLargeBatchInPartsReachesInfluxDB(t *testing.T) {
	influx := devenv.Influx(t)
	base, ag := agentIngester(t)
	ts := tsdb.New(tsdb.Options{URL: influx.URL, Bucket: influx.Bucket, Timeout: 10 * time.Second})
	defer ts.Close()
	in := New(base.store, ts, Limits{}, base.log, prometheus.NewRegistry())
	const lines = 5000
	res, err := in.Ingest(t.Context(), ag, "", bytes.NewReader(batchOfLines(t, lines)), wire.Gzip)
	require.NoError(t, err)
	require.Equal(t, lines, res.Accepted)
	resp, err := http.PostForm(influx.URL+"/query", url.Values{"db": {influx.Database}, "epoch": {"ns"}, "q": {`SELECT count("in_octets") FROM "interface"`}})
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		Results []struct {
			Series []struct{ Values [][]float64 }
		}
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Len(t, out.Results, 1)
	require.Len(t, out.Results[0].Series, 1)
	require.Equal(t, float64(lines), out.Results[0].Series[0].Values[0][1], "every point is stored")
}
