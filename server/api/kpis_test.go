package api_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/internal/devenv"
)

// testCatalog is the world's KPI catalog: one counter, for the
// exposition's names and types; every other field is undefined.
func testCatalog(t *testing.T) *catalog.Catalog {
	sec, err := catalog.ReadSection([]byte(`
kpis:
  - measurement: interface
    name: {en: Interface}
    fields:
      in_octets: {name: {en: Bytes received}, description: {en: Bytes received on the interface.}, unit: bytes, kind: counter}
`), "test")
	require.NoError(t, err)
	c, err := catalog.New(catalog.User, sec)
	require.NoError(t, err)
	return c
}

// TestExpositionShowsOnlyWhatTheTokenMaySee scrapes GET /api/v1/metrics
// with API tokens of every kind of caller, with KPIs of every asset in a
// real influxd.
func TestExpositionShowsOnlyWhatTheTokenMaySee(t *testing.T) {
	influx := devenv.Influx(t)
	w := newWorldInflux(t, influx)
	now := time.Now().Add(-time.Minute).UnixNano()
	var lines []string
	for _, key := range []string{"a_root", "a_branch", "g1"} {
		as := w.assets[key]
		tags := "asset=" + as.SeriesID
		lines = append(lines,
			fmt.Sprintf("cpu,%s,core=total utilization_percent=42.5,busy=true,note=\"text is no metric\" %d", tags, now),
			fmt.Sprintf("health_event,%s severity=2i %d", tags, now),
			fmt.Sprintf("system,%s uptime_seconds=3600,health_code=2i %d", tags, now),
			fmt.Sprintf("stale,%s v=1 %d", tags, time.Now().Add(-2*time.Hour).UnixNano()),
			fmt.Sprintf("interface,%s,ifname=eth0 in_octets=123456i,in_octets_per_second=10.5 %d", tags, now))
	}
	require.NoError(t, w.tsdb.Write(t.Context(), []byte(strings.Join(lines, "\n"))))

	type view struct {
		assets []string // keys of the assets whose KPIs the caller gets
		health bool     // service-only measurements included
	}
	want := map[string]view{
		"acme_admin":   {[]string{"a_branch", "a_root"}, true},
		"acme_viewer":  {[]string{"a_branch", "a_root"}, true},
		"branch_admin": {[]string{"a_branch"}, true},
		"globex_admin": {[]string{"g1"}, true},
		"r1_admin":     {[]string{"a_root"}, false}, // reseller grant: no health events
		"r1_viewer":    {[]string{"a_root"}, false},
		"r3_admin":     {nil, false}, // channel partner without an assignment
		"s1_admin":     {[]string{"a_branch", "a_root"}, true},
		"d_admin":      {nil, false},
		"r4_admin":     {nil, false}, // revoked
		"w_admin":      {nil, false}, // customer withdrew consent
	}
	keyOf := map[string]string{}
	for k, as := range w.assets {
		keyOf[as.ID] = k
	}
	for caller, v := range want {
		t.Run(caller, func(t *testing.T) {
			tok := w.do(caller, "POST", "/api/v1/api-tokens", map[string]any{"name": "prometheus"})
			require.Equal(t, http.StatusCreated, tok.code, "%s", tok.raw)
			r := w.do(tok.body["token"].(string), "GET", "/api/v1/metrics", nil)
			require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
			require.True(t, strings.HasPrefix(r.header.Get("Content-Type"), "text/plain"), r.header.Get("Content-Type"))
			parser := expfmt.NewTextParser(model.UTF8Validation)
			fams, err := parser.TextToMetricFamilies(strings.NewReader(string(r.raw)))
			require.NoError(t, err, "the answer is valid Prometheus text")

			seen := func(name string) []string {
				var out []string
				if f := fams[name]; f != nil {
					for _, m := range f.Metric {
						for _, l := range m.Label {
							if l.GetName() == "asset_id" {
								out = append(out, keyOf[l.GetValue()])
							}
						}
					}
				}
				slices.Sort(out)
				return slices.Compact(out)
			}
			require.Equal(t, v.assets, seen("kpilot_cpu_utilization_percent"))
			require.Equal(t, v.assets, seen("kpilot_asset_info"))
			require.Equal(t, v.assets, seen("kpilot_cpu_busy"), "booleans are 0 or 1")
			require.Equal(t, v.assets, seen("kpilot_system_uptime_seconds"))
			if v.health {
				require.Equal(t, v.assets, seen("kpilot_health_event_severity"))
				require.Equal(t, v.assets, seen("kpilot_system_health_code"))
			} else {
				require.Nil(t, fams["kpilot_health_event_severity"], "resellers do not see health events")
				require.Nil(t, fams["kpilot_system_health_code"], "nor health readings")
			}
			require.Nil(t, fams["kpilot_cpu_note"], "strings are not metrics")
			require.Nil(t, fams["kpilot_stale_v"], "values older than the lookback are left out")
			require.Equal(t, v.assets, seen("kpilot_interface_in_bytes_total"), "a defined counter")
			if f := fams["kpilot_interface_in_bytes_total"]; f != nil {
				require.Equal(t, dto.MetricType_COUNTER, f.GetType())
				require.Equal(t, "Bytes received on the interface.", f.GetHelp())
				require.Equal(t, 123456.0, f.Metric[0].GetCounter().GetValue())
			}
			require.Nil(t, fams["kpilot_interface_in_octets_per_second"], "a counter's rate is Prometheus' to compute")
			if len(v.assets) > 0 {
				m := fams["kpilot_cpu_utilization_percent"].Metric[0]
				require.Equal(t, 42.5, m.GetGauge().GetValue())
				labels := map[string]string{}
				for _, l := range m.Label {
					labels[l.GetName()] = l.GetValue()
				}
				require.Equal(t, "total", labels["core"], "series tags become labels")
				require.NotEmpty(t, labels["customer"])
				require.NotContains(t, labels, "org_id", "tenant tags stay inside")
			}
		})
	}
	t.Run("anonymous", func(t *testing.T) {
		r := w.do("anonymous", "GET", "/api/v1/metrics", nil)
		require.Equal(t, http.StatusUnauthorized, r.code)
		require.NotContains(t, string(r.raw), "kpilot_")
	})
	t.Run("OpenMetrics when the scraper asks for it", func(t *testing.T) {
		req, err := http.NewRequestWithContext(t.Context(), "GET", w.url+"/api/v1/metrics", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+w.tokens["acme_admin"])
		req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "application/openmetrics-text; version=1.0.0"), resp.Header.Get("Content-Type"))
		require.Contains(t, string(body), "# TYPE kpilot_interface_in_bytes counter\n# UNIT kpilot_interface_in_bytes bytes\n")
		require.True(t, strings.HasSuffix(string(body), "# EOF\n"))
	})
	t.Run("a longer lookback includes older values", func(t *testing.T) {
		r := w.do("acme_admin", "GET", "/api/v1/metrics?lookback=3h", nil)
		require.Equal(t, http.StatusOK, r.code)
		require.Contains(t, string(r.raw), "kpilot_stale_v{")
	})
}

