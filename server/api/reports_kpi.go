package api

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/kpilot/kpilot/server/availability"
	"github.com/kpilot/kpilot/server/checkup"
	"github.com/kpilot/kpilot/server/report"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
)

// maxReportSpan bounds the period of the KPI reports.
const maxReportSpan = 400 * 24 * time.Hour

func periodLabel(start, stop time.Time) string {
	return start.UTC().Format("2006-01-02 15:04") + " to " + stop.UTC().Format("2006-01-02 15:04 UTC")
}

var availabilityColumns = []report.Column{
	{Key: "customer", Label: "Customer", Width: 0.12},
	{Key: "ou", Label: "OU", Width: 0.08},
	{Key: "asset_id", Label: "Asset ID", Width: 0},
	{Key: "asset", Label: "Asset", Width: 0.13},
	{Key: "category", Label: "Category", Width: 0.06},
	{Key: "availability_percent", Label: "Availability", Kind: report.Percent, Width: 0.07},
	{Key: "monitored_hours", Label: "Monitored h", Width: 0.07},
	{Key: "downtime_minutes", Label: "Downtime min", Width: 0.07},
	{Key: "outages", Label: "Outages", Kind: report.Count, Width: 0.05},
	{Key: "longest_outage_minutes", Label: "Longest min", Width: 0.07},
	{Key: "reboots", Label: "Reboots", Kind: report.Count, Width: 0.05},
}

// availabilityReport answers GET /api/v1/reports/availability: per asset
// the availability, downtime, outages and reboots of the period (start,
// stop; the last 30 days by default), computed as GET
// /assets/{id}/availability does.
func (a *API) availabilityReport(w http.ResponseWriter, r *http.Request) error {
	format, start, stop, sc, err := a.kpiReportInput(r)
	if err != nil {
		return err
	}
	now := a.now()
	t := report.Table{Title: "Availability report", Scope: sc.label + ", " + periodLabel(start, stop), Generated: now, Columns: availabilityColumns}
	for _, as := range sc.assets {
		obs, reboots, err := a.tsdb.AvailabilityData(r.Context(), as.OrgID, as.ID, start, stop)
		if err != nil {
			return unavailable("InfluxDB", err)
		}
		sum := availability.Summarize(availability.Timeline(obs, reboots, 0), reboots, start, stop)
		var avail, longest any
		if sum.Availability != nil {
			avail = round(100*(*sum.Availability), 3)
		}
		if len(sum.Outages) > 0 {
			l := 0.0
			for _, o := range sum.Outages {
				l = max(l, o.Seconds)
			}
			longest = round(l/60, 1)
		}
		t.Rows = append(t.Rows, []any{sc.names[as.OrgID], sc.ou(as), as.ID, as.Name, as.Category, avail,
			round(sum.MonitoredSeconds/3600, 2), round(sum.DownSeconds/60, 1), int64(len(sum.Outages)), longest, int64(sum.Reboots)})
	}
	return writeReport(w, t, "availability", format, now)
}

