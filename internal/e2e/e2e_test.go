// Package e2e runs the real kpilot binaries against real influxd and snmpd
// and checks the whole path: poll, spool, ship, ingest, InfluxDB, API.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	"github.com/kpilot/kpilot/internal/mockoon"
	"github.com/kpilot/kpilot/internal/redfishmock"
)

const version = "0.0.0-e2e"

// repoRoot is two levels up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	return root
}

// buildBinaries builds both programs with the version stamped as make does.
func buildBinaries(t *testing.T) (agent, server string) {
	t.Helper()
	dir := t.TempDir()
	ldflags := "-X github.com/kpilot/kpilot/internal/buildinfo.Version=" + version
	args := []string{"build", "-ldflags", ldflags}
	if raceEnabled {
		args = append(args, "-race") // the race detector watches the real processes too
	}
	for _, name := range []string{"kpilot-agent", "kpilot-server"} {
		cmd := exec.Command("go", append(args, "-o", filepath.Join(dir, name), "./cmd/"+name)...)
		cmd.Dir = repoRoot(t)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go build %s: %s", name, out)
	}
	return filepath.Join(dir, "kpilot-agent"), filepath.Join(dir, "kpilot-server")
}

// run runs a binary to completion and returns its stdout.
func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "%s %v: %s", filepath.Base(bin), args, stderr.String())
	return stdout.String()
}

// rewrite copies an example config with the demo addresses replaced.
func rewrite(t *testing.T, example, dst string, repl ...string) {
	t.Helper()
	require.NoError(t, devenv.RewriteConfig(filepath.Join(repoRoot(t), "configs", example), dst, repl...))
}

// field returns the value of "key: value" in a command's output.
func field(t *testing.T, out, key string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, key+": "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %q in output:\n%s", key, out)
	return ""
}

type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(c.t, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, r)
	require.NoError(c.t, err)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return resp.StatusCode, data
}

func (c client) getJSON(path string, v any) int {
	c.t.Helper()
	code, data := c.do(http.MethodGet, path, nil)
	if code == http.StatusOK {
		require.NoError(c.t, json.Unmarshal(data, v), "%s", data)
	}
	return code
}

func login(t *testing.T, base, email, password string) client {
	t.Helper()
	c := client{t: t, base: base}
	code, data := c.do(http.MethodPost, "/api/v1/login", map[string]string{"email": email, "password": password})
	require.Equal(t, http.StatusOK, code, "login %s: %s", email, data)
	var resp struct{ Token string }
	require.NoError(t, json.Unmarshal(data, &resp))
	c.token = resp.Token
	return c
}

type series struct {
	Measurement string
	Field       string
	Tags        map[string]string
	Points      []struct {
		Time  time.Time
		Value any
	}
}

// influxLast reads the newest value of a field straight from InfluxDB, so
// the test checks what is stored, not only what the API says.
func influxLast(t *testing.T, influx *devenv.Influxd, measurement, field, series, where string) (time.Time, float64, bool) {
	t.Helper()
	q := fmt.Sprintf(`SELECT last(%q) FROM %q WHERE "asset" = '%s'%s`, field, measurement, series, where)
	resp, err := http.PostForm(influx.URL+"/query", url.Values{"db": {influx.Database}, "q": {q}, "epoch": {"ns"}})
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		Results []struct {
			Series []struct{ Values [][]json.Number }
		}
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	require.NoError(t, dec.Decode(&out))
	if len(out.Results) == 0 || len(out.Results[0].Series) == 0 {
		return time.Time{}, 0, false
	}
	row := out.Results[0].Series[0].Values[0]
	ns, err := row[0].Int64()
	require.NoError(t, err)
	v, err := row[1].Float64()
	require.NoError(t, err)
	return time.Unix(0, ns), v, true
}

// snmpget reads one value with net-snmp's snmpget (-Oqv values only, -Ot
// raw timeticks), the independent reference.
func snmpget(t *testing.T, s *devenv.Snmpd, oid string) string {
	t.Helper()
	out, err := exec.Command("snmpget", "-v2c", "-c", s.Community, "-Oqvt", s.Addr(), oid).Output()
	require.NoError(t, err, "snmpget %s", oid)
	return strings.Trim(strings.TrimSpace(string(out)), `"`)
}

