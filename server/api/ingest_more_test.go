package api_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/wire"
	"github.com/kpilot/kpilot/server/api"
	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/store"
)

// userToken returns a session token of an admin of the env's organization.
func (e *env) userToken() string {
	e.t.Helper()
	u := store.User{Email: uuid.NewString() + "@acme.example", PasswordHash: "unused"}
	require.NoError(e.t, e.store.CreateUser(e.t.Context(), &u))
	require.NoError(e.t, e.store.AddMembership(e.t.Context(), store.Membership{UserID: u.ID, OrgID: e.org.ID, OUID: e.org.RootOU, Role: store.Admin}))
	tok, th := auth.NewToken(auth.PrefixSession)
	now := time.Now()
	require.NoError(e.t, e.store.CreateSession(e.t.Context(), store.Session{TokenHash: th, UserID: u.ID, OrgID: e.org.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	return tok
}

func (e *env) get(tok, path string) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.url+path, nil)
	require.NoError(e.t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	require.NoError(e.t, json.Unmarshal(raw, &out), "%s", raw)
	return resp.StatusCode, out
}

// batchOf encodes samples and inventories the way the agent does.
func batchOf(t *testing.T, samples []kpi.Sample, inv ...kpi.Inventory) []byte {
	t.Helper()
	b, err := wire.NewBatch(samples, inv)
	require.NoError(t, err)
	data, err := b.Marshal()
	require.NoError(t, err)
	return data
}

func (e *env) assetBySource(name string) store.Asset {
	e.t.Helper()
	list, err := e.store.Assets(e.t.Context(), e.org.ID)
	require.NoError(e.t, err)
	for _, a := range list {
		if a.Name == name {
			return a
		}
	}
	e.t.Fatalf("no asset %q among %v", name, list)
	return store.Asset{}
}

func TestIngestRoundTripOfEveryType(t *testing.T) {
	influx := devenv.Influx(t)
	e := newEnv(t, influx, influx.URL)
	at := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	tags := map[string]string{"port": "Gi 1/0/1, uplink=core", "site": "München"}
	fields := map[string]any{"f": 1.5, "neg": -2.25e-3, "i": int64(-42), "u": uint64(1 << 62), "b": true, "s": `quote " and \ and newline` + "\n" + `end`}
	r := e.post(e.cred, batchOf(t, []kpi.Sample{{Asset: "sw 1", Measurement: "types", Tags: tags, Fields: fields, Time: at}}))
	require.Equal(t, http.StatusOK, r.code, "%v", r.body)
	require.Equal(t, 1.0, r.body["accepted"])
	require.Equal(t, 0.0, r.body["rejected"], "%v", r.body)

	as := e.assetBySource("sw 1")
	code, body := e.get(e.userToken(), "/api/v1/assets/"+as.ID+"/latest")
	require.Equal(t, http.StatusOK, code, "%v", body)
	got := map[string]any{}
	for _, s := range body["series"].([]any) {
		s := s.(map[string]any)
		require.Equal(t, "types", s["measurement"])
		require.Equal(t, map[string]any{"port": tags["port"], "site": tags["site"]}, s["tags"], "tags with spaces, commas, equals and UTF-8 come back as sent")
		p := s["points"].([]any)[0].(map[string]any)
		got[s["field"].(string)] = p["value"]
		ts, err := time.Parse(time.RFC3339Nano, p["time"].(string))
		require.NoError(t, err)
		require.True(t, ts.Equal(at), "collection time kept: %v", ts)
	}
	require.Equal(t, map[string]any{"f": 1.5, "neg": -2.25e-3, "i": -42.0, "u": float64(uint64(1 << 62)), "b": true, "s": fields["s"]}, got)
}

func TestIngestPartialWriteReportsOnlyTheBadPoint(t *testing.T) {
	influx := devenv.Influx(t)
	e := newEnv(t, influx, influx.URL)
	require.Equal(t, http.StatusOK, e.post(e.cred, batchBody(t, uuid.NewString(), fmt.Sprintf("conflict,asset=sw1 v=1 %d", ts()))).code)
	// v is a float in InfluxDB now; a string v conflicts. The other points
	// of the batch are stored, the conflict is reported.
	lines := fmt.Sprintf("conflict,asset=sw1 v=\"text\" %d\nconflict,asset=sw1,port=2 v=2 %d\nconflict,asset=sw1,port=3 v=3 %d", ts()+1, ts()+2, ts()+3)
	r := e.post(e.cred, batchBody(t, uuid.NewString(), lines))
	require.Equal(t, http.StatusOK, r.code, "%v", r.body)
	require.Equal(t, 1.0, r.body["rejected"])
	require.Contains(t, r.body["rejections"].([]any)[0], "field type conflict")
	require.Equal(t, 3, e.count("conflict", ""))
}

func TestIngestRecognisesDevicesAndKeepsInventoryHistory(t *testing.T) {
	influx := devenv.Influx(t)
	e := newEnv(t, influx, influx.URL)
	user := e.userToken()
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	inv := func(asset string, at time.Time, fw string) kpi.Inventory {
		return kpi.Inventory{Asset: asset, Time: at, Attributes: map[string]any{"manufacturer": "Dell Inc.", "model": "PowerEdge R640",
			"serial": "7N5NN2", "uuid": "4c4c4544-0037-4e10-8035-b4c04f4e4e32", "bios_version": fw, "category": "server"}}
	}
	sample := func(asset string, at time.Time) kpi.Sample {
		return kpi.Sample{Asset: asset, Measurement: "cpu", Fields: map[string]any{"v": 10.0}, Time: at}
	}
	require.Equal(t, http.StatusOK, e.post(e.cred, batchOf(t, []kpi.Sample{sample("bmc-1", t0)}, inv("bmc-1", t0, "2.1"))).code)
	first := e.assetBySource("bmc-1")
	require.Equal(t, "7N5NN2", first.Serial)

	// The agent is re-installed and the target renamed; the next poll
	// carries the same UUID and serial, and a new BIOS.
	again := e.enroll(e.branch.ID)
	r := e.post(again, batchOf(t, []kpi.Sample{sample("r640-db", t0.Add(time.Minute))}, inv("r640-db", t0.Add(time.Minute), "2.2")))
	require.Equal(t, http.StatusOK, r.code, "%v", r.body)
	list, err := e.store.Assets(t.Context(), e.org.ID)
	require.NoError(t, err)
	require.Len(t, list, 1, "no duplicate asset")
	require.Equal(t, 2, e.count("cpu", fmt.Sprintf(`WHERE "asset" = '%s'`, first.SeriesID)), "both samples are the asset's")

	// An older snapshot arriving late changes nothing.
	require.Equal(t, http.StatusOK, e.post(e.cred, batchOf(t, nil, inv("bmc-1", t0.Add(-time.Minute), "1.0"))).code)

	code, body := e.get(user, "/api/v1/assets/"+first.ID+"/inventory")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "2.2", body["inventory"].(map[string]any)["attributes"].(map[string]any)["bios_version"])
	code, body = e.get(user, "/api/v1/assets/"+first.ID+"/inventory/history")
	require.Equal(t, http.StatusOK, code, "%v", body)
	hist := body["history"].([]any)
	require.Len(t, hist, 2)
	latest := hist[0].(map[string]any)
	require.Equal(t, []any{map[string]any{"path": "attributes.bios_version", "op": "changed", "before": "2.1", "after": "2.2"}}, latest["changes"])
	require.Equal(t, true, hist[1].(map[string]any)["first"])
	code, body = e.get(user, "/api/v1/assets/"+first.ID+"/inventory/history?limit=1")
	require.Equal(t, http.StatusOK, code)
	next := body["next_before"].(string)
	_, body = e.get(user, "/api/v1/assets/"+first.ID+"/inventory/history?limit=1&before="+url.QueryEscape(next))
	require.Equal(t, true, body["history"].([]any)[0].(map[string]any)["first"], "paging reaches the first snapshot")
}

func TestAvailabilityOfAScriptedOutage(t *testing.T) {
	influx := devenv.Influx(t)
	e := newEnv(t, influx, influx.URL)
	// Two hours of 1-minute polls: unreachable from 20 to 30, a reboot at
	// 50:30 between two good polls, the agent stopped from 80 to 100.
	t0 := time.Now().Add(-3 * time.Hour).Truncate(time.Hour)
	at := func(min float64) time.Time { return t0.Add(time.Duration(min * float64(time.Minute))) }
	var samples []kpi.Sample
	for m := 0; m < 120; m++ {
		if m >= 80 && m < 100 {
			continue
		}
		samples = append(samples, kpi.Sample{Asset: "ups", Measurement: "agent_poll", Tags: map[string]string{"collector": "snmp"},
			Fields: map[string]any{"up": m < 20 || m >= 30, "duration_seconds": 0.1}, Time: at(float64(m))})
	}
	samples = append(samples, kpi.Sample{Asset: "ups", Measurement: "reboot", Time: at(50.5),
		Fields: map[string]any{"last_seen_up": at(50).Unix(), "uptime_before_seconds": 1e6, "downtime_max_seconds": 30.0}})
	require.Equal(t, http.StatusOK, e.post(e.cred, batchOf(t, samples)).code)

	as := e.assetBySource("ups")
	q := url.Values{"start": {at(0).Format(time.RFC3339)}, "stop": {at(120).Format(time.RFC3339)}, "every": {"1h"}}
	code, body := e.get(e.userToken(), "/api/v1/assets/"+as.ID+"/availability?"+q.Encode())
	require.Equal(t, http.StatusOK, code, "%v", body)
	sum := body["summary"].(map[string]any)
	// Monitored: 120 min minus 80..100 less the 3 minutes the last state
	// holds (82..100 unmonitored = 18 min) → 102 min; down 10 min + 30 s.
	require.InDelta(t, 102*60, sum["monitored_seconds"], 0.5)
	require.InDelta(t, 630, sum["down_seconds"], 0.5)
	require.InDelta(t, 1-630.0/(102*60), sum["availability"], 1e-6)
	require.Equal(t, 1.0, sum["reboots"])
	outages := sum["outages"].([]any)
	require.Len(t, outages, 2)
	require.Equal(t, "unreachable", outages[0].(map[string]any)["cause"])
	require.Equal(t, 600.0, outages[0].(map[string]any)["seconds"])
	require.Equal(t, "reboot", outages[1].(map[string]any)["cause"])
	periods := body["periods"].([]any)
	require.Len(t, periods, 2)
	require.InDelta(t, 630, periods[0].(map[string]any)["down_seconds"], 0.5, "both outages fall in the first hour")
	require.InDelta(t, 0, periods[1].(map[string]any)["down_seconds"], 0.5)
}

func TestIngestBackpressure(t *testing.T) {
	outer := t // influxd restarted in a subtest lives on after it
	dir := t.TempDir()
	port, err := devenv.FreePort("tcp")
	require.NoError(t, err)
	influx := devenv.InfluxAt(t, dir, port)
	e := newEnv(t, influx, influx.URL)

	t.Run("InfluxDB stopped: 503 with Retry-After, the same batch stored once it is back", func(t *testing.T) {
		require.NoError(t, influx.Stop())
		body := batchBody(t, uuid.NewString(), fmt.Sprintf("bp,asset=sw1 v=1 %d", ts()))
		r := e.post(e.cred, body)
		require.Equal(t, http.StatusServiceUnavailable, r.code, "%v", r.body)
		require.NotEmpty(t, r.header.Get("Retry-After"))
		influx = devenv.InfluxAt(outer, dir, port)
		r = e.post(e.cred, body)
		require.Equal(t, http.StatusOK, r.code, "%v", r.body)
		require.Equal(t, "stored", r.body["status"])
		require.Equal(t, 1, e.count("bp", ""))
		require.Positive(t, metricValue(t, e.reg, "kpilot_server_influxdb_write_errors_total", "unavailable"))
	})

	t.Run("InfluxDB hanging: later batches get 429 instead of piling up", func(t *testing.T) {
		slow := newEnvWith(t, influx, influx.URL, func(l *api.Limits) {
			l.Ingest.Concurrency, l.Ingest.QueueWait, l.Ingest.InfluxRetries = 1, 100*time.Millisecond, -1
		})
		require.NoError(t, influx.Signal(syscall.SIGSTOP))
		stopped := true
		defer func() {
			if stopped {
				influx.Signal(syscall.SIGCONT)
			}
		}()
		first := make(chan result, 1)
		go func() {
			first <- slow.post(slow.cred, batchBody(t, uuid.NewString(), fmt.Sprintf("hang,asset=sw1 v=1 %d", ts())))
		}()
		require.Eventually(t, func() bool {
			return metricValue(t, slow.reg, "kpilot_server_ingest_in_flight", "") == 1
		}, 5*time.Second, 10*time.Millisecond)
		r := slow.post(slow.cred, batchBody(t, uuid.NewString(), fmt.Sprintf("hang,asset=sw1 v=2 %d", ts())))
		require.Equal(t, http.StatusTooManyRequests, r.code, "%v", r.body)
		require.Equal(t, "5", r.header.Get("Retry-After"))
		require.Equal(t, http.StatusServiceUnavailable, (<-first).code, "the hanging write times out")
		require.NoError(t, influx.Signal(syscall.SIGCONT))
		stopped = false
		require.Equal(t, http.StatusOK, slow.post(slow.cred, batchBody(t, uuid.NewString(), fmt.Sprintf("hang,asset=sw1 v=3 %d", ts()))).code)
	})
}

func TestGzipBombIsRefusedWithoutMemoryGrowth(t *testing.T) {
	// 200 MB of one byte compresses to about 200 KB: over the decompressed
	// limit (256 KiB here) long before the end.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"version":1,"id":"` + uuid.NewString() + `","samples":"`))
	chunk := bytes.Repeat([]byte{'a'}, 1<<20)
	for range 200 {
		_, _ = zw.Write(chunk)
	}
	require.NoError(t, zw.Close())
	bomb := buf.Bytes()
	require.Less(t, len(bomb), 1<<20)

	bigEnv := newEnvWith(t, nil, "http://127.0.0.1:1", func(l *api.Limits) { l.Ingest.MaxBytes = 2 << 20 })
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := bigEnv.post(bigEnv.cred, bomb)
	runtime.ReadMemStats(&after)
	require.Equal(t, http.StatusRequestEntityTooLarge, r.code, "%v", r.body)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(16<<20), "decompression stops at the limit")
}

// metricValue sums the samples of a metric whose label values include
// label ("" for any).
func metricValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	require.NoError(t, err)
	sum := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.Metric {
			match := label == ""
			for _, l := range m.Label {
				match = match || l.GetValue() == label
			}
			if !match {
				continue
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}
