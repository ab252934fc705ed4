package portal_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/yamlconf"
	"github.com/kpilot/kpilot/server"
)

// TestSlowInfluxDBIsNamed: when InfluxDB does not answer a read in time,
// the asset page says so, rather than a generic error.
func TestSlowInfluxDBIsNamed(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so that the server sees the client give up
		if r.URL.Path != "/query" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	s := newSite(t, func(c *server.Config) {
		c.InfluxDB.URL = slow.URL
		c.InfluxDB.QueryTimeout = yamlconf.Duration(time.Second)
	})
	b := s.browser()
	b.login("admin@acme.example")
	as := s.assets["Acme ESX"]
	p := b.get("/assets/" + as.ID + "?lang=en")
	require.Equal(t, http.StatusGatewayTimeout, p.code)
	require.Contains(t, p.body, "The time-series database could not answer: reading latest values of asset "+as.ID+
		": InfluxDB did not answer within 1s")
}
