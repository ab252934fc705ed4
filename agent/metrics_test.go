package agent

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/agent/ship"
	"github.com/kpilot/kpilot/agent/spool"
	"github.com/kpilot/kpilot/internal/promtest"
)

// TestMetricNamesAreDocumented keeps docs/agent.md's metrics table and the
// code in step: every kpilot_agent_ metric is listed, and nothing listed is
// missing.
func TestMetricNamesAreDocumented(t *testing.T) {
	sp, err := spool.Open(t.TempDir(), spool.Options{})
	require.NoError(t, err)
	defer sp.Close()
	d := promtest.NewRecorder()
	newMetrics(d, sp, newBatcher(sp, 10, 1<<20, slog.New(slog.DiscardHandler), func(int) {}))
	ship.New(http.DefaultClient, "http://127.0.0.1:9", "t", sp, slog.New(slog.NewTextHandler(io.Discard, nil)), d)
	var code []string
	for _, n := range d.Names {
		if strings.HasPrefix(n, "kpilot_agent_") {
			code = append(code, n)
		}
	}
	slices.Sort(code)

	doc, err := os.ReadFile("../docs/agent.md")
	require.NoError(t, err)
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(kpilot_agent_[a-z_]+)` \\|").FindAllSubmatch(doc, -1) {
		documented = append(documented, string(m[1]))
	}
	slices.Sort(documented)
	require.Greater(t, len(code), 20)
	require.Equal(t, code, documented, "docs/agent.md lists exactly the agent's metrics")
}