// TestQueriesRefuseHostileInput sends injection attempts and nonsense to
// every KPI read; each is refused with 400 before a query is built.
func TestQueriesRefuseHostileInput(t *testing.T) {
	w := newWorld(t) // InfluxDB is unreachable: a query that got through would answer 503
	id := w.assets["a_root"].ID
	flux := `") |> drop(columns: ["org_id"]) |> yield(name: "x`
	influxQL := `cpu" WHERE "asset" =~ /.*/; DROP DATABASE "kpilot`
	for _, path := range []string{
		"/api/v1/assets/" + id + "/series?measurement=" + url.QueryEscape(influxQL) + "&field=v",
		"/api/v1/assets/" + id + "/series?measurement=cpu&field=" + url.QueryEscape(`v' OR "asset" != '`),
		"/api/v1/assets/" + id + "/series?measurement=cpu&field=v&every=1m&fn=" + url.QueryEscape(`mean("v")) FROM /.*/ --`),
		"/api/v1/assets/" + id + "/series?measurement=" + url.QueryEscape(flux) + "&field=v",
		"/api/v1/assets/" + id + "/series?measurement=cpu&field=" + url.QueryEscape(`v" or r._field != "`),
		"/api/v1/assets/" + id + "/series?measurement=cpu&field=v&start=" + url.QueryEscape(`2026-01-01T00:00:00Z) |> yield(`),
		"/api/v1/assets/" + id + "/series?measurement=cpu&field=v&every=1ms",
		"/api/v1/assets/" + id + "/series?measurement=cpu&field=v&every=1m&fn=" + url.QueryEscape("mean) |> drop("),
		"/api/v1/assets/" + id + "/series?measurement=cpu&field=v&start=-1000000h&every=1s",
		"/api/v1/assets/" + id + "/series?measurement=CPU&field=v",
		"/api/v1/assets/" + id + "/latest?lookback=" + url.QueryEscape("1h) |> drop("),
		"/api/v1/assets/" + id + "/latest?lookback=-5m",
		"/api/v1/assets/" + id + "/availability?start=" + url.QueryEscape(flux),
		"/api/v1/assets/" + id + "/availability?start=-10000h",
		"/api/v1/assets/" + id + "/availability?start=now&stop=-1h",
		"/api/v1/assets/" + id + "/availability?every=1s",
		"/api/v1/assets/" + id + "/availability?start=-30d&every=1m",
		"/api/v1/assets/" + id + "/usage?period=" + url.QueryEscape(`day" |> drop(`),
		"/api/v1/assets/" + id + "/usage?start=" + url.QueryEscape(flux),
		"/api/v1/assets/" + id + "/usage?period=month&start=-10000h",
		"/api/v1/assets/" + id + "/inventory/history?limit=100000",
		"/api/v1/assets/" + id + "/inventory/history?before=yesterday",
		"/api/v1/metrics?lookback=" + url.QueryEscape("15m) |> yield("),
	} {
		r := w.do("acme_admin", "GET", path, nil)
		require.Equal(t, http.StatusBadRequest, r.code, "%s: %s", path, r.raw)
		require.NotContains(t, r.body["error"], "127.0.0.1", "no internals in the answer")
	}
	// An id that is not an asset of the caller is 404 whatever it holds.
	for _, bad := range []string{url.PathEscape(`x" or true or "`), "..%2F..%2Fmetrics", w.assets["g1"].ID} {
		r := w.do("acme_admin", "GET", "/api/v1/assets/"+bad+"/availability", nil)
		require.Equal(t, http.StatusNotFound, r.code, bad)
	}
}
