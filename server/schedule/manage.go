package schedule

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/report"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// ManageStore is what setting up and removing schedules needs of the
// metadata store.
type ManageStore interface {
	report.ScopeSource
	Organization(ctx context.Context, id string) (store.Organization, error)
	User(ctx context.Context, id string) (store.User, error)
	ReportSchedulesOf(ctx context.Context, orgID string) ([]store.ReportSchedule, error)
	ReportSchedule(ctx context.Context, id string) (store.ReportSchedule, error)
	CreateReportSchedule(ctx context.Context, s *store.ReportSchedule) error
	DeleteReportSchedule(ctx context.Context, id string) error
}

// Manager sets up, lists and removes an organization's report schedules
// for its users; the Runner mails them.
type Manager struct {
	st   ManageStore
	vis  Visibility
	rec  audit.Recorder
	mail bool // whether the server can mail at all
	now  func() time.Time
}

// NewManager returns a Manager on st that resolves report scopes with vis
// and records to rec. Without mail (canMail false) no schedule may be
// set up: nothing would ever be sent.
func NewManager(st ManageStore, vis Visibility, rec audit.Recorder, canMail bool, now func() time.Time) *Manager {
	return &Manager{st: st, vis: vis, rec: rec, mail: canMail, now: now}
}

// Request is a schedule as a user asks for it.
type Request struct {
	Template   string            `json:"template"`
	Format     string            `json:"format"` // pdf (default) or csv
	Every      string            `json:"every"`
	Scope      map[string]string `json:"scope"` // report filter: asset_id, ou_id, customer_id, category
	Recipients []string          `json:"recipients"`
}

// View is a schedule as its organization's users see it.
type View struct {
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

// scopeKeys are the report filters a schedule may narrow its report by.
var scopeKeys = []string{"asset_id", "ou_id", "customer_id", "category"}

// MayCreate passes a caller who may set up schedules: admins only, since
// the report goes to addresses outside the portal, and only with mail.
// It is asked before the request is read.
func (m *Manager) MayCreate(p visibility.Principal) error {
	if !p.IsAdmin() {
		return problem.New(problem.Forbidden, "only admins may schedule reports")
	}
	if !m.mail {
		return problem.New(problem.Unavailable, "mail is not configured")
	}
	return nil
}

// Create sets up the schedule req for p. The report is made, each time,
// with the creator's visibility then, so a revoked grant or a removed
// user stops what the mail shows; a scope p may not see now is refused
// now (404), not discovered at 6 in the morning.
func (m *Manager) Create(ctx context.Context, p visibility.Principal, who audit.Actor, req Request) (View, error) {
	if err := m.MayCreate(p); err != nil {
		return View{}, err
	}
	q, err := req.check()
	if err != nil {
		return View{}, err
	}
	set, err := m.vis.Set(ctx, p)
	if err != nil {
		return View{}, err
	}
	if _, err := report.ResolveScope(ctx, m.st, p, set, report.FilterFrom(q)); err != nil {
		return View{}, err // report.ErrNotFound is problem.ErrNotFound
	}
	now := m.now()
	s := store.ReportSchedule{OrgID: p.OrgID, UserID: p.UserID, Template: req.Template, Format: req.Format, Query: q.Encode(),
		Every: req.Every, Recipients: req.Recipients, NextRunAt: NextRun(req.Every, now), CreatedAt: now}
	if err := m.st.CreateReportSchedule(ctx, &s); err != nil {
		return View{}, fmt.Errorf("creating report schedule: %w", err)
	}
	if err := m.record(ctx, who, s, "report_schedule.create", map[string]any{"template": s.Template,
		"every": s.Every, "recipients": s.Recipients}); err != nil {
		return View{}, err
	}
	return m.view(ctx, s), nil
}

// check validates req in place (the default format, the recipients'
// bare addresses) and returns its scope as a report filter query.
func (req *Request) check() (url.Values, error) {
	if !slices.Contains(Templates(), req.Template) {
		return nil, problem.Invalidf("template: one of %s", strings.Join(Templates(), ", "))
	}
	if req.Format == "" {
		req.Format = "pdf"
	}
	if req.Format != "pdf" && req.Format != "csv" {
		return nil, problem.Invalidf("format: pdf or csv")
	}
	if _, ok := Span(req.Every); !ok {
		return nil, problem.Invalidf("every: daily, weekly or monthly")
	}
	q := url.Values{}
	for k, v := range req.Scope {
		if !slices.Contains(scopeKeys, k) {
			return nil, problem.Invalidf("scope: %q is not one of %s", k, strings.Join(scopeKeys, ", "))
		}
		q.Set(k, v)
	}
	if len(req.Recipients) == 0 || len(req.Recipients) > 20 {
		return nil, problem.Invalidf("recipients: 1 to 20 email addresses")
	}
	for i, to := range req.Recipients {
		addr, err := netmail.ParseAddress(to)
		if err != nil || addr.Name != "" {
			return nil, problem.Invalidf("recipients: %q is not an email address", to)
		}
		req.Recipients[i] = addr.Address
	}
	return q, nil
}

// List returns the schedules of p's organization.
func (m *Manager) List(ctx context.Context, p visibility.Principal) ([]View, error) {
	ss, err := m.st.ReportSchedulesOf(ctx, p.OrgID)
	if err != nil {
		return nil, fmt.Errorf("loading report schedules: %w", err)
	}
	out := make([]View, 0, len(ss))
	for _, s := range ss {
		out = append(out, m.view(ctx, s))
	}
	return out, nil
}

// Delete removes the schedule id: its creator may, and an admin of the
// organization's top OU. Another organization's schedule is not found.
func (m *Manager) Delete(ctx context.Context, p visibility.Principal, who audit.Actor, id string) error {
	s, err := m.st.ReportSchedule(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && s.OrgID != p.OrgID) {
		return problem.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("loading report schedule %s: %w", id, err)
	}
	if s.UserID != p.UserID {
		o, err := m.st.Organization(ctx, p.OrgID)
		if err != nil {
			return fmt.Errorf("loading organization %s: %w", p.OrgID, err)
		}
		if !p.AdministersAll(o) {
			return problem.ErrWholeOrgOnly
		}
	}
	if err := m.st.DeleteReportSchedule(ctx, s.ID); err != nil {
		return fmt.Errorf("deleting report schedule %s: %w", s.ID, err)
	}
	return m.record(ctx, who, s, "report_schedule.delete", nil)
}

func (m *Manager) record(ctx context.Context, who audit.Actor, s store.ReportSchedule, action string, detail map[string]any) error {
	err := m.rec.Record(ctx, who, audit.Entry{OrgID: s.OrgID, Action: action, TargetType: "report_schedule", TargetID: s.ID, Detail: detail})
	if err != nil {
		return fmt.Errorf("recording %s: %w", action, err)
	}
	return nil
}

// view is s as users see it; its creator is named by email while the
// account exists.
func (m *Manager) view(ctx context.Context, s store.ReportSchedule) View {
	scope := map[string]string{}
	q, _ := url.ParseQuery(s.Query)
	for k := range q {
		scope[k] = q.Get(k)
	}
	v := View{ID: s.ID, Template: s.Template, Format: s.Format, Every: s.Every, Scope: scope, Recipients: s.Recipients,
		NextRunAt: s.NextRunAt, LastRunAt: timePtr(s.LastRunAt), LastError: s.LastError}
	if u, err := m.st.User(ctx, s.UserID); err == nil {
		v.CreatedBy = u.Email
	}
	return v
}

// timePtr is t in UTC, nil when zero (never run).
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
