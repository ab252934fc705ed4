package report

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/server/availability"
	"github.com/kpilot/kpilot/server/tsdb"
)

// ErrUnavailable marks a failed read of KPI data: the time-series
// database did not answer, and the same report may succeed later. The
// API answers it 503 with Retry-After.
var ErrUnavailable = errors.New("KPI data is unavailable")

// unavailable wraps a KPI read's error so that errors.Is finds
// ErrUnavailable and the cause stays for the log.
func unavailable(err error) error {
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// Period is the time a KPI report covers: from Start up to Stop.
type Period struct {
	Start, Stop time.Time
}

// String is the period as the report's heading shows it.
func (p Period) String() string {
	return p.Start.UTC().Format("2006-01-02 15:04") + " to " + p.Stop.UTC().Format("2006-01-02 15:04 UTC")
}

// availabilityColumns: up time is monitored time less downtime.
var availabilityColumns = []Column{
	{Key: "customer", Label: "Customer"},
	{Key: "ou", Label: "OU"},
	{Key: "asset_id", Label: "Asset ID"},
	{Key: "asset", Label: "Asset"},
	{Key: "category", Label: "Category"},
	{Key: "availability_percent", Label: "Availability", Kind: Quantity, Unit: catalog.Percent},
	{Key: "monitored_hours", Label: "Monitored", Kind: Quantity, Unit: catalog.Seconds, Scale: 3600},
	{Key: "downtime_minutes", Label: "Downtime", Kind: Quantity, Unit: catalog.Seconds, Scale: 60},
	{Key: "planned_downtime_minutes", Label: "Planned downtime", Kind: Quantity, Unit: catalog.Seconds, Scale: 60},
	{Key: "outages", Label: "Outages", Kind: Count},
	{Key: "longest_outage_minutes", Label: "Longest outage", Kind: Quantity, Unit: catalog.Seconds, Scale: 60},
	{Key: "reboots", Label: "Reboots", Kind: Count},
	{Key: "monitoring_problem_hours", Label: "Monitoring problem", Kind: Quantity, Unit: catalog.Seconds, Scale: 3600},
	{Key: "unmonitored_hours", Label: "Unmonitored", Kind: Quantity, Unit: catalog.Seconds, Scale: 3600},
	{Key: "usage_hours", Label: "Usage", Kind: Quantity, Unit: catalog.Seconds, Scale: 3600},
}

// AvailabilitySource is what the availability report reads of the
// time-series database.
type AvailabilitySource interface {
	// AvailabilityData returns an asset's reachability observations and
	// reboots in [start, stop).
	AvailabilityData(ctx context.Context, ref tsdb.AssetRef, start, stop time.Time) ([]availability.Observation, []availability.Reboot, error)
	// UsageData returns an asset's power and uptime readings in
	// [start, stop).
	UsageData(ctx context.Context, ref tsdb.AssetRef, start, stop time.Time) ([]availability.PowerSample, []availability.UptimeSample, error)
}

// Availability builds the availability report: per asset of sc the
// availability, monitored time, downtime and its planned part (inside the
// scope's maintenance windows, left out of the availability), outages,
// reboots, monitoring-problem
// and unmonitored time, and usage time of the period, computed as GET
// /api/v1/assets/{id}/availability and /usage do. An asset with nothing
// monitored has an empty availability, not 0% or 100%; one whose usage
// no source knows, an empty usage.
func Availability(ctx context.Context, src AvailabilitySource, sc Scope, p Period, now time.Time) (Table, error) {
	t := Table{Title: "Availability report", Scope: sc.Label + ", " + p.String(), Generated: now, Columns: availabilityColumns}
	for _, as := range sc.Assets {
		obs, reboots, err := src.AvailabilityData(ctx, tsdb.Ref(as), p.Start, p.Stop)
		if err != nil {
			return t, unavailable(err)
		}
		power, uptime, err := src.UsageData(ctx, tsdb.Ref(as), p.Start, p.Stop)
		if err != nil {
			return t, unavailable(err)
		}
		segs := availability.MarkPlanned(availability.Timeline(obs, reboots, 0), sc.planned(as, p))
		sum := availability.Summarize(segs, reboots, p.Start, p.Stop)
		use := availability.SummarizeUsage(availability.UsageTimeline(power, uptime, segs), p.Start, p.Stop)
		var avail, longest, usage any
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
		if use.InUseSeconds+use.NotInUseSeconds > 0 {
			usage = round(use.InUseSeconds/3600, 2)
		}
		t.Rows = append(t.Rows, []any{sc.Customers[as.OrgID], sc.OU(as), as.ID, as.Name, as.Category, avail,
			round(sum.MonitoredSeconds/3600, 2), round(sum.DownSeconds/60, 1), round(sum.PlannedDownSeconds/60, 1),
			int64(len(sum.Outages)), longest, int64(sum.Reboots),
			round(sum.ProblemSeconds/3600, 2), round(sum.UnmonitoredSeconds/3600, 2), usage})
	}
	return t, nil
}

// round rounds v to digits decimal places.
func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
