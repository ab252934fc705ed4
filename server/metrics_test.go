package server

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/promtest"
)

// TestMetricNamesAreDocumented keeps the metric tables of the docs and
// the code in step: docs/kpis.md lists exactly the kpilot_server_
// metrics, and every other kpilot_ metric of the server (check-ups,
// webhooks) is named in the docs.
func TestMetricNamesAreDocumented(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.InfluxDB.URL = "http://127.0.0.1:9" // not dialled while the server is built
	require.NoError(t, cfg.Validate())
	reg := promtest.NewRecorder()
	s, err := newServer(t.Context(), &cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	require.NoError(t, err)
	defer s.store.Close()

	var server, other []string
	for _, n := range reg.Names {
		switch {
		case strings.HasPrefix(n, "kpilot_server_"):
			server = append(server, n)
		case strings.HasPrefix(n, "kpilot_"):
			other = append(other, n)
		}
	}
	slices.Sort(server)
	server = slices.Compact(server)

	kpis, err := os.ReadFile("../docs/kpis.md")
	require.NoError(t, err)
	var documented []string
	for _, line := range regexp.MustCompile("(?m)^\\| `kpilot_server_.*$").FindAll(kpis, -1) {
		cell := strings.SplitN(string(line), " | ", 2)[0]
		documented = append(documented, regexp.MustCompile(`kpilot_server_[a-z_]+`).FindAllString(cell, -1)...)
	}
	slices.Sort(documented)
	require.Greater(t, len(server), 10)
	require.Equal(t, server, documented, "docs/kpis.md lists exactly the server's metrics")

	docs, err := filepath.Glob("../docs/*.md")
	require.NoError(t, err)
	var all string
	for _, f := range docs {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		all += string(b)
	}
	require.NotEmpty(t, other)
	for _, n := range other {
		require.Contains(t, all, "`"+n, "%s is documented", n)
	}
}
