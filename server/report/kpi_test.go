package report

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/server/maintenance"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
)

// kpiScope is two customers' assets as a reseller sees them: Acme's
// backup server and NAS, and Beta's backup server.
func kpiScope() Scope {
	const acme, beta = "0b7c1f5e-0000-4000-8000-00000000000a", "0b7c1f5e-0000-4000-8000-00000000000b"
	return Scope{
		Assets: []store.Asset{
			{ID: "0b7c1f5e-0000-4000-8000-000000000001", OrgID: acme, OUID: "ou-a", Name: "Acme ESX", Category: "server", SeriesID: "1.1"},
			{ID: "0b7c1f5e-0000-4000-8000-000000000002", OrgID: acme, OUID: "ou-a", Name: "Acme NAS", Category: "storage", SeriesID: "1.2"},
			{ID: "0b7c1f5e-0000-4000-8000-000000000003", OrgID: beta, OUID: "ou-b", Name: "Beta Backup", Category: "backup", SeriesID: "2.1"},
		},
		Customers: map[string]string{acme: "Acme GmbH", beta: "Beta AG"},
		OrgID:     "0b7c1f5e-0000-4000-8000-00000000000c",
		Label:     "All assets you may see",
	}
}

// scriptKPIs writes scripted histories: the ESX host is polled every 5
// minutes for 48 hours with one 30-minute outage and runs a nightly
// backup job (ten runs, two failed); the NAS's /data volume grows one
// point a day, its two CPUs run at 20% and 40% and its memory kinds at
// 50% and 10%; Beta's backup server's only run failed.
func scriptKPIs(t *testing.T, ts *tsdb.Influx, sc Scope, now time.Time) {
	var lp strings.Builder
	point := func(as store.Asset, series, fields string, at time.Time) {
		m, tags, _ := strings.Cut(series, ",")
		if tags != "" {
			tags = "," + tags
		}
		fmt.Fprintf(&lp, "%s,asset=%s%s %s %d\n", m, as.SeriesID, tags, fields, at.UnixNano())
	}
	esx, nas, beta := sc.Assets[0], sc.Assets[1], sc.Assets[2]
	outage := now.Add(-10 * time.Hour)
	for at := now.Add(-48 * time.Hour); at.Before(now); at = at.Add(5 * time.Minute) {
		up := at.Before(outage) || !at.Before(outage.Add(30*time.Minute))
		point(esx, "agent_poll,collector=rest", "up="+strconv.FormatBool(up), at)
	}
	for i := range 20 * 4 {
		at := now.Add(-time.Duration(20*4-i) * 6 * time.Hour)
		point(nas, "storage,descr=/data", fmt.Sprintf("used_percent=%g,size_bytes=2000000000000i", 40+float64(i)/4), at)
		point(nas, "cpu,index=1", "load_percent=20", at)
		point(nas, "cpu,index=2", "load_percent=40", at)
		point(nas, `memory,descr=Physical\ memory`, "used_percent=50", at)
		point(nas, "memory,descr=Swap", "used_percent=10", at)
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
			point(esx, "backup_job,job=Nightly,backup_server=b1", fmt.Sprintf("status=%di,last_run_time=%di", status, run.Unix()), at)
			point(esx, "backup_last_success,job=Nightly,backup_server=b1", fmt.Sprintf("end_time=%di", lastSuccess.Unix()), at)
		}
	}
	run := day.Add(-24*time.Hour + 3*time.Hour)
	point(beta, "backup_job,job=Weekly,backup_server=b2", fmt.Sprintf("status=2i,last_run_time=%di", run.Unix()), run.Add(time.Hour))
	// Beta's backup server has a newer agent for the last 12 hours: it
	// answers for 6, then rejects the agent's credentials; its host's
	// uptime (booted 100 hours ago) is read while the agent gets in.
	for at := now.Add(-12 * time.Hour); at.Before(now); at = at.Add(5 * time.Minute) {
		fields := "up=true,outcome=0i"
		if !at.Before(now.Add(-6 * time.Hour)) {
			fields = `up=true,outcome=3i,message="authentication failed"`
		} else {
			point(beta, "host", fmt.Sprintf("uptime_seconds=%g", at.Sub(now.Add(-100*time.Hour)).Seconds()), at)
		}
		point(beta, "agent_poll,collector=snmp", fields, at)
	}
	require.NoError(t, ts.Write(t.Context(), []byte(lp.String())))
}

