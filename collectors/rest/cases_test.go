package rest

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/collectors/collectortest"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/mockoon"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

var update = flag.Bool("update", false, "rewrite testdata/cases/*/expected.txt")

// caseNow is the clock of every case: ages (hours since the last backup)
// are measured from it.
var caseNow = time.Date(2025, 9, 1, 12, 0, 0, 0, time.UTC)

// caseSpec is testdata/cases/<case>/case.yaml.
type caseSpec struct {
	Mockoon string `yaml:"mockoon"` // file in testdata/mockoon
	Prefix  string `yaml:"prefix"`  // path the environment is served below
	Polls   int    `yaml:"polls"`   // default 1; the golden file holds the last poll
	Now     string `yaml:"now"`     // RFC 3339; default caseNow
}

// TestCases runs every folder of testdata/cases: the collector entry in
// config.yaml (with {{addr}} for the server address) polls a server
// answering with the recorded vendor responses, and what it produces is
// compared with expected.txt (go test -run TestCases -update rewrites it).
func TestCases(t *testing.T) {
	dirs, err := filepath.Glob("testdata/cases/*")
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var spec caseSpec
			require.NoError(t, yamlconf.LoadFile(filepath.Join(dir, "case.yaml"), &spec))
			env, err := mockoon.Load(filepath.Join("testdata/mockoon", spec.Mockoon))
			require.NoError(t, err)
			mock := mockoon.NewServer(env, spec.Prefix)
			srv := httptest.NewServer(mock)
			t.Cleanup(srv.Close)

			c := loadCase(t, filepath.Join(dir, "config.yaml"), srv.URL)
			col, err := c.New(c.Targets[0], collectors.Options{})
			require.NoError(t, err)
			now := caseNow
			if spec.Now != "" {
				now, err = time.Parse(time.RFC3339, spec.Now)
				require.NoError(t, err)
			}
			col.(*collector).now = func() time.Time { return now }
			var sink *collectortest.Sink
			var collectErr error
			for range max(spec.Polls, 1) {
				sink, collectErr = collectortest.CollectOnce(t, col)
			}
			closeErr := col.(*collector).Close()
			got := strings.ReplaceAll(renderPoll(sink, collectErr, closeErr, mock.Requests()), srv.URL, "{{addr}}")
			golden := filepath.Join(dir, "expected.txt")
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test -run TestCases -update to create it")
			require.Equal(t, string(want), got)
		})
	}
}

// loadCase reads a collector entry as the agent does, with {{addr}}
// replaced by the test server's URL.
func loadCase(t *testing.T, path, addr string) *Config {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	c := newConfig().(*Config)
	require.NoError(t, yamlconf.Decode([]byte(strings.ReplaceAll(string(data), "{{addr}}", addr)), c))
	require.NoError(t, c.Validate())
	return c
}

// renderPoll writes what one poll produced as stable text: samples as sorted
// line-protocol-like lines, the inventory as indented JSON, the errors,
// and the requests the server saw.
func renderPoll(s *collectortest.Sink, collectErr, closeErr error, requests []string) string {
	var b strings.Builder
	b.WriteString("# samples\n")
	var lines []string
	for _, x := range s.Samples {
		lines = append(lines, sampleLine(x))
	}
	slices.Sort(lines)
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	b.WriteString("# inventory\n")
	for _, inv := range s.Inventories {
		inv.Time = time.Time{}
		out, _ := json.MarshalIndent(inv, "", "  ")
		b.Write(out)
		b.WriteString("\n")
	}
	b.WriteString("# errors\n")
	if collectErr != nil {
		fmt.Fprintf(&b, "poll failed: %v\n", collectErr)
	}
	var errs []string
	for _, e := range s.Errors {
		errs = append(errs, e.Error())
	}
	slices.Sort(errs)
	for _, e := range errs {
		b.WriteString(e + "\n")
	}
	if closeErr != nil {
		fmt.Fprintf(&b, "close: %v\n", closeErr)
	}
	b.WriteString("# requests\n")
	for _, r := range requests {
		b.WriteString(r + "\n")
	}
	return b.String()
}

func sampleLine(x kpi.Sample) string {
	var b strings.Builder
	b.WriteString(x.Measurement)
	for _, k := range slices.Sorted(maps.Keys(x.Tags)) {
		fmt.Fprintf(&b, ",%s=%s", k, x.Tags[k])
	}
	b.WriteByte(' ')
	for i, k := range slices.Sorted(maps.Keys(x.Fields)) {
		if i > 0 {
			b.WriteByte(',')
		}
		switch v := x.Fields[k].(type) {
		case int64:
			fmt.Fprintf(&b, "%s=%di", k, v)
		case string:
			fmt.Fprintf(&b, "%s=%q", k, v)
		default:
			fmt.Fprintf(&b, "%s=%v", k, v)
		}
	}
	return b.String()
}
