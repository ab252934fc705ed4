package api

import (
	"context"
	"errors"
	"net/http"
	netmail "net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/report"
	"github.com/kpilot/kpilot/server/schedule"
	"github.com/kpilot/kpilot/server/store"
)

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
	if !slices.Contains(schedule.Templates(), req.Template) {
		return badRequest("template: one of %s", strings.Join(schedule.Templates(), ", "))
	}
	if req.Format == "" {
		req.Format = "pdf"
	}
	if req.Format != "pdf" && req.Format != "csv" {
		return badRequest("format: pdf or csv")
	}
	if _, ok := schedule.Span(req.Every); !ok {
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
	// Resolve the report's scope once now, as the creator: a scope the
	// creator may not see is refused here, not discovered at 6 in the
	// morning.
	if _, err := a.reportScope(r, report.FilterFrom(q)); err != nil {
		return err
	}
	now := a.now()
	s := store.ReportSchedule{OrgID: p.OrgID, UserID: p.UserID, Template: req.Template, Format: req.Format, Query: q.Encode(),
		Every: req.Every, Recipients: req.Recipients, NextRunAt: schedule.NextRun(req.Every, now), CreatedAt: now}
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
