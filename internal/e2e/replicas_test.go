package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
)

// leasePeriod is jobs.lease_period in this test: short, so that a
// take-over is quick to watch.
const leasePeriod = 3 * time.Second

// jobs are the periodic jobs of the server, each under its own lease.
var jobs = []string{"checkups", "report_schedules", "webhooks", "housekeeping"}

// replica is one kpilot-server process of several on one database.
type replica struct {
	name, bin, cfg, base string
	metrics              string // base URL of the metrics listener
	proc                 *devenv.Process
}

// newReplica writes a replica's config: the shipped example on
// PostgreSQL (the DSN comes from $KPILOT_DATABASE_DSN, as the example
// suggests), with check-ups every minute (the shortest allowed) and short
// leases.
func newReplica(t *testing.T, name, bin string, influx *devenv.Influxd, dir string) *replica {
	t.Helper()
	port, err := devenv.FreePort("tcp")
	require.NoError(t, err)
	metricsPort, err := devenv.FreePort("tcp")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o700))
	r := &replica{name: name, bin: bin, cfg: filepath.Join(dir, "server.yaml"), base: fmt.Sprintf("http://127.0.0.1:%d", port),
		metrics: fmt.Sprintf("http://127.0.0.1:%d", metricsPort)}
	rewrite(t, "server.example.yaml", r.cfg,
		"127.0.0.1:8080", fmt.Sprintf("127.0.0.1:%d", port),
		"127.0.0.1:9464", fmt.Sprintf("127.0.0.1:%d", metricsPort),
		"http://127.0.0.1:8086", influx.URL,
		"/var/lib/kpilot-server", filepath.Join(dir, "data"),
		"kpilot/autogen", influx.Bucket,
		"driver: sqlite", "driver: postgres",
		"# dsn: ${KPILOT_DATABASE_DSN}", "dsn: ${KPILOT_DATABASE_DSN}",
		"interval: 5m", "interval: 1m",
		"lease_period: 30s", "lease_period: "+leasePeriod.String())
	return r
}

// start starts the process without waiting for it; ready waits.
func (r *replica) start(t *testing.T) {
	t.Helper()
	p, err := devenv.Start("kpilot-server "+r.name, exec.Command(r.bin, "run", "--config", r.cfg), nil)
	require.NoError(t, err)
	r.proc = p
	t.Cleanup(func() { p.Stop() })
}

