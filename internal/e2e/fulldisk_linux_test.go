package e2e

import (
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
)

// agentTotals are the final counts an agent logs when it stops: samples
// its collectors took, polls (each one an agent_poll sample) and samples
// dropped for any reason.
type agentTotals struct {
	collected, polls, dropped int64
}

var stoppedLine = regexp.MustCompile(`msg="agent stopped".* samples_collected=(\d+) polls=(\d+) samples_dropped=(\d+)`)

func stoppedTotals(t *testing.T, log string) agentTotals {
	t.Helper()
	m := stoppedLine.FindAllStringSubmatch(log, -1)
	require.Len(t, m, 1, "one \"agent stopped\" line with the final counts:\n%s", log)
	var n [3]int64
	for i := range n {
		v, err := strconv.ParseInt(m[0][i+1], 10, 64)
		require.NoError(t, err)
		n[i] = v
	}
	return agentTotals{n[0], n[1], n[2]}
}

// scrapeValue reads one series of a Prometheus scrape; ok is false when
// the scrape failed or the series is absent.
func scrapeValue(body, series string) (float64, bool) {
	for line := range strings.Lines(body) {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

func scrape(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// vmHWM is a process's peak resident set size in KiB.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			require.NoError(t, err)
			return kb
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// storedPointCount counts the points InfluxDB holds for the given series
// ids (the asset tag), over every measurement: a row of SELECT * is one
// point, however many fields it has.
func storedPointCount(t *testing.T, influx *devenv.Influxd, seriesIDs []string) int64 {
	t.Helper()
	var where []string
	for _, id := range seriesIDs {
		where = append(where, fmt.Sprintf(`"asset" = '%s'`, id))
	}
	q := fmt.Sprintf(`SELECT * FROM /.*/ WHERE %s GROUP BY *`, strings.Join(where, " OR "))
	var n int64
	for _, s := range influxQL(t, influx, q, "stored points") {
		n += int64(len(s.Values))
	}
	return n
}

// TestFullDiskEveryCountedSample runs the real agent with its data dir on
// a small tmpfs, reading a device's REST API for two assets, and the real
// server writing to a real influxd. The server is down until the disk is
// full and the agent's memory bound is passed, comes back (the spool must
// write again and deliver by itself), goes down until the disk is full
// again, and the agent is stopped on the full disk; then both start again
// and deliver. Every sample the agent collected, over both runs, must be
// a point in InfluxDB or counted as dropped, exactly.
func TestFullDiskEveryCountedSample(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts influxd, snmpd and both binaries")
	}
	data := devenv.SmallDisk(t, 128<<10)
	influx := devenv.Influx(t)
	agentBin, serverBin := buildBinaries(t)
	dir := t.TempDir()
	srv := newServerEnv(t, serverBin, influx, dir)
	port, err := devenv.FreePort("tcp")
	require.NoError(t, err)
	metrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)

	// A device with a REST API listing 2,000 items, read by the rest
	// collector: 4,000 samples a second over two targets, with random
	// values so that the spooled batches hardly compress, fill the disk
	// and the memory bound in seconds.
	device := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		var b strings.Builder
		b.WriteString(`{"items":[`)
		for i := range 2000 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"i%04d","v":%v}`, i, rand.Float64())
		}
		b.WriteString(`]}`)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, b.String())
	}))
	t.Cleanup(device.Close)
	const targets = 2
	var tl strings.Builder
	for i := range targets {
		fmt.Fprintf(&tl, "      - {address: %q, asset: dev-%d}\n", device.URL, i)
	}
	agentCfg := filepath.Join(dir, "agent.yaml") // off the small disk
	require.NoError(t, os.WriteFile(agentCfg, fmt.Appendf(nil, `server:
  url: %s
data_dir: %s
metrics_listen: 127.0.0.1:%d
watch_config: false
spool:
  flush_interval: 200ms
  segment_size_mb: 1
  memory_limit_mb: 1
collectors:
  - type: rest
    name: dev
    interval: 1s
    requests:
      - name: items
        path: /items
        items: items
        samples:
          - measurement: dev_item
            tags: {item: id}
            fields: {v: {path: v}}
    targets:
