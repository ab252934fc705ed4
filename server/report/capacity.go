package report

import (
	"cmp"
	"context"
	"maps"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/server/checkup"
	"github.com/kpilot/kpilot/server/tsdb"
)

var capacityColumns = []Column{
	{Key: "customer", Label: "Customer"},
	{Key: "asset_id", Label: "Asset ID"},
	{Key: "asset", Label: "Asset"},
	{Key: "resource", Label: "Resource"},
	{Key: "name", Label: "Name"},
	{Key: "size_bytes", Label: "Size", Kind: Quantity, Unit: catalog.Bytes},
	{Key: "current_percent", Label: "Now", Kind: Quantity, Unit: catalog.Percent},
	{Key: "average_percent", Label: "Average", Kind: Quantity, Unit: catalog.Percent},
	{Key: "peak_percent", Label: "Peak", Kind: Quantity, Unit: catalog.Percent},
	{Key: "trend_points_per_day", Label: "Trend a day", Kind: Quantity, Unit: catalog.Percent},
	{Key: "days_until_full", Label: "Full in", Kind: Quantity, Unit: catalog.Seconds, Scale: 86400},
}

// utilization maps the measurements of CPU and memory use to the
// resource they describe and the field that is their percentage.
var utilization = map[string]struct{ resource, field string }{
	"cpu":           {"cpu", "load_percent"},
	"memory":        {"memory", "used_percent"},
	"ucd_memory":    {"memory", "used_percent"},
	"netapp_system": {"cpu", "cpu_busy_percent"},
}

// SeriesSource is what the capacity and backup reports read of the
// time-series database.
type SeriesSource interface {
	// OrgSeries returns the series q asks for, of one organization.
	OrgSeries(ctx context.Context, q tsdb.OrgQuery) ([]tsdb.Series, error)
}

// Capacity builds the utilization and capacity report: per asset of sc
// its CPU and memory utilization and every storage series' fill level
// over the period (average and peak of hourly or longer means), with the
// trend and a forecast of the days until full, as the storage_forecast
// check-up computes them.
func Capacity(ctx context.Context, src SeriesSource, sc Scope, p Period, now time.Time) (Table, error) {
	t := Table{Title: "Utilization and capacity report", Scope: sc.Label + ", " + p.String(), Generated: now, Columns: capacityColumns}
	byAsset, err := capacitySeries(ctx, src, sc, p)
	if err != nil {
		return t, err
	}
	for _, as := range sc.Assets {
		row := func(resource, name string, size any, ps []tsdb.Point, forecast bool) {
			if r := capacityRow(ps, forecast); r != nil {
				t.Rows = append(t.Rows, append([]any{sc.Customers[as.OrgID], as.ID, as.Name, resource, name, size}, r...))
			}
		}
		cpu, mem := utilizationPoints(byAsset[as.ID])
		row("cpu", "all processors", nil, cpu, false)
		for _, name := range slices.Sorted(maps.Keys(mem)) {
			row("memory", cmp.Or(name, "memory"), nil, mem[name], false)
		}
		for _, f := range checkup.Fills(byAsset[as.ID]) {
			var size any
			if f.SizeBytes > 0 {
				size = f.SizeBytes
			}
			row("storage", f.Label, size, f.Points, true)
		}
	}
	return t, nil
}

// capacitySeries reads the utilization and storage series of sc's assets
// in windows of an hour or more (at most about 200 per series), one query
// per organization, by asset id.
func capacitySeries(ctx context.Context, src SeriesSource, sc Scope, p Period) (map[string][]tsdb.Series, error) {
	every := max(time.Hour, (p.Stop.Sub(p.Start) / 200).Truncate(time.Hour))
	measurements := append(slices.Clone(checkup.StorageMeasurements), "cpu", "memory", "ucd_memory", "netapp_system")
	fields := append(slices.Clone(checkup.StorageFields), "load_percent", "cpu_busy_percent")
	byAsset := map[string][]tsdb.Series{}
	for _, refs := range assetsByOrg(sc.Assets) {
		ss, err := src.OrgSeries(ctx, tsdb.OrgQuery{Assets: refs, Measurements: measurements, Fields: fields,
			Start: p.Start, Stop: p.Stop, Every: every, Fn: "mean"})
		if err != nil {
			return nil, unavailable(err)
		}
		for _, s := range ss {
			byAsset[s.AssetID] = append(byAsset[s.AssetID], s)
		}
	}
	return byAsset, nil
}

// utilizationPoints is an asset's CPU use, the mean over its processors
// per window, and its memory use per memory kind (the descr tag, listed
// separately).
func utilizationPoints(series []tsdb.Series) (cpu []tsdb.Point, memory map[string][]tsdb.Point) {
	cpus := map[time.Time][]float64{}
	mems := map[string]map[time.Time][]float64{}
	for _, s := range series {
		u, ok := utilization[s.Measurement]
		if !ok || s.Field != u.field {
			continue
		}
		dst := cpus
		if u.resource == "memory" {
			if mems[s.Tags["descr"]] == nil {
				mems[s.Tags["descr"]] = map[time.Time][]float64{}
			}
			dst = mems[s.Tags["descr"]]
		}
		for _, p := range s.Points {
			if v, ok := p.Value.(float64); ok {
				dst[p.Time] = append(dst[p.Time], v)
			}
		}
	}
	memory = map[string][]tsdb.Point{}
	for name, m := range mems {
		memory[name] = meanPoints(m)
	}
	return meanPoints(cpus), memory
}

// capacityRow is the figures of one resource: now, average and peak,
// and with forecast the trend per day and the days until full. It is nil
// when there are no points.
func capacityRow(ps []tsdb.Point, forecast bool) []any {
	if len(ps) == 0 {
		return nil
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
	return []any{round(cur, 2), round(sum/float64(len(ps)), 2), round(peak, 2), trend, days}
}

// meanPoints is the mean of the values at each time, in time order.
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
