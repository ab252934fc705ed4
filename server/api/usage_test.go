package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
)

// TestIntegrationAssetUsage scripts two days of a server in a real
// influxd: a_root's BMC reports it powered on for the first half of the
// first day and all of the second, while its agent reaches it all the
// time; g1 (Globex's switch) has uptime readings from 06:00 of the first
// day (booted at midnight) and polls, unreachable from noon of the
// second day.
func TestIntegrationAssetUsage(t *testing.T) {
	w := newWorldInflux(t, devenv.Influx(t))
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
	var lp strings.Builder
	point := func(key, series, fields string, at time.Time) {
		m, tags, _ := strings.Cut(series, ",")
		if tags != "" {
			tags = "," + tags
		}
		fmt.Fprintf(&lp, "%s,asset=%s%s %s %d\n", m, w.assets[key].SeriesID, tags, fields, at.UnixNano())
	}
	for at := day; at.Before(day.Add(48 * time.Hour)); at = at.Add(10 * time.Minute) {
		point("a_root", "agent_poll,collector=redfish", "up=true,outcome=0i", at)
		on := at.Sub(day) < 12*time.Hour || at.Sub(day) >= 24*time.Hour
		point("a_root", "server_health,system=1", fmt.Sprintf("powered_on=%t", on), at)
		if at.Sub(day) >= 6*time.Hour {
			fields := "up=true,outcome=0i"
			if at.Sub(day) >= 36*time.Hour {
				fields = "up=false,outcome=2i"
			}
			point("g1", "agent_poll,collector=snmp", fields, at)
		}
		if at.Sub(day) >= 6*time.Hour && at.Sub(day) < 24*time.Hour {
			point("g1", "system", fmt.Sprintf("uptime_seconds=%g", at.Sub(day).Seconds()), at)
		}
	}
	require.NoError(t, w.tsdb.Write(t.Context(), []byte(lp.String())))
	span := "&start=" + day.Format(time.RFC3339) + "&stop=" + day.Add(48*time.Hour).Format(time.RFC3339)
	hours := func(r map[string]any, key string) float64 { return r[key].(float64) / 3600 }

	r := w.do("acme_admin", "GET", "/api/v1/assets/"+w.assets["a_root"].ID+"/usage?period=day"+span, nil)
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	periods := r.body["periods"].([]any)
	require.Len(t, periods, 2)
	first, second := periods[0].(map[string]any), periods[1].(map[string]any)
	require.Equal(t, day.Format(time.RFC3339), first["start"])
	require.InDelta(t, 12, hours(first, "in_use_seconds"), 1e-6, "powered off from noon, though reachable")
	require.InDelta(t, 12, hours(first, "not_in_use_seconds"), 1e-6)
	require.InDelta(t, 24, hours(second, "in_use_seconds"), 1e-6)
	require.Equal(t, map[string]any{"power_state": 86400.0}, second["sources"])
	require.InDelta(t, 36, hours(r.body["summary"].(map[string]any), "in_use_seconds"), 1e-6)

	r = w.do("globex_admin", "GET", "/api/v1/assets/"+w.assets["g1"].ID+"/usage?period=day"+span, nil)
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	periods = r.body["periods"].([]any)
	first, second = periods[0].(map[string]any), periods[1].(map[string]any)
	require.InDelta(t, 24, hours(first, "in_use_seconds"), 1e-6, "the uptime read at 06:00 reaches back to the boot")
	require.InDelta(t, 23+50.0/60, hours(first["sources"].(map[string]any), "uptime"), 1e-6)
	require.InDelta(t, 10.0/60, hours(first["sources"].(map[string]any), "polls"), 1e-6, "after the last uptime reading the polls decide")
	require.InDelta(t, 12, hours(second, "in_use_seconds"), 1e-6)
	require.InDelta(t, 12, hours(second, "not_in_use_seconds"), 1e-6, "unreachable from noon")

	r = w.do("globex_admin", "GET", "/api/v1/assets/"+w.assets["g1"].ID+"/usage?period=week"+span, nil)
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	require.Equal(t, "week", r.body["period"])
	require.InDelta(t, 36, hours(r.body["summary"].(map[string]any), "in_use_seconds"), 1e-6)

	// Without a start, the days start at midnight 30 days back.
	r = w.do("globex_admin", "GET", "/api/v1/assets/"+w.assets["g1"].ID+"/usage", nil)
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	require.Len(t, r.body["periods"], 31)
	require.Equal(t, time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -30).Format(time.RFC3339), r.body["summary"].(map[string]any)["start"])

	r = w.do("globex_admin", "GET", "/api/v1/assets/"+w.assets["g1"].ID+"/usage?period=year", nil)
	require.Equal(t, http.StatusBadRequest, r.code)
	require.Equal(t, `period "year": one of day, week, month`, r.body["error"])

	// Every read starts from the caller's visible assets: another
	// tenant's asset, or one without a grant, is 404.
	for _, c := range []string{"globex_admin", "r4_admin", "branch_admin"} {
		r := w.do(c, "GET", "/api/v1/assets/"+w.assets["a_root"].ID+"/usage?period=day"+span, nil)
		require.Equal(t, http.StatusNotFound, r.code, c)
		require.NotContains(t, string(r.raw), "in_use_seconds", c)
	}
}