// kpiReportInput reads what every KPI report takes: the format, the
// period (the last 30 days by default) and the scope.
func (a *API) kpiReportInput(r *http.Request) (string, time.Time, time.Time, reportScope, error) {
	format, err := reportFormat(r)
	if err != nil {
		return "", time.Time{}, time.Time{}, reportScope{}, err
	}
	start, stop, err := a.period(r, -30*24*time.Hour, maxReportSpan)
	if err != nil {
		return "", start, stop, reportScope{}, err
	}
	sc, err := a.reportScope(r)
	return format, start, stop, sc, err
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

var capacityColumns = []report.Column{
	{Key: "customer", Label: "Customer", Width: 0.1},
	{Key: "asset_id", Label: "Asset ID", Width: 0},
	{Key: "asset", Label: "Asset", Width: 0.11},
	{Key: "resource", Label: "Resource", Width: 0.06},
	{Key: "name", Label: "Name", Width: 0.13},
	{Key: "size_bytes", Label: "Size", Kind: report.Bytes, Width: 0.06},
	{Key: "current_percent", Label: "Now", Kind: report.Percent, Width: 0.06},
	{Key: "average_percent", Label: "Average", Kind: report.Percent, Width: 0.06},
	{Key: "peak_percent", Label: "Peak", Kind: report.Percent, Width: 0.06},
	{Key: "trend_points_per_day", Label: "Trend/day", Width: 0.06},
	{Key: "days_until_full", Label: "Days to full", Width: 0.07},
}

// utilization measurements and the field that is their percentage.
var utilization = map[string]struct{ resource, field string }{
	"cpu":           {"cpu", "load_percent"},
	"memory":        {"memory", "used_percent"},
	"ucd_memory":    {"memory", "used_percent"},
	"netapp_system": {"cpu", "cpu_busy_percent"},
}

// capacityReport answers GET /api/v1/reports/capacity: per asset its CPU
// and memory utilization and every storage series' fill level over the
// period (average and peak of hourly or longer means), with the trend
// and a forecast of the days until full, as the storage_forecast
// check-up computes them.
func (a *API) capacityReport(w http.ResponseWriter, r *http.Request) error {
	format, start, stop, sc, err := a.kpiReportInput(r)
	if err != nil {
		return err
	}
	every := max(time.Hour, (stop.Sub(start) / 200).Truncate(time.Hour))
	measurements := append(slices.Clone(checkup.StorageMeasurements), "cpu", "memory", "ucd_memory", "netapp_system")
	fields := append(slices.Clone(checkup.StorageFields), "load_percent", "cpu_busy_percent")
	byAsset := map[string][]tsdb.Series{}
	for org, ids := range assetsByOrg(sc.assets) {
		ss, err := a.tsdb.OrgSeries(r.Context(), tsdb.OrgQuery{OrgID: org, AssetIDs: ids, Measurements: measurements, Fields: fields,
			Start: start, Stop: stop, Every: every, Fn: "mean"})
		if err != nil {
			return unavailable("InfluxDB", err)
		}
		for _, s := range ss {
			byAsset[s.AssetID] = append(byAsset[s.AssetID], s)
		}
	}
	now := a.now()
	t := report.Table{Title: "Utilization and capacity report", Scope: sc.label + ", " + periodLabel(start, stop), Generated: now, Columns: capacityColumns}
	for _, as := range sc.assets {
		row := func(resource, name string, size any, ps []tsdb.Point, forecast bool) {
			if len(ps) == 0 {
				return
			}
			sum, peak := 0.0, 0.0
			for _, p := range ps {
				v := p.Value.(float64)
				sum += v
				peak = max(peak, v)
			}
			cur := ps[len(ps)-1].Value.(float64)
			var trend, days any
			if tr, ok := checkup.FitTrend(ps); ok && forecast {
				trend = round(tr.PerDay, 3)
				if !math.IsInf(tr.DaysToFull, 1) {
					days = round(tr.DaysToFull, 1)
				}
			}
			t.Rows = append(t.Rows, []any{sc.names[as.OrgID], as.ID, as.Name, resource, name, size,
				round(cur, 2), round(sum/float64(len(ps)), 2), round(peak, 2), trend, days})
		}
		// CPU and memory: the mean over processors (or memory kinds
		// listed separately) per window.
		perRes := map[string]map[time.Time][]float64{}
		memNames := map[string]map[time.Time][]float64{}
		for _, s := range byAsset[as.ID] {
			u, ok := utilization[s.Measurement]
			if !ok || s.Field != u.field {
				continue
			}
			dst := perRes
			key := u.resource
			if u.resource == "memory" {
				dst, key = memNames, s.Tags["descr"]
			}
			if dst[key] == nil {
				dst[key] = map[time.Time][]float64{}
			}
			for _, p := range s.Points {
				if v, ok := p.Value.(float64); ok {
					dst[key][p.Time] = append(dst[key][p.Time], v)
				}
			}
		}
		row("cpu", "all processors", nil, meanPoints(perRes["cpu"]), false)
		for _, name := range slices.Sorted(maps.Keys(memNames)) {
			row("memory", cmp.Or(name, "memory"), nil, meanPoints(memNames[name]), false)
		}
		for _, f := range checkup.Fills(byAsset[as.ID]) {
			var size any
			if f.SizeBytes > 0 {
				size = f.SizeBytes
			}
			row("storage", f.Label, size, f.Points, true)
		}
	}
	return writeReport(w, t, "capacity", format, now)
}

func meanPoints(m map[time.Time][]float64) []tsdb.Point {
	var out []tsdb.Point
	for at, vs := range m {
		sum := 0.0
		for _, v := range vs {
			sum += v
		}
		out = append(out, tsdb.Point{Time: at, Value: sum / float64(len(vs))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// assetsByOrg groups asset ids by organization: every KPI query filters
// on the organization and the caller's visible asset ids.
func assetsByOrg(assets []store.Asset) map[string][]string {
	out := map[string][]string{}
	for _, as := range assets {
		out[as.OrgID] = append(out[as.OrgID], as.ID)
	}
	return out
}

var backupColumns = []report.Column{
	{Key: "customer", Label: "Customer", Width: 0.11},
	{Key: "asset_id", Label: "Asset ID", Width: 0},
	{Key: "asset", Label: "Backup server", Width: 0.12},
	{Key: "job", Label: "Job", Width: 0.14},
	{Key: "last_result", Label: "Last result", Width: 0.07},
	{Key: "last_run", Label: "Last run", Kind: report.Time, Width: 0.11},
	{Key: "last_success", Label: "Last success", Kind: report.Time, Width: 0.11},
	{Key: "runs", Label: "Runs", Kind: report.Count, Width: 0.05},
	{Key: "failed_runs", Label: "Failed", Kind: report.Count, Width: 0.05},
	{Key: "success_percent", Label: "Success", Kind: report.Percent, Width: 0.07},
}

var backupResults = map[int64]string{0: "success", 1: "warning", 2: "failed", 3: "running"}

// backupReport answers GET /api/v1/reports/backup: per backup job its
// last result, last run and last success, and the runs of the period
// (each distinct last_run_time the agent saw, with the status it last had)
// with how many failed.
func (a *API) backupReport(w http.ResponseWriter, r *http.Request) error {
	format, start, stop, sc, err := a.kpiReportInput(r)
	if err != nil {
		return err
	}
	names := map[string]store.Asset{}
	for _, as := range sc.assets {
		names[as.ID] = as
	}
	type job struct {
		asset      store.Asset
		name       string
		runs       map[int64]int64 // last_run_time → status
		lastRun    int64
		lastStatus int64
		success    int64
	}
	jobs := map[string]*job{}
	var keys []string
	for org, ids := range assetsByOrg(sc.assets) {
		ss, err := a.tsdb.OrgSeries(r.Context(), tsdb.OrgQuery{OrgID: org, AssetIDs: ids,
			Measurements: []string{"backup_job", "backup_last_success"}, Fields: []string{"status", "last_run_time", "end_time"},
			Start: start, Stop: stop})
		if err != nil {
			return unavailable("InfluxDB", err)
		}
		// Join status and last_run_time by the time they were collected.
		type obs struct{ status, run *int64 }
		perJob := map[string]map[time.Time]*obs{}
		for _, s := range ss {
			k := s.AssetID + "\x00" + s.Tags["backup_server"] + "\x00" + s.Tags["job"]
			if jobs[k] == nil {
				jobs[k] = &job{asset: names[s.AssetID], name: s.Tags["job"], runs: map[int64]int64{}}
				keys = append(keys, k)
			}
			j := jobs[k]
			for _, p := range s.Points {
				v, ok := p.Value.(int64)
				if !ok {
					continue
				}
				switch {
				case s.Measurement == "backup_last_success" && s.Field == "end_time":
					j.success = max(j.success, v)
				case s.Measurement == "backup_job":
					if perJob[k] == nil {
						perJob[k] = map[time.Time]*obs{}
					}
					o := perJob[k][p.Time]
					if o == nil {
						o = &obs{}
						perJob[k][p.Time] = o
					}
					if s.Field == "status" {
						o.status = &v
					} else if s.Field == "last_run_time" {
						o.run = &v
					}
				}
			}
		}
		for k, byTime := range perJob {
			j := jobs[k]
			times := slices.SortedFunc(maps.Keys(byTime), time.Time.Compare)
			for _, at := range times {
				o := byTime[at]
				if o.status == nil {
					continue
				}
				j.lastStatus = *o.status
				if o.run != nil && *o.run > 0 {
					j.lastRun = max(j.lastRun, *o.run)
					if *o.status != 3 {
						j.runs[*o.run] = *o.status
					}
				}
			}
		}
	}
	sort.Slice(keys, func(i, k int) bool {
		x, y := jobs[keys[i]], jobs[keys[k]]
		return cmpJoin(sc.names[x.asset.OrgID], sc.names[y.asset.OrgID], x.asset.Name, y.asset.Name, x.name, y.name) < 0
	})
	now := a.now()
	t := report.Table{Title: "Backup report", Scope: sc.label + ", " + periodLabel(start, stop), Generated: now, Columns: backupColumns}
	for _, k := range keys {
		j := jobs[k]
		var failed int64
		for _, st := range j.runs {
			if st == 2 {
				failed++
			}
		}
		var rate any
		if len(j.runs) > 0 {
			rate = round(100*float64(int64(len(j.runs))-failed)/float64(len(j.runs)), 2)
		}
		unix := func(v int64) any {
			if v <= 0 {
				return nil
			}
			return time.Unix(v, 0).UTC()
		}
		result := backupResults[j.lastStatus]
		if result == "" {
			result = fmt.Sprint(j.lastStatus)
		}
		t.Rows = append(t.Rows, []any{sc.names[j.asset.OrgID], j.asset.ID, j.asset.Name, j.name, result,
			unix(j.lastRun), unix(j.success), int64(len(j.runs)), failed, rate})
	}
	return writeReport(w, t, "backup", format, now)
}
