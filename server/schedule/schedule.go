// Package schedule mails scheduled reports. Each run makes the report
// afresh as the schedule's owner sees the assets at that time (their
// membership, role and visible set now, not when the schedule was set
// up), with the same builders as GET /api/v1/reports/{template}, and
// mails it to the schedule's recipients.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/mail"
	"github.com/kpilot/kpilot/server/report"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// Templates returns the report templates a schedule may name.
func Templates() []string { return []string{"inventory", "availability", "capacity", "backup"} }

// Span is the period a scheduled KPI report covers when it runs every
// day, week or month; ok is false for any other every.
func Span(every string) (span time.Duration, ok bool) {
	span, ok = map[string]time.Duration{"daily": 24 * time.Hour, "weekly": 7 * 24 * time.Hour, "monthly": 30 * 24 * time.Hour}[every]
	return span, ok
}

// runHour is when scheduled reports run (UTC).
const runHour = 6

// NextRun is a schedule's next run after t: 06:00 UTC the next day, the
// next Monday, or the first of the next month.
func NextRun(every string, t time.Time) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), runHour, 0, 0, 0, time.UTC)
	switch every {
	case "weekly":
		d := (int(time.Monday) - int(day.Weekday()) + 7) % 7
		next := day.AddDate(0, 0, d)
		if !next.After(t) {
			next = next.AddDate(0, 0, 7)
		}
		return next
	case "monthly":
		next := time.Date(t.Year(), t.Month(), 1, runHour, 0, 0, 0, time.UTC)
		if !next.After(t) {
			next = next.AddDate(0, 1, 0)
		}
		return next
	default:
		if !day.After(t) {
			day = day.AddDate(0, 0, 1)
		}
		return day
	}
}

// Store is what the scheduler reads and writes of the metadata store:
// the schedules, the owner's memberships, and what the reports read.
type Store interface {
	report.ScopeSource
	report.InventorySource
	Memberships(ctx context.Context, userID string) ([]store.Membership, error)
	Organization(ctx context.Context, id string) (store.Organization, error)
	DueReportSchedules(ctx context.Context, now time.Time, limit int) ([]store.ReportSchedule, error)
	ClaimReportSchedule(ctx context.Context, s store.ReportSchedule, next time.Time) (bool, error)
	FinishReportSchedule(ctx context.Context, id string, at time.Time, errMsg string) error
}

// KPIs is what the KPI reports read of the time-series database.
type KPIs interface {
	report.AvailabilitySource
	report.SeriesSource
}

// Visibility resolves the assets a principal may see, as every read of
// the API does. Implementations are safe for concurrent use.
type Visibility interface {
	Set(ctx context.Context, p visibility.Principal) (visibility.Set, error)
}

// batch is how many due schedules one cycle takes; the rest wait for the
// next cycle, a minute later.
const batch = 50

// Runner mails due scheduled reports. Several replicas may run one each
// against the same store: each schedule's run is claimed by one.
type Runner struct {
	store     Store
	kpis      KPIs
	vis       Visibility
	mail      mail.Sender
	publicURL string // links in the mail start here
	log       *slog.Logger
	now       func() time.Time // the time reports are made at
}

// New returns a Runner that makes reports from st and kpis with the
// visibility vis resolves and mails them through m; publicURL is the
// server's address as users reach it. A nil m mails nothing: RunDue
// then leaves every schedule due.
func New(st Store, kpis KPIs, vis Visibility, m mail.Sender, publicURL string, log *slog.Logger) *Runner {
	return &Runner{store: st, kpis: kpis, vis: vis, mail: m, publicURL: strings.TrimRight(publicURL, "/"), log: log, now: time.Now}
}

// RunDue mails every schedule due at now once: it claims each (moving its
// next run on, so no other replica sends it too), mails the report and
// records the run with what went wrong, if anything. A report that could
// not be made or mailed is recorded on its schedule and logged; the
// error returned is the store's only.
func (r *Runner) RunDue(ctx context.Context, now time.Time) error {
	if r.mail == nil {
		return nil
	}
	due, err := r.store.DueReportSchedules(ctx, now, batch)
	if err != nil {
		return fmt.Errorf("loading due report schedules: %w", err)
	}
	var errs []error
	for _, s := range due {
		ok, err := r.store.ClaimReportSchedule(ctx, s, NextRun(s.Every, now))
		if err != nil {
			errs = append(errs, fmt.Errorf("claiming report schedule %s: %w", s.ID, err))
			continue
		}
		if !ok {
			continue
		}
		msg := ""
		if err := r.mailReport(ctx, s); err != nil {
			msg = lastError(err)
			r.log.Warn("scheduled report", "schedule", s.ID, "org", s.OrgID, "err", err)
		}
		if err := r.store.FinishReportSchedule(ctx, s.ID, now, msg); err != nil {
			errs = append(errs, fmt.Errorf("recording the run of report schedule %s: %w", s.ID, err))
		}
	}
	return errors.Join(errs...)
}
