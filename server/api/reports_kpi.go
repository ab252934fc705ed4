package api

import (
	"context"
	"net/http"
	"time"

	"github.com/kpilot/kpilot/server/report"
)

// maxReportSpan bounds the period of the KPI reports.
const maxReportSpan = 400 * 24 * time.Hour

// kpiBuilder builds one of the KPI reports.
type kpiBuilder func(ctx context.Context, sc report.Scope, p report.Period, now time.Time) (report.Table, error)

// availabilityReport answers GET /api/v1/reports/availability: per asset
// the availability, downtime, outages and reboots of the period (start,
// stop; the last 30 days by default), computed as GET
// /assets/{id}/availability does.
func (a *API) availabilityReport(w http.ResponseWriter, r *http.Request) error {
	return a.kpiReport(w, r, "availability", func(ctx context.Context, sc report.Scope, p report.Period, now time.Time) (report.Table, error) {
		return report.Availability(ctx, a.tsdb, sc, p, now)
	})
}

// capacityReport answers GET /api/v1/reports/capacity: per asset its CPU
// and memory utilization and every storage series' fill level over the
// period, with the trend and a forecast of the days until full.
func (a *API) capacityReport(w http.ResponseWriter, r *http.Request) error {
	return a.kpiReport(w, r, "capacity", func(ctx context.Context, sc report.Scope, p report.Period, now time.Time) (report.Table, error) {
		return report.Capacity(ctx, a.tsdb, sc, p, now)
	})
}

// backupReport answers GET /api/v1/reports/backup: per backup job its
// last result, last run and last success, and the runs of the period
// with how many failed.
func (a *API) backupReport(w http.ResponseWriter, r *http.Request) error {
	return a.kpiReport(w, r, "backup", func(ctx context.Context, sc report.Scope, p report.Period, now time.Time) (report.Table, error) {
		return report.Backup(ctx, a.tsdb, sc, p, now)
	})
}

// kpiReport reads what every KPI report takes (the format, the period,
// the last 30 days by default, and the scope), builds the report and
// writes it.
func (a *API) kpiReport(w http.ResponseWriter, r *http.Request, template string, build kpiBuilder) error {
	format, err := reportFormat(r)
	if err != nil {
		return err
	}
	start, stop, err := a.period(r, -30*24*time.Hour, maxReportSpan)
	if err != nil {
		return err
	}
	sc, err := a.reportScope(r, report.FilterFrom(r.URL.Query()))
	if err != nil {
		return err
	}
	now := a.now()
	t, err := build(r.Context(), sc, report.Period{Start: start, Stop: stop}, now)
	if err != nil {
		return reportError(err)
	}
	return writeReport(w, t, template, format, now)
}
