package store

import (
	"context"
	"time"
)

// ReportSchedule mails a report to recipients on a schedule, as the
// user who set it up sees the assets at the time it runs.
type ReportSchedule struct {
	ID         string
	OrgID      string
	UserID     string // the report is made with this user's visibility
	Template   string // inventory, availability, capacity, backup
	Format     string // csv or pdf
	Query      string // the report's scope parameters, URL-encoded
	Every      string // daily, weekly, monthly
	Recipients []string
	NextRunAt  time.Time
	LastRunAt  time.Time
	LastError  string
	CreatedAt  time.Time
}

// ReportSchedules stores report schedules. Several replicas run the due
// ones: a schedule is claimed before each run, so one replica runs it.
type ReportSchedules interface {
	// CreateReportSchedule stores s and sets s.ID.
	CreateReportSchedule(ctx context.Context, s *ReportSchedule) error
	// ReportSchedule returns a schedule by id.
	ReportSchedule(ctx context.Context, id string) (ReportSchedule, error)
	// ReportSchedulesOf returns an organization's schedules, oldest first.
	ReportSchedulesOf(ctx context.Context, orgID string) ([]ReportSchedule, error)
	// DeleteReportSchedule removes a schedule.
	DeleteReportSchedule(ctx context.Context, id string) error
	// DueReportSchedules returns up to limit schedules due at now, the
	// longest due first.
	DueReportSchedules(ctx context.Context, now time.Time, limit int) ([]ReportSchedule, error)
	// ClaimReportSchedule moves a due schedule's next run from
	// s.NextRunAt to next; false when another replica claimed it first.
	ClaimReportSchedule(ctx context.Context, s ReportSchedule, next time.Time) (bool, error)
	// FinishReportSchedule records a run: its time and error ("" when
	// every recipient got the report).
	FinishReportSchedule(ctx context.Context, id string, at time.Time, errMsg string) error
}
