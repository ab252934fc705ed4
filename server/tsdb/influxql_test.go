package tsdb

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
)

func TestIntegrationInfluxQLDecodesValues(t *testing.T) {
	influx := devenv.Influx(t)
	ts := New(Options{URL: influx.URL, Database: influx.Database, Timeout: 10 * time.Second})
	t.Cleanup(ts.Close)
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	lines := "m,asset=1.2,k=v i=5i,f=2.5,g=3,b=true,s=\"x\\\"y\" " + strconv.FormatInt(at.UnixNano(), 10) + "\n"
	require.NoError(t, ts.Write(t.Context(), []byte(lines)))

	got, err := ts.InfluxQL(t.Context(), "test values", `SELECT * FROM "m" WHERE "asset" = '1.2' GROUP BY "k"`)
	require.NoError(t, err)
	require.Equal(t, []QLSeries{{
		Measurement: "m", Tags: map[string]string{"k": "v"},
		Columns: []string{"time", "asset", "b", "f", "g", "i", "s"},
		// g=3 is a float field, but JSON writes it as 3: it reads as int64.
		Values: [][]any{{at, "1.2", true, 2.5, int64(3), int64(5), `x"y`}},
	}}, got)
}

func TestIntegrationInfluxQLRefusedQuery(t *testing.T) {
	influx := devenv.Influx(t)
	ts := New(Options{URL: influx.URL, Bucket: influx.Bucket})
	t.Cleanup(ts.Close)
	for _, tc := range []struct{ name, q, msg string }{
		{"parse error", `SELECT FROM`, "error parsing query"},
		{"statement error", `SELECT * FROM "nodb".."m"`, "database not found: nodb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ts.InfluxQL(t.Context(), "a test read", tc.q)
			var qe *QueryError
			require.ErrorAs(t, err, &qe)
			require.Equal(t, "a test read", qe.Purpose)
			require.Contains(t, err.Error(), "reading a test read: InfluxDB refused the query: "+tc.msg)
			require.False(t, errors.Is(err, ErrUnavailable), "a refused query must not read as unavailable")
		})
	}
}

func TestInfluxQLTimeout(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the request first: only then does the server notice
		// the client giving up, and end r's context.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	ts := New(Options{URL: slow.URL, Database: "kpilot", QueryTimeout: 100 * time.Millisecond})
	t.Cleanup(ts.Close)
	start := time.Now()
	_, err := ts.InfluxQL(t.Context(), "latest values of asset 0bdf7d2b", `SELECT * FROM "m"`)
	require.Less(t, time.Since(start), 2*time.Second)
	require.EqualError(t, err, "reading latest values of asset 0bdf7d2b: InfluxDB did not answer within 100ms")
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestInfluxQLUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
	}{{"5xx", http.StatusServiceUnavailable}, {"overloaded", http.StatusTooManyRequests}, {"unauthorized", http.StatusUnauthorized}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, `{"error":"nope"}`, tc.status)
			}))
			t.Cleanup(srv.Close)
			ts := New(Options{URL: srv.URL, Database: "kpilot"})
			t.Cleanup(ts.Close)
			_, err := ts.InfluxQL(t.Context(), "x", `SELECT * FROM "m"`)
			require.ErrorIs(t, err, ErrUnavailable)
			require.ErrorContains(t, err, "reading x: ")
			require.ErrorContains(t, err, "nope")
		})
	}
	ts := New(Options{URL: "http://127.0.0.1:1", Database: "kpilot"})
	_, err := ts.InfluxQL(t.Context(), "x", `SELECT * FROM "m"`)
	require.ErrorIs(t, err, ErrUnavailable)
}

func TestInfluxQLSendsParameters(t *testing.T) {
	var got http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		got = *r
		w.Write([]byte(`{"results":[{"statement_id":0}]}`))
	}))
	t.Cleanup(srv.Close)
	ts := New(Options{URL: srv.URL + "/", Bucket: "kpilot/short", Token: "tok"})
	t.Cleanup(ts.Close)
	s, err := ts.InfluxQL(t.Context(), "x", `SELECT 1`)
	require.NoError(t, err)
	require.Empty(t, s)
	require.Equal(t, "/query", got.URL.Path)
	require.Equal(t, http.MethodPost, got.Method)
	require.Equal(t, "Token tok", got.Header.Get("Authorization"))
	require.Equal(t, "kpilot", got.PostForm.Get("db"))
	require.Equal(t, "short", got.PostForm.Get("rp"))
	require.Equal(t, "ns", got.PostForm.Get("epoch"))
	require.Equal(t, "SELECT 1", got.PostForm.Get("q"))
}

func TestInfluxQLBoundsTheAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","v"],"values":[`))
		for k := range 100 {
			if k > 0 {
				w.Write([]byte(","))
			}
			w.Write([]byte(`[1,"0123456789012345678901234567890123456789"]`))
		}
		w.Write([]byte(`]}]}]}`))
	}))
	t.Cleanup(srv.Close)
	ts := New(Options{URL: srv.URL, Database: "kpilot"})
	t.Cleanup(ts.Close)
	s, err := ts.InfluxQL(t.Context(), "x", `SELECT "v" FROM "m"`)
	require.NoError(t, err)
	require.Len(t, s[0].Values, 100)
	ts.maxAnswer = 1000
	_, err = ts.InfluxQL(t.Context(), "x", `SELECT "v" FROM "m"`)
	require.EqualError(t, err, "reading x: InfluxDB's answer exceeds 1000 bytes; read a shorter period or fewer assets")
}

func TestQuoting(t *testing.T) {
	require.Equal(t, `"a\"b\\c\'d\n"`, quoteIdent("a\"b\\c'd\n"))
	require.Equal(t, `'a\"b\\c\'d\n'`, quoteString("a\"b\\c'd\n"))
	require.Equal(t, `'2026-01-02T02:04:05.5Z'`, qlTime(time.Date(2026, 1, 2, 3, 4, 5, 5e8, time.FixedZone("CET", 3600))))
}
