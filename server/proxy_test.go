package server

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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

			// The attempts go at once: each is counted before its password
			// is checked (bcrypt, seconds on a busy host with -race), so
			// the 2-second delay cannot pass between them, and the outcome
			// depends only on which address each is counted under.
			var mu sync.Mutex
			codes := map[string][]int{}
			var wg sync.WaitGroup
			for n, client := range []string{"203.0.113.1", "203.0.113.1", "203.0.113.1", "203.0.113.2"} {
				wg.Go(func() {
					// A new email each time: only the per-address limit applies.
					body := fmt.Sprintf(`{"email":"user%d@example.com","password":"wrong"}`, n)
					r := httptest.NewRequest(http.MethodPost, "/api/v1/login", strings.NewReader(body))
					r.RemoteAddr = "192.0.2.10:443" // the proxy
					r.Header.Set("Content-Type", "application/json")
					r.Header.Set("X-Forwarded-For", client)
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					mu.Lock()
					codes[client] = append(codes[client], w.Code)
					mu.Unlock()
				})
			}
			wg.Wait()
			count := func(client string, code int) (k int) {
				for _, c := range codes[client] {
					if c == code {
						k++
					}
				}
				return k
			}
			if trusted {
				require.Equal(t, 1, count("203.0.113.1", http.StatusTooManyRequests), "the client's own limit: two free failures, then a wait: %v", codes)
				require.Equal(t, []int{http.StatusUnauthorized}, codes["203.0.113.2"], "another client behind the proxy is not locked out")
			} else {
				require.Equal(t, 2, count("203.0.113.1", http.StatusTooManyRequests)+count("203.0.113.2", http.StatusTooManyRequests),
					"without trusted_proxies the proxy is the client: two free failures among all four: %v", codes)
			}
		})
	}
}
