package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// TestMetricsOnTheirOwnListener: the server's own /metrics answers on
// metrics_listen, not to anyone on the API listener: there it is 404, or
// with metrics_token set, 401 without the token and 200 with it.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	const token = "metrics-token-0123456789abcdef"
	tests := []struct {
		name  string
		token string
		auth  string // Authorization header on the API listener
		want  int    // the API listener's answer to GET /metrics
	}{
		{"no token configured", "", "", http.StatusNotFound},
		{"no token configured, one sent", "", "Bearer " + token, http.StatusNotFound},
		{"token configured, none sent", token, "", http.StatusUnauthorized},
		{"token configured, a wrong one sent", token, "Bearer " + token[:len(token)-1] + "X", http.StatusUnauthorized},
		{"token configured, a prefix of it sent", token, "Bearer " + token[:10], http.StatusUnauthorized},
		{"token configured and sent", token, "Bearer " + token, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port, err := devenv.FreePort("tcp")
			require.NoError(t, err)
			cfg := DefaultConfig()
			cfg.DataDir = t.TempDir()
			cfg.InfluxDB.URL = "http://127.0.0.1:9" // never answers: the server runs without it
			cfg.MetricsListen = fmt.Sprintf("127.0.0.1:%d", port)
			cfg.MetricsToken = yamlconf.Secret(tt.token)
			require.NoError(t, cfg.Validate())
			api := serve(t, &cfg)

			code, body := get(t, "http://"+cfg.MetricsListen+"/metrics", "")
			require.Equal(t, http.StatusOK, code, "the metrics listener")
			require.Contains(t, body, "kpilot_server_")

			code, body = get(t, api+"/metrics", tt.auth)
			require.Equal(t, tt.want, code, "%s", body)
			if tt.want == http.StatusOK {
				require.Contains(t, body, "kpilot_server_")
			} else {
				require.NotContains(t, body, "kpilot_server_")
			}
			code, _ = get(t, api+"/healthz", "")
			require.Equal(t, http.StatusOK, code, "the API listener still serves")
		})
	}
}

func TestMetricsListenTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.InfluxDB.URL = "http://127.0.0.1:9"
	cfg.MetricsListen = taken.Addr().String()
	require.NoError(t, cfg.Validate())
	s, err := New(t.Context(), &cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	defer s.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	err = s.Serve(t.Context(), ln)
	require.ErrorContains(t, err, "metrics_listen "+taken.Addr().String(), "a taken address stops the start, named")
}

func TestMetricsConfig(t *testing.T) {
	tests := []struct {
		name, listen, token, wantErr string
	}{
		{"default", "127.0.0.1:9464", "", ""},
		{"off", "", "", ""},
		{"not host:port", "9464", "", "metrics_listen"},
		{"short token", "", "short", "metrics_token: at least 24"},
		{"long token", "", strings.Repeat("x", 24), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.InfluxDB.URL = "http://127.0.0.1:9"
			cfg.MetricsListen, cfg.MetricsToken = tt.listen, yamlconf.Secret(tt.token)
			err := cfg.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tt.wantErr)
			}
		})
	}
	require.Equal(t, "127.0.0.1:9464", DefaultConfig().MetricsListen)
}

// serve runs a server with cfg on a free API port until the test ends and
// returns the API listener's base URL.
func serve(t *testing.T, cfg *Config) string {
	t.Helper()
	s, err := New(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		s.Close()
	})
	base := "http://" + ln.Addr().String()
	require.Eventually(t, func() bool {
		code, _ := get(t, "http://"+cfg.MetricsListen+"/metrics", "")
		return code == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond)
	return base
}

func get(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}
