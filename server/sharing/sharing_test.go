package sharing_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/mail"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/sharing"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/visibility"
)

// world is a customer with two partners listed as channel partners and a
// third that is not, on a real SQLite store.
type world struct {
	st               *sqlstore.DB
	s                *sharing.Service
	mails            *mailbox
	cust, other      store.Organization
	r1, r2, unlisted store.Organization
	admin            visibility.Principal // admin of the customer's root OU
	who              audit.Actor
	asset            store.Asset // in the customer's root OU
}

var categories = map[string]bool{"server": true, "storage": true, "licence": true}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "kpilot.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	w := &world{st: st, mails: &mailbox{}}
	now := func() time.Time { return time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC) }
	w.s = sharing.New(st, audit.New(st, nil, now), sharing.Options{Mail: w.mails, Categories: categories, Visibility: visibility.NewLoader(st), Now: now})
	org := func(name string, kind store.OrgKind, pid string) store.Organization {
		o := store.Organization{Name: name, Kind: kind, PartnerID: pid}
		require.NoError(t, st.CreateOrganization(ctx, &o))
		return o
	}
	w.cust, w.other = org("Acme", store.Customer, ""), org("Globex", store.Customer, "")
	w.r1, w.r2, w.unlisted = org("R1", store.Reseller, "P-R1"), org("R2", store.Reseller, "P-R2"), org("R3", store.Reseller, "P-R3")
	u := store.User{Email: "admin@acme.example"}
	require.NoError(t, st.CreateUser(ctx, &u))
	w.admin = visibility.Principal{UserID: u.ID, OrgID: w.cust.ID, OrgKind: store.Customer, OUID: w.cust.RootOU, Role: store.Admin}
	w.who = audit.Actor{UserID: u.ID, OrgID: w.cust.ID, RemoteAddr: "192.0.2.1"}
	w.asset = store.Asset{OrgID: w.cust.ID, OUID: w.cust.RootOU, Name: "ESX", Category: "server"}
	require.NoError(t, st.CreateAsset(ctx, &w.asset, nil))
	return w
}

// partner is an admin of the partner organization o.
func partner(o store.Organization) (visibility.Principal, audit.Actor) {
	return visibility.Principal{UserID: "u-" + o.ID, OrgID: o.ID, OrgKind: o.Kind, OUID: o.RootOU, Role: store.Admin},
		audit.Actor{UserID: "u-" + o.ID, OrgID: o.ID}
}

// actions are the audit actions recorded for org, oldest first.
func (w *world) actions(t *testing.T, org string) []string {
	t.Helper()
	evs, err := w.st.AuditEvents(t.Context(), store.AuditFilter{OrgID: org, Limit: 1000})
	require.NoError(t, err)
	var out []string
	for i := len(evs) - 1; i >= 0; i-- {
		out = append(out, evs[i].Action)
	}
	return out
}

// requireProblem checks that err is a problem of kind with the message msg.
func requireProblem(t *testing.T, err error, kind problem.Kind, msg string) {
	t.Helper()
	var pe *problem.Error
	require.ErrorAs(t, err, &pe, "got %v, want a problem", err)
	require.Equal(t, kind, pe.Kind, "got %v", err)
	require.Equal(t, msg, pe.Msg)
}

// mailbox keeps the mails sent, or fails with err.
type mailbox struct {
	sent  []mail.Message
	kinds []string
	err   error
}

func (m *mailbox) Send(_ context.Context, kind string, msg mail.Message) error {
	if m.err != nil {
		return m.err
	}
	m.sent, m.kinds = append(m.sent, msg), append(m.kinds, kind)
	return nil
}

// guesses counts the guesses a flow starts and how they ended.
type guesses struct {
	started, right, wrong int
	refuse                error // over the allowance
}

func (g *guesses) guess() sharing.Guess {
	return func() (func(bool), error) {
		if g.refuse != nil {
			return nil, g.refuse
		}
		g.started++
		return func(ok bool) {
			if ok {
				g.right++
			} else {
				g.wrong++
			}
		}, nil
	}
}

var errMailDown = errors.New("smtp: 421 try later")
