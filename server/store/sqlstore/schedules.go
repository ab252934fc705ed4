package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kpilot/kpilot/server/store"
)

const scheduleCols = `id, org_id, user_id, template, format, query, every, recipients, next_run_at, last_run_at, last_error, created_at`

func scanSchedule(row rowScanner) (store.ReportSchedule, error) {
	var s store.ReportSchedule
	var recipients string
	var next, last, created int64
	err := row.Scan(&s.ID, &s.OrgID, &s.UserID, &s.Template, &s.Format, &s.Query, &s.Every, &recipients, &next, &last, &s.LastError, &created)
	s.Recipients, s.NextRunAt, s.LastRunAt, s.CreatedAt = strings.Fields(recipients), fromMS(next), fromMS(last), fromMS(created)
	return s, err
}

// CreateReportSchedule implements store.ReportSchedules.
func (d *DB) CreateReportSchedule(ctx context.Context, s *store.ReportSchedule) error {
	s.ID = uuid.NewString()
	s.CreatedAt = s.CreatedAt.UTC().Truncate(time.Millisecond)
	_, err := d.db.ExecContext(ctx, `INSERT INTO report_schedules (`+scheduleCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, '', $10)`,
		s.ID, s.OrgID, s.UserID, s.Template, s.Format, s.Query, s.Every, strings.Join(s.Recipients, " "), ms(s.NextRunAt), ms(s.CreatedAt))
	if err != nil {
		return fmt.Errorf("creating report schedule: %w", err)
	}
	return nil
}

// ReportSchedule implements store.ReportSchedules.
func (d *DB) ReportSchedule(ctx context.Context, id string) (store.ReportSchedule, error) {
	s, err := scanSchedule(d.db.QueryRowContext(ctx, `SELECT `+scheduleCols+` FROM report_schedules WHERE id = $1`, id))
	if err != nil {
		return s, notFound(err, "report schedule")
	}
	return s, nil
}

// ReportSchedulesOf implements store.ReportSchedules.
func (d *DB) ReportSchedulesOf(ctx context.Context, orgID string) ([]store.ReportSchedule, error) {
	return queryAll(ctx, d.db, "report schedules", scanSchedule,
		`SELECT `+scheduleCols+` FROM report_schedules WHERE org_id = $1 ORDER BY created_at, id`, orgID)
}

// DeleteReportSchedule implements store.ReportSchedules.
func (d *DB) DeleteReportSchedule(ctx context.Context, id string) error {
	res, err := d.db.ExecContext(ctx, `DELETE FROM report_schedules WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("deleting report schedule: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("report schedule %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// DueReportSchedules implements store.ReportSchedules.
func (d *DB) DueReportSchedules(ctx context.Context, now time.Time, limit int) ([]store.ReportSchedule, error) {
	return queryAll(ctx, d.db, "due report schedules", scanSchedule,
		`SELECT `+scheduleCols+` FROM report_schedules WHERE next_run_at <= $1 ORDER BY next_run_at, id LIMIT $2`, ms(now), limit)
}

// ClaimReportSchedule implements store.ReportSchedules.
func (d *DB) ClaimReportSchedule(ctx context.Context, s store.ReportSchedule, next time.Time) (bool, error) {
	res, err := d.db.ExecContext(ctx, `UPDATE report_schedules SET next_run_at = $1 WHERE id = $2 AND next_run_at = $3`,
		ms(next), s.ID, ms(s.NextRunAt))
	if err != nil {
		return false, fmt.Errorf("claiming report schedule %s: %w", s.ID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// FinishReportSchedule implements store.ReportSchedules.
func (d *DB) FinishReportSchedule(ctx context.Context, id string, at time.Time, errMsg string) error {
	_, err := d.db.ExecContext(ctx, `UPDATE report_schedules SET last_run_at = $1, last_error = $2 WHERE id = $3`, ms(at), errMsg, id)
	if err != nil {
		return fmt.Errorf("recording report schedule %s: %w", id, err)
	}
	return nil
}
