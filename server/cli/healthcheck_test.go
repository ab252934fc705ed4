package cli

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHealthcheck(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" || !healthy.Load() {
			http.Error(w, "no", http.StatusServiceUnavailable)
		}
	}))
	defer ts.Close()

	// The address comes from listen in the config.
	cfg := config(t)
	data, err := os.ReadFile(cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfg, bytes.Replace(data, []byte("listen: 127.0.0.1:8080"), []byte("listen: "+ts.Listener.Addr().String()), 1), 0o600))
	code, out, errOut := run(t, "healthcheck", "--config", cfg)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, ts.URL+"/healthz: ok\n", out)

	healthy.Store(false)
	code, _, errOut = run(t, "healthcheck", "--config", cfg)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "answered 503 Service Unavailable")

	ts.Close()
	code, _, errOut = run(t, "healthcheck", "--url", ts.URL+"/healthz")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "connection refused")
}

func TestLocalURL(t *testing.T) {
	for listen, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		"0.0.0.0:8080":   "http://127.0.0.1:8080",
		":8080":          "http://127.0.0.1:8080",
		"[::]:8443":      "http://[::1]:8443",
		"10.0.0.5:80":    "http://10.0.0.5:80",
	} {
		got, err := localURL(listen, false)
		require.NoError(t, err)
		require.Equal(t, want, got, listen)
	}
	got, err := localURL("0.0.0.0:8443", true)
	require.NoError(t, err)
	require.Equal(t, "https://127.0.0.1:8443", got)
	_, err = localURL("8080", false)
	require.ErrorContains(t, err, `listen "8080"`)
}
