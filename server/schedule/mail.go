package schedule

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/kpilot/kpilot/server/mail"
	"github.com/kpilot/kpilot/server/report"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// errOwnerGone is a schedule whose owner is no longer a member of the
// schedule's organization: nothing is mailed in their name.
var errOwnerGone = errors.New("the schedule's owner no longer belongs to the organization")

// makeError is a report that could not be made (as opposed to mailed).
type makeError struct {
	template string
	err      error
}

func (e *makeError) Error() string { return "making the " + e.template + " report: " + e.err.Error() }
func (e *makeError) Unwrap() error { return e.err }

// lastError is what a schedule's run records for its admins to read. As
// the API keeps the causes of its 404 and 503 answers from clients, the
// details of a missing scope or a KPI outage go to the log only.
func lastError(err error) string {
	var me *makeError
	if !errors.As(err, &me) {
		return err.Error()
	}
	msg := me.err.Error()
	switch {
	case errors.Is(me.err, errOwnerGone):
		msg = errOwnerGone.Error()
	case errors.Is(me.err, report.ErrNotFound):
		msg = "not found"
	case errors.Is(me.err, report.ErrUnavailable):
		msg = "InfluxDB is unavailable; retry later"
	}
	return "making the " + me.template + " report: " + msg
}

// mailReport makes s's report and mails it to each recipient.
func (r *Runner) mailReport(ctx context.Context, s store.ReportSchedule) error {
	t, err := r.build(ctx, s)
	if err != nil {
		return &makeError{template: s.Template, err: err}
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, t, s.Format); err != nil {
		return &makeError{template: s.Template, err: err}
	}
	ct := "text/csv"
	if s.Format == report.PDF {
		ct = "application/pdf"
	}
	name := report.FileName(s.Template, s.Format, t.Generated)
	title := strings.ToUpper(s.Template[:1]) + s.Template[1:]
	var errs []error
	for _, to := range s.Recipients {
		err := r.mail.Send(ctx, mail.Message{To: to, Subject: "kpilot: " + title + " report (" + s.Every + ")",
			Text: fmt.Sprintf("Attached is the %s %s report from kpilot.\n\nManage scheduled reports in the portal or at %s/api/v1/report-schedules.\n",
				s.Every, s.Template, r.publicURL),
			Attachments: []mail.Attachment{{Name: name, ContentType: ct, Data: buf.Bytes()}}})
		if err != nil {
			errs = append(errs, fmt.Errorf("mail to %s: %w", to, err))
		}
	}
	return errors.Join(errs...)
}

// build makes s's report as its owner sees the assets now, covering the
// last day, week or 30 days.
func (r *Runner) build(ctx context.Context, s store.ReportSchedule) (report.Table, error) {
	p, err := r.owner(ctx, s)
	if err != nil {
		return report.Table{}, err
	}
	set, err := r.vis.Set(ctx, p)
	if err != nil {
		return report.Table{}, fmt.Errorf("resolving what the owner may see: %w", err)
	}
	q, err := url.ParseQuery(s.Query)
	if err != nil {
		return report.Table{}, fmt.Errorf("scope %q: %w", s.Query, err)
	}
	sc, err := report.ResolveScope(ctx, r.store, p, set, report.FilterFrom(q))
	if err != nil {
		return report.Table{}, err
	}
	now := r.now()
	span, _ := Span(s.Every)
	period := report.Period{Start: now.Add(-span), Stop: now}
	switch s.Template {
	case "inventory":
		return report.Inventory(ctx, r.store, sc, now)
	case "availability":
		return report.Availability(ctx, r.kpis, sc, period, now)
	case "capacity":
		return report.Capacity(ctx, r.kpis, sc, period, now)
	case "backup":
		return report.Backup(ctx, r.kpis, sc, period, now)
	}
	return report.Table{}, fmt.Errorf("unknown template %q", s.Template)
}

// owner is the principal the schedule's report is made as: its owner in
// the schedule's organization, with the OU and role they hold there now.
func (r *Runner) owner(ctx context.Context, s store.ReportSchedule) (visibility.Principal, error) {
	ms, err := r.store.Memberships(ctx, s.UserID)
	if err != nil {
		return visibility.Principal{}, fmt.Errorf("loading the owner's memberships: %w", err)
	}
	for _, m := range ms {
		if m.OrgID != s.OrgID {
			continue
		}
		org, err := r.store.Organization(ctx, s.OrgID)
		if err != nil {
			return visibility.Principal{}, fmt.Errorf("loading organization %s: %w", s.OrgID, err)
		}
		return visibility.Principal{UserID: s.UserID, OrgID: s.OrgID, OrgKind: org.Kind, OUID: m.OUID, Role: m.Role}, nil
	}
	return visibility.Principal{}, errOwnerGone
}