func snmpgetUint(t *testing.T, s *devenv.Snmpd, oid string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(snmpget(t, s, oid), 10, 64)
	require.NoError(t, err)
	return v
}

func waitUntil(t *testing.T, timeout time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if f() {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

func TestIntegrationEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts influxd, snmpd and both binaries")
	}
	influx := devenv.Influx(t)
	snmpd := devenv.SNMP(t)
	agentBin, serverBin := buildBinaries(t)
	dir := t.TempDir()

	// The binaries report the version stamped at build time.
	require.Contains(t, run(t, agentBin, "--version"), "kpilot-agent "+version)
	require.Contains(t, run(t, serverBin, "--version"), "kpilot-server "+version)

	metricsPort, err := devenv.FreePort("tcp")
	require.NoError(t, err)
	// Two tenants, each with an admin.
	server := newServerEnv(t, serverBin, influx, dir)
	base, serverCfg := server.base, server.cfg
	run(t, serverBin, "validate", "--config", serverCfg)
	run(t, serverBin, "bootstrap", "--config", serverCfg, "--org", "Other AG", "--admin", "admin@other.example", "--password-file", filepath.Join(dir, "pw"))
	token := server.enrollToken(t)
	server.start(t)

	bmc, err := redfishmock.ListenTLS("127.0.0.1:0", "hpe-ilo5-dl360-gen10plus",
		redfishmock.Options{Username: "monitor", Password: "lab-bmc-password"})
	require.NoError(t, err)
	t.Cleanup(func() { bmc.Close() })
	bmcCA := filepath.Join(dir, "bmc-ca.pem")
	require.NoError(t, os.WriteFile(bmcCA, bmc.CAPEM, 0o600))

	// Recorded NetApp ONTAP REST answers stand in for a storage cluster.
	ontapEnv, err := mockoon.Load("../../collectors/rest/testdata/mockoon/netapp-ontap.json")
	require.NoError(t, err)
	ontap := httptest.NewServer(mockoon.NewServer(ontapEnv, ""))
	t.Cleanup(ontap.Close)

	agentCfg := filepath.Join(dir, "agent.yaml")
	rewrite(t, "agent.example.yaml", agentCfg,
		"http://127.0.0.1:8444", ontap.URL,
		"http://127.0.0.1:8080", base,
		"127.0.0.1:1161", snmpd.Addr(),
		"https://127.0.0.1:8443", bmc.URL,
		"# ca_file: /etc/kpilot/bmc-ca.pem", "ca_file: "+bmcCA,
		"/var/lib/kpilot", filepath.Join(dir, "agent"),
		"127.0.0.1:9465", fmt.Sprintf("127.0.0.1:%d", metricsPort),
		"interval: 15s", "interval: 2s",
		"flush_interval: 10s", "flush_interval: 500ms")
	run(t, agentBin, "validate", "--config", agentCfg)
	out := run(t, agentBin, "enroll", "--config", agentCfg, "--token", token)
	require.Contains(t, out, "enrolled as agent")
	credFile := filepath.Join(dir, "agent", "credential.json")
	fi, err := os.Stat(credFile)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the credential must be readable by the agent only")

	// check reaches every device and the server, which takes the credential.
	out = run(t, agentBin, "check", "--config", agentCfg)
	require.Contains(t, out, "credential accepted")
	require.Contains(t, out, "all 3 targets OK")

	// The token is single-use.
	_, err = exec.Command(agentBin, "enroll", "--config", agentCfg, "--token", token, "--force").Output()
	require.Error(t, err, "a used enrollment token must be refused")

	agentProc, err := devenv.Start("kpilot-agent", exec.Command(agentBin, "run", "--config", agentCfg), nil)
	require.NoError(t, err)
	t.Cleanup(func() { agentProc.Stop() })

	acmeAdmin := login(t, base, "admin@acme.example", "correct-horse-battery")
	var assetID, bmcID, ontapID string
	categories := map[string]string{}
	waitUntil(t, 30*time.Second, "the agent's assets to appear with their categories", func() bool {
		var resp struct {
			Assets []struct{ ID, Name, Category string }
		}
		require.Equal(t, http.StatusOK, acmeAdmin.getJSON("/api/v1/assets", &resp))
		for _, a := range resp.Assets {
			categories[a.Name] = a.Category
			switch a.Name {
			case "lab-snmpd":
				assetID = a.ID
			case "lab-bmc":
				bmcID = a.ID
			case "lab-ontap":
				ontapID = a.ID
			default:
				t.Errorf("unexpected asset %q", a.Name)
			}
		}
		return assetID != "" && bmcID != "" && ontapID != "" && categories["lab-ontap"] != "" && categories["lab-bmc"] != "" || t.Failed()
	})
	require.Equal(t, "storage", categories["lab-ontap"], "the REST template's category reaches the asset")
	// InfluxDB knows the assets by their series ids.
	assetSeries, bmcSeries, ontapSeries := server.seriesID(t, assetID), server.seriesID(t, bmcID), server.seriesID(t, ontapID)
	require.Equal(t, "server", categories["lab-bmc"])
	t.Run("ONTAP volume capacity in InfluxDB matches the REST answer", func(t *testing.T) {
		waitUntil(t, 30*time.Second, "volume size", func() bool {
			_, _, ok := influxLast(t, influx, "volume", "size_bytes", ontapSeries, ` AND "volume" = 'volume1' AND "svm" = 'svm1'`)
			return ok
		})
		_, size, _ := influxLast(t, influx, "volume", "size_bytes", ontapSeries, ` AND "volume" = 'volume1'`)
		require.Equal(t, 4398046511104.0, size)
		_, iops, ok := influxLast(t, influx, "storage_system", "total_iops", ontapSeries, "")
		require.True(t, ok)
		require.Equal(t, 1000.0, iops)
	})
	t.Run("BMC readings in InfluxDB match the Redfish mockup", func(t *testing.T) {
		// Chassis/1/Thermal and Power of the iLO 5 mockup.
		waitUntil(t, 30*time.Second, "BMC temperature", func() bool {
			_, _, ok := influxLast(t, influx, "temperature", "celsius", bmcSeries, ` AND "sensor" = '01-Inlet Ambient'`)
			return ok
		})
		_, celsius, _ := influxLast(t, influx, "temperature", "celsius", bmcSeries, ` AND "sensor" = '01-Inlet Ambient'`)
		require.Equal(t, 21.0, celsius)
		_, watts, ok := influxLast(t, influx, "power", "consumed_watts", bmcSeries, "")
		require.True(t, ok)
		require.Equal(t, 150.0, watts)
	})
	waitUntil(t, 30*time.Second, "uptime and interface counters in InfluxDB", func() bool {
		_, _, up := influxLast(t, influx, "system", "uptime_seconds", assetSeries, "")
		_, _, ifs := influxLast(t, influx, "interface", "in_octets", assetSeries, "")
		return up && ifs
	})

	// The server writes the asset names the dashboard shows when it starts
	// and every 15 minutes: a restart names the assets the agent brought
	// since it started.
	server.stop(t)
	server.start(t)
	t.Run("the Grafana dashboard's queries show the agent's data", func(t *testing.T) {
		waitUntil(t, 30*time.Second, "interface rates (two polls)", func() bool {
			_, _, ok := influxLast(t, influx, "interface", "in_octets_per_second", assetSeries, "")
			return ok
		})
		var me struct{ Organization struct{ Name string } }
		require.Equal(t, http.StatusOK, acmeAdmin.getJSON("/api/v1/me", &me))
		require.NotEmpty(t, me.Organization.Name)
		checkGrafanaDashboard(t, influx, me.Organization.Name,
			map[string]string{"lab-snmpd": assetSeries, "lab-bmc": bmcSeries, "lab-ontap": ontapSeries})
	})

	t.Run("uptime in InfluxDB matches snmpget", func(t *testing.T) {
		pointTime, uptime, _ := influxLast(t, influx, "system", "uptime_seconds", assetSeries, "")
		ticks := snmpgetUint(t, snmpd, ".1.3.6.1.2.1.1.3.0")
		readAt := time.Now()
		// sysUpTime grows 100 ticks a second: what snmpget reads now is what
		// the agent read at pointTime plus the time since.
		want := uptime + readAt.Sub(pointTime).Seconds()
		require.InDelta(t, want, float64(ticks)/100, 2.0,
			"got sysUpTime %.2fs from snmpget, want %.2fs (stored %.2fs at %s)", float64(ticks)/100, want, uptime, pointTime)
	})

	t.Run("interface counters in InfluxDB match snmpget", func(t *testing.T) {
		var latest struct{ Series []series }
		require.Equal(t, http.StatusOK, acmeAdmin.getJSON("/api/v1/assets/"+assetID+"/latest", &latest))
		checked := 0
		for _, s := range latest.Series {
			if s.Measurement != "interface" || s.Field != "in_octets" {
				continue
			}
			idx := s.Tags["ifindex"]
			require.Equal(t, snmpget(t, snmpd, ".1.3.6.1.2.1.31.1.1.1.1."+idx), s.Tags["ifname"], "ifName of ifindex %s", idx)
			// The agent keeps polling: compare with what InfluxDB holds at the
			// time of the API's point, not with a newer poll's.
			at := s.Points[0].Time
			storedAt, stored, ok := influxLast(t, influx, "interface", "in_octets", assetSeries,
				fmt.Sprintf(` AND "ifindex" = '%s' AND time <= %d`, idx, at.UnixNano()))
			require.True(t, ok)
			require.True(t, storedAt.Equal(at), "InfluxDB's point at or before %s is at %s", at, storedAt)
			require.Equal(t, stored, toFloat(t, s.Points[0].Value), "the API must return what InfluxDB holds")
			now := snmpgetUint(t, snmpd, ".1.3.6.1.2.1.31.1.1.1.6."+idx)
			require.GreaterOrEqual(t, float64(now), stored, "ifHCInOctets.%s went backwards: stored %v, snmpget %d", idx, stored, now)
			if s.Tags["ifname"] == "lo" {
				// Loopback moves only by this test's own traffic.
				require.Less(t, float64(now)-stored, 50e6, "lo moved %v bytes since the poll", float64(now)-stored)
			}
			checked++
		}
		want := int(snmpgetUint(t, snmpd, ".1.3.6.1.2.1.2.1.0")) // ifNumber
		require.Equal(t, want, checked, "got %d interfaces, want ifNumber %d", checked, want)
	})

	t.Run("series API aggregates over a window", func(t *testing.T) {
		var resp struct{ Series []series }
		code := acmeAdmin.getJSON("/api/v1/assets/"+assetID+"/series?measurement=system&field=uptime_seconds&start=-5m&every=1m&fn=max", &resp)
		require.Equal(t, http.StatusOK, code)
		require.Len(t, resp.Series, 1)
		require.NotEmpty(t, resp.Series[0].Points)
		require.Equal(t, "lab", resp.Series[0].Tags["site"], "target labels are kept as tags")
	})

	t.Run("anonymous and wrong credentials get 401", func(t *testing.T) {
		for _, path := range []string{"/api/v1/assets", "/api/v1/assets/" + assetID, "/api/v1/assets/" + assetID + "/latest",
			"/api/v1/assets/" + assetID + "/series?measurement=system&field=uptime_seconds"} {
			for name, tok := range map[string]string{"anonymous": "", "garbage": "kps_not-a-session", "agent credential": readCred(t, credFile)} {
				code, _ := client{t: t, base: base, token: tok}.do(http.MethodGet, path, nil)
				require.Equal(t, http.StatusUnauthorized, code, "%s on %s", name, path)
			}
		}
	})

	t.Run("another organization gets 404 and an empty list", func(t *testing.T) {
		other := login(t, base, "admin@other.example", "correct-horse-battery")
		var list struct{ Assets []any }
		require.Equal(t, http.StatusOK, other.getJSON("/api/v1/assets", &list))
		require.Empty(t, list.Assets)
		for _, path := range []string{"/api/v1/assets/" + assetID, "/api/v1/assets/" + assetID + "/latest",
			"/api/v1/assets/" + assetID + "/series?measurement=system&field=uptime_seconds"} {
			code, body := other.do(http.MethodGet, path, nil)
			require.Equal(t, http.StatusNotFound, code, "%s: %s", path, body)
		}
	})

	t.Run("hostile query parameters are refused", func(t *testing.T) {
		for _, q := range []string{
			`measurement=system")|>drop()//&field=uptime_seconds`,
			`measurement=system&field=x"+or+r.org_id+!=+"`,
			`measurement=system&field=uptime_seconds&fn=mean)|>yield(`,
			`measurement=system&field=uptime_seconds&start=0) |> range(start: -100y`,
			`measurement=system&field=uptime_seconds&every=1ms`,
		} {
			code, body := acmeAdmin.do(http.MethodGet, "/api/v1/assets/"+assetID+"/series?"+q, nil)
			require.Equal(t, http.StatusBadRequest, code, "%s: %s", q, body)
		}
	})

	t.Run("agent and server expose metrics", func(t *testing.T) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Contains(t, string(body), `kpilot_agent_collect_success{collector="lab_snmp",target="lab-snmpd"} 1`)
		require.Contains(t, string(body), `kpilot_agent_build_info{version="`+version+`"} 1`)

		// The server's own metrics are on its metrics listener; the API
		// listener does not answer them to anyone.
		resp, err = http.Get(base + "/metrics")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode, "the API listener serves no /metrics")
		// The server was restarted above: its counters start again, and
		// the agent's next batch (2 s polls) may not have reached it yet.
		stored := regexp.MustCompile(`kpilot_server_ingest_batches_total\{result="stored"\} [1-9]`)
		waitUntil(t, 30*time.Second, "a batch stored by the restarted server", func() bool {
			resp, err := http.Get(server.metrics + "/metrics")
			require.NoError(t, err)
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			return stored.Match(body)
		})
		for _, m := range []string{"kpilot_server_build_info", "kpilot_server_ingest_batch_samples_count",
			"kpilot_server_ingest_batch_bytes_count", "kpilot_server_influxdb_write_duration_seconds_count",
			`kpilot_server_store_query_duration_seconds_count{op="select"}`, `kpilot_server_http_request_duration_seconds_count{handler="ingest"}`} {
			require.Contains(t, string(body), m, "server metrics cover ingest, InfluxDB and the store")
		}
		scraped := string(body)

		// The example alert rules use only metrics that exist: the agent's,
		// the server's and the tenant endpoint's.
		resp, err = http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
		require.NoError(t, err)
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		scraped += string(body)
		code, kpis := acmeAdmin.do(http.MethodGet, "/api/v1/metrics", nil)
		require.Equal(t, http.StatusOK, code)
		checkAlertRules(t, scraped+string(kpis))
	})

	t.Run("SIGHUP reloads the config", func(t *testing.T) {
		require.NoError(t, agentProc.Signal(syscall.SIGHUP))
		waitUntil(t, 20*time.Second, "the reload", func() bool { return strings.Contains(agentProc.Log(), "config reloaded") })
		require.Contains(t, agentProc.Log(), "kept=3", "unchanged targets keep running")
		require.False(t, agentProc.Exited())
	})

	t.Run("SIGTERM stops both cleanly without a half-written batch", func(t *testing.T) {
		require.NoError(t, agentProc.Signal(syscall.SIGTERM))
		require.NoError(t, agentProc.Wait(20*time.Second), "agent exit:\n%s", agentProc.Log())
		require.Contains(t, agentProc.Log(), "agent stopped")
		entries, err := os.ReadDir(filepath.Join(dir, "agent", "spool"))
		require.NoError(t, err)
		for _, e := range entries {
			require.False(t, strings.HasPrefix(e.Name(), "."), "temporary spool file %s left behind", e.Name())
		}
		server.stop(t) // the process started last, after the dashboard's restart
	})
}

func toFloat(t *testing.T, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case float64:
		return x
	case json.Number:
		f, err := x.Float64()
		require.NoError(t, err)
		return f
	}
	t.Fatalf("value %v (%T) is not a number", v, v)
	return 0
}

func readCred(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var c struct{ Token string }
	require.NoError(t, json.Unmarshal(data, &c))
	return c.Token
}
