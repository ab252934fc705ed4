package server

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// TestRateLimitsPerClientBehindProxy: behind a trusted proxy, failed
// logins count per client (from X-Forwarded-For), so one client cannot
// lock out the others; without trusted_proxies they all share the
// proxy's address.
func TestRateLimitsPerClientBehindProxy(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		t.Run(fmt.Sprintf("trusted=%v", trusted), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.DataDir = t.TempDir()
			cfg.InfluxDB.URL = "http://127.0.0.1:9"
			cfg.Limits.LoginFailures = 1
			cfg.Limits.LoginFailuresPerAddress = 2 // then 2 s to wait
			if trusted {
				cfg.TrustedProxies = []string{"192.0.2.0/24"}
			}
			require.NoError(t, cfg.Validate())
			s, err := newServer(t.Context(), &cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
			require.NoError(t, err)
			defer s.store.Close()
			h, err := s.Handler()
			require.NoError(t, err)

			n := 0
			login := func(client string) int {
				n++ // a new email each time: only the per-address limit applies
				body := fmt.Sprintf(`{"email":"user%d@example.com","password":"wrong"}`, n)
				r := httptest.NewRequest(http.MethodPost, "/api/v1/login", strings.NewReader(body))
				r.RemoteAddr = "192.0.2.10:443" // the proxy
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("X-Forwarded-For", client)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w.Code
			}
			require.Equal(t, http.StatusUnauthorized, login("203.0.113.1"))
			require.Equal(t, http.StatusUnauthorized, login("203.0.113.1"))
			require.Equal(t, http.StatusTooManyRequests, login("203.0.113.1"), "the client's own limit")
			if trusted {
				require.Equal(t, http.StatusUnauthorized, login("203.0.113.2"), "another client behind the proxy is not locked out")
			} else {
				require.Equal(t, http.StatusTooManyRequests, login("203.0.113.2"), "without trusted_proxies the proxy is the client")
			}
		})
	}
}
