package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/mail"
	"github.com/kpilot/kpilot/server/store"
)

// reportTemplates maps a template name to its handler's route.
var reportTemplates = []string{"inventory", "availability", "capacity", "backup"}

// scheduleSpans is the period a scheduled KPI report covers.
var scheduleSpans = map[string]time.Duration{"daily": 24 * time.Hour, "weekly": 7 * 24 * time.Hour, "monthly": 30 * 24 * time.Hour}

// scheduleHour is when scheduled reports run (UTC).
const scheduleHour = 6

// NextRun is a schedule's next run after t: 06:00 UTC the next day, the
// next Monday, or the first of the next month.
func NextRun(every string, t time.Time) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), scheduleHour, 0, 0, 0, time.UTC)
	switch every {
	case "weekly":
		d := (int(time.Monday) - int(day.Weekday()) + 7) % 7
		next := day.AddDate(0, 0, d)
		if !next.After(t) {
			next = next.AddDate(0, 0, 7)
		}
		return next
	case "monthly":
		next := time.Date(t.Year(), t.Month(), 1, scheduleHour, 0, 0, 0, time.UTC)
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

type scheduleJSON struct {
	ID         string            `json:"id"`
	Template   string            `json:"template"`
	Format     string            `json:"format"`
	Every      string            `json:"every"`
	Scope      map[string]string `json:"scope"`
	Recipients []string          `json:"recipients"`
	CreatedBy  string            `json:"created_by"` // email
	NextRunAt  time.Time         `json:"next_run_at"`
	LastRunAt  *time.Time        `json:"last_run_at"`
	LastError  string            `json:"last_error,omitempty"`
}

func (a *API) toScheduleJSON(ctx context.Context, s store.ReportSchedule) scheduleJSON {
	scope := map[string]string{}
	q, _ := url.ParseQuery(s.Query)
	for k := range q {
		scope[k] = q.Get(k)
	}
	j := scheduleJSON{ID: s.ID, Template: s.Template, Format: s.Format, Every: s.Every, Scope: scope, Recipients: s.Recipients,
		NextRunAt: s.NextRunAt, LastRunAt: timePtr(s.LastRunAt), LastError: s.LastError}
	if u, err := a.store.User(ctx, s.UserID); err == nil {
		j.CreatedBy = u.Email
	}
	return j
}

func (a *API) listSchedules(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	ss, err := a.store.ReportSchedulesOf(r.Context(), p.OrgID)
	if err != nil {
		return err
	}
	out := []scheduleJSON{}
	for _, s := range ss {
		out = append(out, a.toScheduleJSON(r.Context(), s))
	}
	writeJSON(w, http.StatusOK, map[string]any{"schedules": out})
	return nil
}

// createSchedule sets up a report mailed on a schedule. Admins only: the
// report goes to addresses outside the portal. It is made, each time,
// with the creator's visibility then, so a revoked grant or a removed
// user stops what the mail shows.
func (a *API) createSchedule(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	if !p.IsAdmin() {
		return &HTTPError{Code: http.StatusForbidden, Msg: "only admins may schedule reports"}
	}
	if a.mail == nil {
		return &HTTPError{Code: http.StatusServiceUnavailable, Msg: "mail is not configured"}
	}
	var req struct {
		Template   string            `json:"template"`
		Format     string            `json:"format"`
		Every      string            `json:"every"`
		Scope      map[string]string `json:"scope"`
		Recipients []string          `json:"recipients"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if !slices.Contains(reportTemplates, req.Template) {
		return badRequest("template: one of %s", strings.Join(reportTemplates, ", "))
	}
	if req.Format == "" {
		req.Format = "pdf"
	}
	if req.Format != "pdf" && req.Format != "csv" {
		return badRequest("format: pdf or csv")
	}
	if _, ok := scheduleSpans[req.Every]; !ok {
		return badRequest("every: daily, weekly or monthly")
	}
	q := url.Values{}
	for k, v := range req.Scope {
		if !slices.Contains([]string{"asset_id", "ou_id", "customer_id", "category"}, k) {
			return badRequest("scope: %q is not one of asset_id, ou_id, customer_id, category", k)
		}
		q.Set(k, v)
	}
	if len(req.Recipients) == 0 || len(req.Recipients) > 20 {
		return badRequest("recipients: 1 to 20 email addresses")
	}
	for i, to := range req.Recipients {
		addr, err := netmail.ParseAddress(to)
		if err != nil || addr.Name != "" {
			return badRequest("recipients: %q is not an email address", to)
		}
		req.Recipients[i] = addr.Address
	}
	// Make the report once now, as the creator: a scope the creator may
	// not see is refused here, not discovered at 6 in the morning.
	if _, err := a.renderReport(r.Context(), p.UserID, p.OrgID, req.Template, req.Format, q, 24*time.Hour); err != nil {
		var he *HTTPError
		if errors.As(err, &he) && he.Code < 500 {
			return he
		}
	}
	now := a.now()
	s := store.ReportSchedule{OrgID: p.OrgID, UserID: p.UserID, Template: req.Template, Format: req.Format, Query: q.Encode(),
		Every: req.Every, Recipients: req.Recipients, NextRunAt: NextRun(req.Every, now), CreatedAt: now}
	if err := a.store.CreateReportSchedule(r.Context(), &s); err != nil {
		return err
	}
	if err := a.audit(r, p.OrgID, "report_schedule.create", "report_schedule", s.ID, map[string]any{"template": s.Template,
		"every": s.Every, "recipients": s.Recipients}); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, a.toScheduleJSON(r.Context(), s))
	return nil
}

// deleteSchedule removes a schedule: its creator, or an admin of the
// organization's top OU.
func (a *API) deleteSchedule(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	s, err := a.store.ReportSchedule(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && s.OrgID != p.OrgID) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	if s.UserID != p.UserID {
		if _, _, err := a.orgAdmin(r); err != nil {
			return err
		}
	}
	if err := a.store.DeleteReportSchedule(r.Context(), s.ID); err != nil {
		return err
	}
	if err := a.audit(r, p.OrgID, "report_schedule.delete", "report_schedule", s.ID, nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// renderReport makes a report as userID of orgID sees it now: through the
// same handler as GET /api/v1/reports/{template}.
func (a *API) renderReport(ctx context.Context, userID, orgID, template, format string, scope url.Values, span time.Duration) ([]byte, error) {
	p, err := a.principal(ctx, userID, orgID)
	if err != nil {
		return nil, fmt.Errorf("the schedule's owner no longer belongs to the organization: %w", err)
	}
	q := url.Values{}
	for k, v := range scope {
		q[k] = v
	}
	q.Set("format", format)
	if template != "inventory" {
		q.Set("start", "-"+span.String())
	}
	req := httptest.NewRequestWithContext(context.WithValue(ctx, principalKey, p), "GET", "/api/v1/reports/"+template+"?"+q.Encode(), nil)
	rec := httptest.NewRecorder()
	h := map[string]handlerFunc{"inventory": a.inventoryReport, "availability": a.availabilityReport,
		"capacity": a.capacityReport, "backup": a.backupReport}[template]
	if err := h(rec, req); err != nil {
		return nil, err
	}
	return rec.Body.Bytes(), nil
}

// RunReportSchedules mails every due scheduled report once; several
// replicas may call it at once (each schedule is claimed by one).
func (a *API) RunReportSchedules(ctx context.Context, now time.Time) error {
	if a.mail == nil {
		return nil
	}
	due, err := a.store.DueReportSchedules(ctx, now, 50)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range due {
		ok, err := a.store.ClaimReportSchedule(ctx, s, NextRun(s.Every, now))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue
		}
		msg := ""
		if err := a.mailReport(ctx, s); err != nil {
			msg = err.Error()
			a.log.Warn("scheduled report", "schedule", s.ID, "org", s.OrgID, "err", err)
		}
		if err := a.store.FinishReportSchedule(ctx, s.ID, now, msg); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (a *API) mailReport(ctx context.Context, s store.ReportSchedule) error {
	scope, _ := url.ParseQuery(s.Query)
	data, err := a.renderReport(ctx, s.UserID, s.OrgID, s.Template, s.Format, scope, scheduleSpans[s.Every])
	if err != nil {
		var he *HTTPError
		if errors.As(err, &he) {
			return fmt.Errorf("making the %s report: %s", s.Template, he.Msg)
		}
		return fmt.Errorf("making the %s report: %w", s.Template, err)
	}
	ct := "text/csv"
	if s.Format == "pdf" {
		ct = "application/pdf"
	}
	name := "kpilot-" + s.Template + "-" + a.now().UTC().Format("2006-01-02") + "." + s.Format
	title := strings.ToUpper(s.Template[:1]) + s.Template[1:]
	var errs []error
	for _, to := range s.Recipients {
		err := a.mail.Send(ctx, mail.Message{To: to, Subject: "kpilot: " + title + " report (" + s.Every + ")",
			Text: fmt.Sprintf("Attached is the %s %s report from kpilot.\n\nManage scheduled reports in the portal or at %s/api/v1/report-schedules.\n",
				s.Every, s.Template, a.publicURL),
			Attachments: []mail.Attachment{{Name: name, ContentType: ct, Data: data}}})
		if err != nil {
			errs = append(errs, fmt.Errorf("mail to %s: %w", to, err))
		}
	}
	return errors.Join(errs...)
}

// RunSchedules mails due scheduled reports every interval until ctx ends.
func (a *API) RunSchedules(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := a.RunReportSchedules(ctx, a.now()); err != nil && ctx.Err() == nil {
			a.log.Warn("scheduled reports", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
