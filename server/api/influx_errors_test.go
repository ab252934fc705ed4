package api_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
)

// TestInfluxReadErrors: a query InfluxDB refuses is 502 naming the read,
// and a read InfluxDB does not answer within the query timeout is 504
// saying so; neither relays more of InfluxDB than its short message.
func TestInfluxReadErrors(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		w := newWorldInflux(t, devenv.Influx(t))
		as := w.assets["a_root"]
		line := fmt.Sprintf(`cpu,asset=%s note="text" %d`, as.SeriesID, time.Now().Add(-time.Minute).UnixNano())
		require.NoError(t, w.tsdb.Write(t.Context(), []byte(line)))
		// The mean of a string field: InfluxDB refuses it.
		q := url.Values{"measurement": {"cpu"}, "field": {"note"}, "every": {"1m"}, "fn": {"mean"}}
		r := w.do("acme_admin", "GET", "/api/v1/assets/"+as.ID+"/series?"+q.Encode(), nil)
		require.Equal(t, http.StatusBadGateway, r.code, "%s", r.raw)
		require.Equal(t, "reading series cpu.note of asset "+as.ID+
			": InfluxDB refused the query: unsupported mean iterator type: *query.stringInterruptIterator", r.body["error"])
		require.Empty(t, r.header.Get("Retry-After"), "the same read fails again")
	})
	t.Run("timeout", func(t *testing.T) {
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body) // so that the server sees the client give up
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}))
		t.Cleanup(slow.Close)
		w := newWorldReads(t, slow.URL, 300*time.Millisecond)
		as := w.assets["a_root"]
		for _, path := range []string{"/latest", "/availability", "/usage"} {
			start := time.Now()
			r := w.do("acme_admin", "GET", "/api/v1/assets/"+as.ID+path, nil)
			require.Less(t, time.Since(start), 5*time.Second, path)
			require.Equal(t, http.StatusGatewayTimeout, r.code, "%s: %s", path, r.raw)
			require.Contains(t, r.body["error"], "InfluxDB did not answer within 300ms", path)
			require.NotContains(t, r.body["error"], "127.0.0.1", path)
		}
	})
}
