package debugserve

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
)

func TestServesTheProfilerOnly(t *testing.T) {
	port, err := devenv.FreePort("tcp")
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	srv, err := Listen(addr, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	code, body := get("/debug/pprof/")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "heap", "the profile index")
	code, _ = get("/metrics")
	require.Equal(t, http.StatusNotFound, code, "nothing but the profiler")

	_, err = Listen(addr, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "debug_listen "+addr, "a taken address names the setting")
}