func (r *replica) ready(t *testing.T) {
	t.Helper()
	require.NoError(t, r.proc.WaitFor(t.Context(), 30*time.Second, func() error {
		resp, err := http.Get(r.base + "/readyz")
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

// metric sums the samples of name on the replica's /metrics (on its
// metrics listener) whose labels
// include every one of labels (`job="checkups"`).
func (r *replica) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get(r.metrics + "/metrics")
	require.NoError(t, err, "%s", r.name)
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		series, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		n, lbls, _ := strings.Cut(series, "{")
		if n != name || !containsAll(lbls, labels) {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		require.NoError(t, err, "%s", line)
		sum += v
	}
	require.NoError(t, sc.Err())
	return sum
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// evaluations counts the replica's check-up evaluations: with the one
// organization of this test, one per check-up cycle it ran.
func (r *replica) evaluations(t *testing.T) float64 {
	return r.metric(t, "kpilot_checkup_evaluations_total")
}

func (r *replica) holds(t *testing.T, job string) bool {
	return r.metric(t, "kpilot_server_lease_held", `job="`+job+`"`) == 1
}

// buildServer builds kpilot-server as make does.
func buildServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kpilot-server")
	args := []string{"build", "-ldflags", "-X github.com/kpilot/kpilot/internal/buildinfo.Version=" + version, "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./cmd/kpilot-server")...)
	cmd.Dir = repoRoot(t)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build kpilot-server: %s", out)
	return bin
}

// TestIntegrationReplicasRunJobsOnce runs two kpilot-server processes on
// one PostgreSQL database. Each periodic job runs on one of them: the
// check-up cycle at start is evaluated once, not once per replica. When
// the holder is killed with SIGKILL the other takes over within about a
// lease period; a replica that comes back leaves the jobs to the holder;
// and a holder stopped with SIGTERM hands its jobs over at once.
func TestIntegrationReplicasRunJobsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts PostgreSQL, influxd and two servers")
	}
	pg := devenv.PostgreSQL(t)
	influx := devenv.Influx(t)
	dsn, err := pg.CreateDatabase(t.Context(), "kpilot_replicas")
	require.NoError(t, err)
	t.Setenv("KPILOT_DATABASE_DSN", dsn)
	bin := buildServer(t)
	began := time.Now()
	t.Cleanup(func() { t.Logf("replicas ran for %s", time.Since(began).Round(time.Second)) })
	dir := t.TempDir()
	a := newReplica(t, "a", bin, influx, filepath.Join(dir, "a"))
	b := newReplica(t, "b", bin, influx, filepath.Join(dir, "b"))
	pw := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pw, []byte("correct-horse-battery\n"), 0o600))
	run(t, bin, "bootstrap", "--config", a.cfg, "--org", "Acme GmbH", "--admin", "admin@acme.example", "--password-file", pw)

	// Started together, they race for every lease.
	a.start(t)
	b.start(t)
	a.ready(t)
	b.ready(t)
	waitUntil(t, 20*time.Second, "the first check-up cycle", func() bool { return a.evaluations(t)+b.evaluations(t) >= 1 })
	time.Sleep(2 * leasePeriod) // renewals come and go; nobody takes over
	holder, other := a, b
	if b.evaluations(t) > 0 {
		holder, other = b, a
	}
	require.Equal(t, 1.0, holder.evaluations(t), "the holder evaluated the cycle once")
	require.Zero(t, other.evaluations(t), "the other replica did not evaluate it")
	require.True(t, holder.holds(t, "checkups"))
	require.False(t, other.holds(t, "checkups"))
	for _, job := range jobs {
		require.NotEqual(t, a.holds(t, job), b.holds(t, job), "%s: exactly one replica holds the lease", job)
	}
	require.Zero(t, other.metric(t, "kpilot_server_job_cycles_total", `job="checkups"`, `result="run"`))

	// kill -9: the lease is not released, it expires.
	require.NoError(t, holder.proc.Signal(syscall.SIGKILL))
	require.Error(t, holder.proc.Wait(10*time.Second), "killed")
	killed := time.Now()
	waitUntil(t, 3*leasePeriod, "the other replica to take over", func() bool { return other.evaluations(t) == 1 })
	took := time.Since(killed)
	t.Logf("took over %s after kill -9 (lease period %s)", took.Round(10*time.Millisecond), leasePeriod)
	// At most a lease period for the lease to expire, a third for the
	// next try, and a little for the cycle and this test's polling.
	require.Less(t, took, leasePeriod+leasePeriod/3+time.Second, "take-over within about a lease period")
	require.Contains(t, other.proc.Log(), `msg="took the job's lease: this replica runs it" part=jobs job=checkups`)
	for _, job := range jobs {
		require.True(t, other.holds(t, job), "%s: the survivor holds it", job)
	}

	// The killed replica comes back and finds every job taken.
	holder.start(t)
	holder.ready(t)
	time.Sleep(2 * leasePeriod)
	require.Zero(t, holder.evaluations(t), "the returning replica leaves the check-ups to the holder")
	for _, job := range jobs {
		require.False(t, holder.holds(t, job), "%s", job)
	}
	require.Equal(t, 1.0, other.evaluations(t))

	// SIGTERM: the holder releases its leases; the other takes over at
	// its next try, long before the leases would have expired.
	require.NoError(t, other.proc.Signal(syscall.SIGTERM))
	stopped := time.Now()
	require.NoError(t, other.proc.Wait(30*time.Second), "server exit:\n%s", other.proc.Log())
	require.Contains(t, other.proc.Log(), `msg="released the job's lease" part=jobs job=checkups`)
	waitUntil(t, 3*leasePeriod, "take-over after a clean stop", func() bool { return holder.evaluations(t) == 1 })
	took = time.Since(stopped)
	t.Logf("took over %s after SIGTERM", took.Round(10*time.Millisecond))
	require.Less(t, took, leasePeriod, "a released lease is taken at the next try")
}
