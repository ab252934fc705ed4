package e2e

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite" // reads the server's database

	"github.com/kpilot/kpilot/agent/spool"
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/wire"
)

// serverEnv is a configured kpilot-server with one customer organization.
type serverEnv struct {
	bin, cfg, base, orgID string
	metrics               string // base URL of the metrics listener
	dataDir               string
	proc                  *devenv.Process
}

func newServerEnv(t *testing.T, bin string, influx *devenv.Influxd, dir string) *serverEnv {
	t.Helper()
	port, err := devenv.FreePort("tcp")
	require.NoError(t, err)
	metricsPort, err := devenv.FreePort("tcp")
	require.NoError(t, err)
	s := &serverEnv{bin: bin, cfg: filepath.Join(dir, "server.yaml"), base: fmt.Sprintf("http://127.0.0.1:%d", port),
		metrics: fmt.Sprintf("http://127.0.0.1:%d", metricsPort), dataDir: filepath.Join(dir, "server")}
	rewrite(t, "server.example.yaml", s.cfg,
		"127.0.0.1:8080", fmt.Sprintf("127.0.0.1:%d", port),
		"127.0.0.1:9464", fmt.Sprintf("127.0.0.1:%d", metricsPort),
		"http://127.0.0.1:8086", influx.URL,
		"/var/lib/kpilot-server", filepath.Join(dir, "server"),
		"kpilot/autogen", influx.Bucket)
	pw := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pw, []byte("correct-horse-battery\n"), 0o600))
	out := run(t, bin, "bootstrap", "--config", s.cfg, "--org", "Acme GmbH", "--admin", "admin@acme.example", "--password-file", pw)
	s.orgID = field(t, out, "organization_id")
	return s
}