func TestIntegrationKPIBuilders(t *testing.T) {
	influx := devenv.Influx(t)
	ts := tsdb.New(tsdb.Options{URL: influx.URL, Bucket: influx.Bucket, Timeout: 10 * time.Second})
	t.Cleanup(ts.Close)
	sc := kpiScope()
	now := time.Now().UTC()
	scriptKPIs(t, ts, sc, now)
	esx, nas, beta := sc.Assets[0], sc.Assets[1], sc.Assets[2]
	ctx := t.Context()

	t.Run("availability", func(t *testing.T) {
		p := Period{Start: now.Add(-48 * time.Hour), Stop: now}
		tb, err := Availability(ctx, ts, sc, p, now)
		require.NoError(t, err)
		require.Equal(t, "All assets you may see, "+p.String(), tb.Scope)
		require.Len(t, tb.Rows, 3, "every asset has a row, with data or not")
		got := row(t, tb, "asset_id", esx.ID)
		require.Equal(t, 30.0, got["downtime_minutes"])
		require.Equal(t, int64(1), got["outages"])
		require.Equal(t, 30.0, got["longest_outage_minutes"])
		require.InDelta(t, 100*(1-30.0/(48*60)), got["availability_percent"], 0.02)
		require.Empty(t, got["ou"], "another organization's OU is not shown")
		require.Equal(t, 0.0, got["monitoring_problem_hours"])
		require.Equal(t, 0.0, got["unmonitored_hours"])
		require.Equal(t, 47.5, got["usage_hours"], "up time, from the polls")
		idle := row(t, tb, "asset_id", nas.ID)
		require.Nil(t, idle["availability_percent"], "nothing monitored: no figure, not 0% or 100%")
		require.Nil(t, idle["usage_hours"], "no source knows: no figure")
		require.Equal(t, 48.0, idle["unmonitored_hours"])

		// Rejected credentials are neither up nor down; before the agent
		// came the host's uptime tells its usage.
		b := row(t, tb, "asset_id", beta.ID)
		require.Equal(t, 100.0, b["availability_percent"])
		require.Equal(t, 6.0, b["monitored_hours"])
		require.Equal(t, 6.0, b["monitoring_problem_hours"])
		require.Equal(t, 36.0, b["unmonitored_hours"])
		require.Equal(t, 0.0, b["downtime_minutes"])
		require.Equal(t, 42.0, b["usage_hours"])
	})

	// A maintenance window covered the first 20 minutes of esx's outage:
	// planned, and out of the availability.
	t.Run("availability with maintenance", func(t *testing.T) {
		p := Period{Start: now.Add(-48 * time.Hour), Stop: now}
		outage := now.Add(-10 * time.Hour)
		win := store.MaintenanceWindow{ID: "w1", OrgID: esx.OrgID, AssetID: esx.ID, StartsAt: outage.Add(-time.Hour),
			EndsAt: outage.Add(20 * time.Minute), TimeZone: "UTC"}
		planned := sc
		planned.Maintenance = map[string]maintenance.Matcher{esx.OrgID: maintenance.NewMatcher(maintenance.Scope{OrgID: esx.OrgID},
			[]store.MaintenanceWindow{win})}
		tb, err := Availability(ctx, ts, planned, p, now)
		require.NoError(t, err)
		got := row(t, tb, "asset_id", esx.ID)
		require.Equal(t, 30.0, got["downtime_minutes"])
		require.Equal(t, 20.0, got["planned_downtime_minutes"])
		require.Equal(t, int64(2), got["outages"], "the planned and the unplanned part")
		require.InDelta(t, 100*(1-10.0/(48*60-20)), got["availability_percent"], 0.02)
		require.Equal(t, 0.0, row(t, tb, "asset_id", nas.ID)["planned_downtime_minutes"], "another asset's window is not nas's")
	})

	t.Run("capacity", func(t *testing.T) {
		tb, err := Capacity(ctx, ts, sc, Period{Start: now.Add(-720 * time.Hour), Stop: now}, now)
		require.NoError(t, err)
		require.Equal(t, "Utilization and capacity report", tb.Title)
		var names []any
		for _, r := range tb.Rows {
			names = append(names, r[4])
		}
		require.Equal(t, []any{"all processors", "Physical memory", "Swap", "storage /data"}, names, "CPU, memory kinds by name, storage")
		data := row(t, tb, "name", "storage /data")
		require.Equal(t, nas.ID, data["asset_id"])
		require.Equal(t, int64(2000000000000), data["size_bytes"])
		require.Equal(t, 59.75, data["current_percent"])
		require.Equal(t, 1.0, data["trend_points_per_day"])
		require.Equal(t, 40.3, data["days_until_full"])
		cpu := row(t, tb, "name", "all processors")
		require.Equal(t, "cpu", cpu["resource"])
		require.Equal(t, 30.0, cpu["average_percent"], "the mean of the processors")
		require.Equal(t, 30.0, cpu["peak_percent"])
		require.Nil(t, cpu["days_until_full"], "CPUs are not forecast to fill up")
		require.Equal(t, 10.0, row(t, tb, "name", "Swap")["peak_percent"])
	})

	t.Run("backup", func(t *testing.T) {
		tb, err := Backup(ctx, ts, sc, Period{Start: now.Add(-360 * time.Hour), Stop: now}, now)
		require.NoError(t, err)
		require.Len(t, tb.Rows, 2)
		job := row(t, tb, "job", "Nightly")
		require.Equal(t, esx.ID, job["asset_id"])
		require.Equal(t, "Acme GmbH", job["customer"])
		require.Equal(t, int64(10), job["runs"])
		require.Equal(t, int64(2), job["failed_runs"])
		require.Equal(t, 80.0, job["success_percent"])
		require.Equal(t, "success", job["last_result"])
		require.Equal(t, job["last_run"], job["last_success"])
		weekly := row(t, tb, "job", "Weekly")
		require.Equal(t, beta.ID, weekly["asset_id"])
		require.Equal(t, "failed", weekly["last_result"])
		require.Equal(t, 0.0, weekly["success_percent"])
		require.Nil(t, weekly["last_success"])
		require.Equal(t, "Acme GmbH", tb.Rows[0][0], "sorted by customer")
	})
}

// A time-series database that does not answer makes every KPI report
// fail with ErrUnavailable, which the API answers 503.
func TestKPIBuildersUnavailable(t *testing.T) {
	ts := tsdb.New(tsdb.Options{URL: "http://127.0.0.1:1", Bucket: "kpilot/autogen", Timeout: time.Second})
	t.Cleanup(ts.Close)
	now := time.Now()
	p := Period{Start: now.Add(-time.Hour), Stop: now}
	sc := kpiScope()
	for _, tt := range []struct {
		name  string
		build func() (Table, error)
	}{
		{"availability", func() (Table, error) { return Availability(t.Context(), ts, sc, p, now) }},
		{"capacity", func() (Table, error) { return Capacity(t.Context(), ts, sc, p, now) }},
		{"backup", func() (Table, error) { return Backup(t.Context(), ts, sc, p, now) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.build()
			require.ErrorIs(t, err, ErrUnavailable)
		})
	}
}
