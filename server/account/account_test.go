package account_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/account"
	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/mail"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/visibility"
)

const password = "correct-horse-battery"

// outbox records the messages a Service sends; fail makes the next sends
// fail, as an unreachable SMTP server would.
type outbox struct {
	mu   sync.Mutex
	msgs []mail.Message
	fail bool
}

func (o *outbox) Send(_ context.Context, m mail.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail {
		return errors.New("dial tcp 127.0.0.1:25: connection refused")
	}
	o.msgs = append(o.msgs, m)
	return nil
}

// last returns the latest message and the token of the link in it.
func (o *outbox) last(t *testing.T) (mail.Message, string) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	require.NotEmpty(t, o.msgs, "no mail sent")
	m := o.msgs[len(o.msgs)-1]
	tok := regexp.MustCompile(`#(kp[a-z]+_\S+)`).FindStringSubmatch(m.Text)
	if tok == nil {
		return m, ""
	}
	return m, tok[1]
}

// env is an account Service on a fresh SQLite store, with a clock the
// test moves and an organization whose root OU has one branch below it.
type env struct {
	t      *testing.T
	st     *sqlstore.DB
	svc    *account.Service
	mails  *outbox
	counts map[string]int // kind/result → mails counted
	now    time.Time
	ttl    account.TTLs
	org    store.Organization
	branch store.OU
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "kpilot.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, st: st, mails: &outbox{}, counts: map[string]int{}, now: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC),
		ttl: account.TTLs{Session: 12 * time.Hour, Invitation: 7 * 24 * time.Hour, PasswordReset: time.Hour, EnrollmentToken: time.Hour}}
	clock := func() time.Time { return e.now }
	mailer := &account.Mailer{Sender: e.mails, PublicURL: "https://kpilot.example",
		Count: func(kind, result string) { e.counts[kind+"/"+result]++ }}
	e.svc = account.New(st, audit.New(st, nil, clock), account.Options{TTL: e.ttl, Mailer: mailer, Now: clock})
	e.org = store.Organization{Name: "Acme", Kind: store.Customer}
	require.NoError(t, st.CreateOrganization(ctx, &e.org))
	e.branch = store.OU{OrgID: e.org.ID, ParentID: e.org.RootOU, Name: "Branch"}
	require.NoError(t, st.CreateOU(ctx, &e.branch))
	return e
}

// user creates a user with password and a membership in org at ou, and
// returns the principal it acts as there.
func (e *env) user(email string, org store.Organization, ou string, role store.Role) visibility.Principal {
	e.t.Helper()
	hash, err := auth.HashPassword(password)
	require.NoError(e.t, err)
	u := store.User{Email: email, PasswordHash: hash}
	require.NoError(e.t, e.st.CreateUser(e.t.Context(), &u))
	require.NoError(e.t, e.st.AddMembership(e.t.Context(), store.Membership{UserID: u.ID, OrgID: org.ID, OUID: ou, Role: role}))
	return visibility.Principal{UserID: u.ID, OrgID: org.ID, OrgKind: org.Kind, OUID: ou, Role: role}
}

// actor is p acting from a documentation address.
func actor(p visibility.Principal) audit.Actor {
	return audit.Actor{UserID: p.UserID, OrgID: p.OrgID, RemoteAddr: "192.0.2.10"}
}

// audited returns the audit events of action in org, newest first.
func (e *env) audited(org, action string) []store.AuditEvent {
	e.t.Helper()
	evs, err := e.st.AuditEvents(e.t.Context(), store.AuditFilter{OrgID: org, Action: action, Limit: 100})
	require.NoError(e.t, err)
	return evs
}

// noLimit is a Limit that always lets the attempt through and records
// how each attempt ended.
type noLimit struct {
	emails  []string
	results []bool
}

func (l *noLimit) limit(email string) (func(bool), error) {
	l.emails = append(l.emails, email)
	return func(ok bool) { l.results = append(l.results, ok) }, nil
}

// requireProblem checks that err is a problem of kind with message msg.
func requireProblem(t *testing.T, err error, kind problem.Kind, msg string) {
	t.Helper()
	var pe *problem.Error
	require.ErrorAs(t, err, &pe, "got %v, want a problem", err)
	require.Equal(t, kind, pe.Kind, "got %v", err)
	require.Equal(t, msg, pe.Msg)
}