// seriesID reads an asset's series id, its tag in InfluxDB, from the
// server's SQLite database (read-only, beside the running server).
func (s *serverEnv) seriesID(t *testing.T, assetID string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.dataDir, "kpilot.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	defer db.Close()
	var id string
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT series_id FROM assets WHERE id = ?`, assetID).Scan(&id))
	return id
}

func (s *serverEnv) enrollToken(t *testing.T) string {
	t.Helper()
	return strings.TrimSpace(run(t, s.bin, "enroll-token", "--config", s.cfg, "--org", s.orgID))
}

func (s *serverEnv) start(t *testing.T) {
	t.Helper()
	p, err := devenv.Start("kpilot-server", exec.Command(s.bin, "run", "--config", s.cfg), nil)
	require.NoError(t, err)
	s.proc = p
	t.Cleanup(func() { p.Stop() })
	require.NoError(t, p.WaitFor(t.Context(), 20*time.Second, func() error {
		resp, err := http.Get(s.base + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz: %s", resp.Status)
		}
		return nil
	}))
}

func (s *serverEnv) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, s.proc.Signal(syscall.SIGTERM))
	require.NoError(t, s.proc.Wait(30*time.Second), "server exit:\n%s", s.proc.Log())
}

// point is one sample's identity in InfluxDB: its series (measurement and
// the agent's tags) and its collection time.
type point struct {
	series string
	time   int64
}

func seriesKey(measurement string, tags map[string]string) string {
	var b strings.Builder
	b.WriteString(measurement)
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		fmt.Fprintf(&b, ",%s=%s", k, tags[k])
	}
	return b.String()
}

// waitSpoolGrows waits until the spool segments under spoolDir hold more bytes
// than when it was called.
func waitSpoolGrows(t *testing.T, spoolDir string, limit time.Duration) {
	t.Helper()
	size := func() int64 {
		var n int64
		_ = filepath.WalkDir(spoolDir, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(d.Name(), ".seg") { // batches, not the acked mark
				if fi, err := d.Info(); err == nil {
					n += fi.Size()
				}
			}
			return nil
		})
		return n
	}
	before := size()
	require.Eventually(t, func() bool { return size() > before }, limit, 50*time.Millisecond,
		"the agent spooled nothing within %s", limit)
}

// spooledPoints reads a copy of the agent's spool (the agent is dead, so
// it is what the agent reported as spooled) and counts the field values of
// every point. dup counts points seen twice.
func spooledPoints(t *testing.T, spoolDir string) (points map[point]int, dup int) {
	t.Helper()
	cp := filepath.Join(t.TempDir(), "spool")
	require.NoError(t, os.CopyFS(cp, os.DirFS(spoolDir)))
	d, err := spool.Open(cp, spool.Options{Fsync: spool.FsyncNever})
	require.NoError(t, err)
	defer d.Close()
	require.Zero(t, d.Stats().CorruptBatches, "kill -9 tears at most the last record, which is not damage")
	points = map[point]int{}
	for {
		e, err := d.Peek()
		if err == spool.ErrEmpty {
			return points, dup
		}
		require.NoError(t, err)
		b, err := wire.Decode(bytes.NewReader(e.Data), 1<<30)
		require.NoError(t, err)
		dec := lineprotocol.NewDecoderWithBytes([]byte(b.Samples))
		for dec.Next() {
			m, err := dec.Measurement()
			require.NoError(t, err)
			tags := map[string]string{}
			for {
				k, v, err := dec.NextTag()
				require.NoError(t, err)
				if k == nil {
					break
				}
				if string(k) != wire.AssetTag {
					tags[string(k)] = string(v)
				}
			}
			fields := 0
			for {
				k, _, err := dec.NextField()
				require.NoError(t, err)
				if k == nil {
					break
				}
				fields++
			}
			ts, err := dec.Time(lineprotocol.Nanosecond, time.Time{})
			require.NoError(t, err)
			p := point{seriesKey(string(m), tags), ts.UnixNano()}
			if points[p] > 0 {
				dup++
			}
			points[p] += fields
		}
		require.NoError(t, d.Ack(e.Seq))
	}
}

// storedPoints counts the field values per point InfluxDB holds between
// from and to (inclusive), with the server's own tags left out.
func storedPoints(t *testing.T, influx *devenv.Influxd, from, to int64) map[point]int {
	t.Helper()
	points := map[point]int{}
	for _, s := range influxQL(t, influx, fmt.Sprintf(`SELECT * FROM /.*/ WHERE time >= %d AND time <= %d GROUP BY *`, from, to), "stored points") {
		tags := map[string]string{}
		for k, v := range s.Tags {
			if v != "" && k != "asset" {
				tags[k] = v
			}
		}
		key := seriesKey(s.Name, tags)
		for _, row := range s.Values {
			ns, err := row[0].(json.Number).Int64()
			require.NoError(t, err)
			for _, v := range row[1:] {
				if v != nil {
					points[point{key, ns}]++
				}
			}
		}
	}
	return points
}

// TestKillNineLosesNothing is the agent's promise under the worst
// conditions: it keeps collecting from a real snmpd while the server is
// down and is killed with SIGKILL every few seconds; then the server comes
// back and the agent is killed a few more times while it ships. In the
// end InfluxDB holds every sample the agent had spooled exactly once, with
// its collection time: none lost, none doubled, none re-stamped.
func TestKillNineLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts influxd, snmpd and both binaries")
	}
	influx := devenv.Influx(t)
	snmpd := devenv.SNMP(t)
	agentBin, serverBin := buildBinaries(t)
	dir := t.TempDir()
	srv := newServerEnv(t, serverBin, influx, dir)

	agentCfg := filepath.Join(dir, "agent.yaml")
	require.NoError(t, os.WriteFile(agentCfg, fmt.Appendf(nil, `server:
  url: %s
data_dir: %s
metrics_listen: ""
spool:
  flush_interval: 300ms
  max_batch_lines: 200
collectors:
  - type: snmp
    name: lab
    interval: 1s
    community: %s
    profiles: [system, if-mib, host-resources]
    targets: [{address: %q, asset: lab-snmpd}]
`, srv.base, filepath.Join(dir, "agent"), snmpd.Community, snmpd.Addr()), 0o600))
	srv.start(t)
	require.Contains(t, run(t, agentBin, "enroll", "--config", agentCfg, "--token", srv.enrollToken(t)), "enrolled as agent")
	srv.stop(t)

	startAgent := func() *devenv.Process {
		p, err := devenv.Start("kpilot-agent", exec.Command(agentBin, "run", "--config", agentCfg), nil)
		require.NoError(t, err)
		t.Cleanup(func() { p.Stop() })
		return p
	}
	kill := func(p *devenv.Process) {
		require.NoError(t, p.Signal(syscall.SIGKILL))
		_ = p.Wait(10 * time.Second)
	}
	spoolDir := filepath.Join(dir, "agent", "spool")

	// Server down: collect, get killed, start again.
	for range 4 {
		p := startAgent()
		// Killed while it collects: once its spool has grown twice (a busy
		// host may take seconds to start a race-built binary; one poll is
		// some 20 points, and the four runs must spool more than 100), at
		// a random moment of the next polls.
		waitSpoolGrows(t, spoolDir, 30*time.Second)
		waitSpoolGrows(t, spoolDir, 30*time.Second)
		time.Sleep(500*time.Millisecond + rand.N(1500*time.Millisecond))
		kill(p)
	}
	want, dup := spooledPoints(t, spoolDir)
	require.Zero(t, dup, "a point is spooled once")
	require.Greater(t, len(want), 100, "four runs of polling were spooled")
	var from, to int64 = 1<<63 - 1, 0
	for p := range want {
		from, to = min(from, p.time), max(to, p.time)
	}

	// Server back: killed while shipping, then left to finish.
	srv.start(t)
	for range 3 {
		p := startAgent()
		time.Sleep(500*time.Millisecond + rand.N(1000*time.Millisecond))
		kill(p)
	}
	p := startAgent()
	waitUntil(t, 30*time.Second, "the agent to start", func() bool { return strings.Contains(p.Log(), "agent starting") })
	waitUntil(t, 60*time.Second, "the agent to ship everything spooled during the outage", func() bool {
		got := storedPoints(t, influx, from, to)
		return len(got) >= len(want)
	})
	require.NoError(t, p.Signal(syscall.SIGTERM))
	require.NoError(t, p.Wait(20*time.Second), "agent exit:\n%s", p.Log())

	got := storedPoints(t, influx, from, to)
	var missing, extra []string
	for pt, n := range want {
		if got[pt] != n {
			missing = append(missing, fmt.Sprintf("%s @%d: spooled %d field values, stored %d", pt.series, pt.time, n, got[pt]))
		}
	}
	for pt := range got {
		if _, ok := want[pt]; !ok {
			extra = append(extra, fmt.Sprintf("%s @%d", pt.series, pt.time))
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	require.Empty(t, missing, "every spooled sample is stored, with all its fields")
	require.Empty(t, extra, "nothing is stored that was not spooled (a replay keeps the collection time)")
	t.Logf("%d points spooled across 4 SIGKILLed runs with the server down, all stored exactly once after 3 more kills while shipping", len(want))
}