%s`, srv.base, data, port, tl.String()), 0o600))
	srv.start(t)
	require.Contains(t, run(t, agentBin, "enroll", "--config", agentCfg, "--token", srv.enrollToken(t)), "enrolled as agent")
	srv.stop(t)

	startAgent := func() *devenv.Process {
		p, err := devenv.Start("kpilot-agent", exec.Command(agentBin, "run", "--config", agentCfg), nil)
		require.NoError(t, err)
		t.Cleanup(func() { p.Stop() })
		return p
	}
	stopAgent := func(p *devenv.Process) agentTotals {
		require.NoError(t, p.Signal(syscall.SIGTERM))
		require.NoError(t, p.Wait(30*time.Second), "agent exit:\n%s", p.Log())
		return stoppedTotals(t, p.Log())
	}
	value := func(body, series string) float64 {
		v, _ := scrapeValue(body, series)
		return v
	}
	waitMetrics := func(p *devenv.Process, what string, f func(body string) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		var body string
		for time.Now().Before(deadline) {
			if body = scrape(metrics); body != "" && f(body) {
				return
			}
			require.False(t, p.Exited(), "agent exited:\n%s", p.Log())
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s; last scrape:\n%s\nagent log:\n%s", what, body, p.Log())
	}
	full := func(body string) bool { v, ok := scrapeValue(body, "kpilot_agent_spool_writable"); return ok && v == 0 }

	// Server down: the disk fills and the memory bound is passed.
	start := time.Now()
	a := startAgent()
	waitMetrics(a, "the disk to fill and the memory bound to be passed", func(body string) bool {
		return full(body) && value(body, `kpilot_agent_samples_dropped_total{reason="memory_bound"}`) > 0
	})
	t.Logf("disk full and memory bound passed after %s", time.Since(start).Round(time.Millisecond))

	// Server back: the spool writes again by itself and the backlog goes.
	srv.start(t)
	waitMetrics(a, "the spool to write again and deliver its backlog", func(body string) bool {
		return value(body, "kpilot_agent_spool_writable") == 1 &&
			value(body, "kpilot_agent_spool_memory_samples") < 2000 &&
			value(body, "kpilot_agent_spool_bytes") < 64<<10
	})

	// Server down again until the disk is full, and the agent stops on it.
	srv.stop(t)
	waitMetrics(a, "the disk to fill again", full)
	require.Contains(t, a.Log(), "spool writes again", "spooling resumed without a restart")
	peak := vmHWM(t, a.Pid())
	first := stopAgent(a)
	require.Contains(t, a.Log(), "stopping with samples the spool could not take", "held samples are counted lost at shutdown")
	t.Logf("first run: %+v; peak RSS (VmHWM) %d KiB", first, peak)

	// Both back: the restarted agent delivers what it spooled.
	srv.start(t)
	b := startAgent()
	waitMetrics(b, "the restarted agent to deliver the spool", func(body string) bool {
		return value(body, "kpilot_agent_spool_writable") == 1 && value(body, "kpilot_agent_spool_batches") == 0 &&
			value(body, "kpilot_agent_spool_memory_samples") < 2000
	})
	second := stopAgent(b)
	require.Zero(t, second.dropped, "nothing is dropped with room on the disk and the server up")
	require.Contains(t, b.Log(), `spooled_batches=0`, "delivered at shutdown")

	db, err := sql.Open("sqlite", "file:"+filepath.Join(srv.dataDir, "kpilot.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), `SELECT series_id FROM assets`)
	require.NoError(t, err)
	var ids []string
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	require.Len(t, ids, targets, "one asset per target")

	produced := first.collected + first.polls + second.collected + second.polls
	dropped := first.dropped + second.dropped
	stored := storedPointCount(t, influx, ids)
	t.Logf("produced %d samples: %d points in InfluxDB, %d counted as dropped (run 1 %+v, run 2 %+v); agent peak RSS %d KiB in the full-disk phase; %s in all",
		produced, stored, dropped, first, second, peak, time.Since(start).Round(time.Millisecond))
	require.Positive(t, first.dropped)
	require.Equal(t, produced, stored+dropped, "every sample collected is in InfluxDB or counted as dropped")
}
