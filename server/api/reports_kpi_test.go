package api_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
)

// scriptKPIs writes scripted KPI histories of the world's Acme assets
// into its influxd: a_root is a backup server with a nightly job and an
// agent polling it every 5 minutes with one 30-minute outage; a_branch is
// a NAS whose /data volume grows one point a day and whose two CPUs run
// at 20% and 40%.
func scriptKPIs(t *testing.T, w *world, now time.Time) {
	var lp strings.Builder
	point := func(key, series, fields string, at time.Time) {
		as := w.assets[key]
		m, tags, _ := strings.Cut(series, ",")
		if tags != "" {
			tags = "," + tags
		}
		fmt.Fprintf(&lp, "%s,asset=%s%s %s %d\n", m, as.SeriesID, tags, fields, at.UnixNano())
	}
	outage := now.Add(-10 * time.Hour)
	for at := now.Add(-48 * time.Hour); at.Before(now); at = at.Add(5 * time.Minute) {
		up := at.Before(outage) || !at.Before(outage.Add(30*time.Minute))
		point("a_root", "agent_poll,collector=rest", "up="+strconv.FormatBool(up), at)
	}
	for i := range 20 * 4 {
		at := now.Add(-time.Duration(20*4-i) * 6 * time.Hour)
		point("a_branch", "storage,descr=/data", fmt.Sprintf("used_percent=%g,size_bytes=2000000000000i", 40+float64(i)/4), at)
		point("a_branch", "cpu,index=1", "load_percent=20", at)
		point("a_branch", "cpu,index=2", "load_percent=40", at)
	}
	day := now.Truncate(24 * time.Hour)
	var lastSuccess time.Time
	for i := range 10 {
		run := day.Add(-time.Duration(10-i)*24*time.Hour + 2*time.Hour)
		status := 0
		if i == 3 || i == 7 {
			status = 2
		} else {
			lastSuccess = run
		}
		for k := range 4 { // polled four times while this run is the last
			at := run.Add(time.Duration(k)*6*time.Hour + time.Hour)
			point("a_root", "backup_job,job=Nightly,backup_server=b1", fmt.Sprintf("status=%di,last_run_time=%di", status, run.Unix()), at)
			point("a_root", "backup_last_success,job=Nightly,backup_server=b1", fmt.Sprintf("end_time=%di", lastSuccess.Unix()), at)
		}
	}
	require.NoError(t, w.tsdb.Write(t.Context(), []byte(lp.String())))
}

func rowsBy(rows []map[string]string, key string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, r := range rows {
		out[r[key]] = r
	}
	return out
}

func TestKPIReportsOverScriptedHistories(t *testing.T) {
	w := newWorldInflux(t, devenv.Influx(t))
	now := time.Now().UTC()
	scriptKPIs(t, w, now)
	rootID, branchID := w.assets["a_root"].ID, w.assets["a_branch"].ID

	// Availability: the report equals the asset's availability answer.
	period := "start=-48h&stop=" + now.Format(time.RFC3339)
	rep := rowsBy(csvRows(t, w.do("acme_admin", "GET", "/api/v1/reports/availability?"+period, nil)), "asset_id")
	require.Len(t, rep, 2, "every Acme asset has a row, with data or not")
	api := w.do("acme_admin", "GET", "/api/v1/assets/"+rootID+"/availability?"+period, nil)
	sum := api.body["summary"].(map[string]any)
	root := rep[rootID]
	require.Equal(t, "30", root["downtime_minutes"])
	require.Equal(t, "1", root["outages"])
	require.Equal(t, "30", root["longest_outage_minutes"])
	avail, err := strconv.ParseFloat(root["availability_percent"], 64)
	require.NoError(t, err)
	require.InDelta(t, 100*sum["availability"].(float64), avail, 0.001)
	require.InDelta(t, 100*(1-30.0/(48*60)), avail, 0.02)
	require.Empty(t, rep[branchID]["availability_percent"], "nothing monitored: no figure, not 0% or 100%")

	// Capacity: the growing volume's trend and forecast, CPU as the mean
	// of its processors.
	rows := csvRows(t, w.do("acme_admin", "GET", "/api/v1/reports/capacity?start=-720h", nil))
	byName := rowsBy(rows, "name")
	data := byName["storage /data"]
	require.Equal(t, branchID, data["asset_id"])
	require.Equal(t, "2000000000000", data["size_bytes"])
	require.Equal(t, "59.75", data["current_percent"])
	require.Equal(t, "1", data["trend_points_per_day"])
	require.Equal(t, "40.3", data["days_until_full"])
	cpu := byName["all processors"]
	require.Equal(t, "cpu", cpu["resource"])
	require.Equal(t, "30", cpu["average_percent"])
	require.Equal(t, "30", cpu["peak_percent"])
	require.Empty(t, cpu["days_until_full"], "CPUs are not forecast to fill up")

	pdf := pdfText(t, w.do("acme_admin", "GET", "/api/v1/reports/capacity?format=pdf&start=-720h", nil))
	require.Contains(t, pdf, "Utilization and capacity report")
	require.Contains(t, pdf, "storage /data")
	require.Contains(t, pdf, "59.75 %")
	require.Contains(t, pdf, "40.3 d", "days until full as a duration")

	// Backup: ten nightly runs, two failed.
	rows = csvRows(t, w.do("acme_admin", "GET", "/api/v1/reports/backup?start=-360h", nil))
	require.Len(t, rows, 1)
	job := rows[0]
	require.Equal(t, "Nightly", job["job"])
	require.Equal(t, rootID, job["asset_id"])
	require.Equal(t, "10", job["runs"])
	require.Equal(t, "2", job["failed_runs"])
	require.Equal(t, "80", job["success_percent"])
	require.Equal(t, "success", job["last_result"])
	require.Equal(t, job["last_run"], job["last_success"])
	pdf = pdfText(t, w.do("acme_admin", "GET", "/api/v1/reports/backup?format=pdf&start=-360h", nil))
	require.Contains(t, pdf, "Backup report")
	require.Contains(t, pdf, "80 %")

	// Visibility: a reseller sees the asset it holds a grant for, and only
	// that; the other tenant sees none of Acme's figures.
	rows = csvRows(t, w.do("r1_admin", "GET", "/api/v1/reports/capacity?start=-720h", nil))
	for _, r := range rows {
		require.NotEqual(t, branchID, r["asset_id"])
	}
	rows = csvRows(t, w.do("r1_admin", "GET", "/api/v1/reports/backup?start=-360h", nil))
	require.Len(t, rows, 1, "reports are the reseller's to see")
	for _, path := range []string{"availability", "capacity?start=-720h", "backup?start=-360h"} {
		for _, c := range []string{"globex_admin", "r4_admin", "w_admin", "r3_admin"} {
			body := string(w.do(c, "GET", "/api/v1/reports/"+path, nil).raw)
			require.NotContains(t, body, rootID, "%s %s", c, path)
			require.NotContains(t, body, branchID, "%s %s", c, path)
		}
	}
	r := w.do("acme_admin", "GET", "/api/v1/reports/backup?start=-12000h", nil)
	require.Equal(t, http.StatusBadRequest, r.code)
	r = w.do("acme_admin", "GET", "/api/v1/reports/capacity?asset_id="+w.assets["g1"].ID, nil)
	require.Equal(t, http.StatusNotFound, r.code)
}
