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

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/agent/ship"
	"github.com/kpilot/kpilot/agent/spool"
)

// describer records the names of every metric registered with it, also of
// vectors that have no series yet.
type describer struct{ names []string }

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d *describer) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 64)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			d.names = append(d.names, m[1])
		}
	}
	return nil
}

func (d *describer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = d.Register(c)
	}
}

func (d *describer) Unregister(prometheus.Collector) bool { return true }

// TestMetricNamesAreDocumented keeps docs/agent.md's metrics table and the
// code in step: every kpilot_agent_ metric is listed, and nothing listed is
// missing.
func TestMetricNamesAreDocumented(t *testing.T) {
	sp, err := spool.Open(t.TempDir(), spool.Options{})
	require.NoError(t, err)
	defer sp.Close()
	d := &describer{}
	newMetrics(d, sp)
	ship.New(http.DefaultClient, "http://127.0.0.1:9", "t", sp, slog.New(slog.NewTextHandler(io.Discard, nil)), d)
	var code []string
	for _, n := range d.names {
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
