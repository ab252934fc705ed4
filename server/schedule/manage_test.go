package schedule_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/schedule"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// manager is a schedule.Manager on w's store, recording to its trail, at
// a fixed time (a Sunday, before the 6 o'clock run).
func (w *world) manager(canMail bool) *schedule.Manager {
	now := func() time.Time { return time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC) }
	return schedule.NewManager(w.store, w, audit.New(w.store, nil, now), canMail, now)
}

// ownerP is R1's admin, at R1's top OU.
func (w *world) ownerP() visibility.Principal {
	return visibility.Principal{UserID: w.owner, OrgID: w.r1.ID, OrgKind: store.Reseller, OUID: w.r1.RootOU, Role: store.Admin}
}

func TestManagerCreateChecksTheRequest(t *testing.T) {
	w := newWorld(t)
	m := w.manager(true)
	valid := func() schedule.Request {
		return schedule.Request{Template: "inventory", Every: "weekly", Recipients: []string{"ops@example.com"}}
	}
	for _, tt := range []struct {
		name string
		edit func(*schedule.Request)
		kind problem.Kind
		msg  string
	}{
		{"unknown template", func(r *schedule.Request) { r.Template = "sales" }, problem.Invalid, "template: one of inventory, availability, capacity, backup"},
		{"unknown format", func(r *schedule.Request) { r.Format = "xlsx" }, problem.Invalid, "format: pdf or csv"},
		{"unknown every", func(r *schedule.Request) { r.Every = "hourly" }, problem.Invalid, "every: daily, weekly or monthly"},
		{"unknown scope key", func(r *schedule.Request) { r.Scope = map[string]string{"name": "x"} }, problem.Invalid,
			`scope: "name" is not one of asset_id, ou_id, customer_id, category`},
		{"no recipients", func(r *schedule.Request) { r.Recipients = nil }, problem.Invalid, "recipients: 1 to 20 email addresses"},
		{"too many recipients", func(r *schedule.Request) { r.Recipients = make([]string, 21) }, problem.Invalid, "recipients: 1 to 20 email addresses"},
		{"named recipient", func(r *schedule.Request) { r.Recipients = []string{"Ops <ops@example.com>"} }, problem.Invalid,
			`recipients: "Ops <ops@example.com>" is not an email address`},
		{"asset the creator does not see", func(r *schedule.Request) { r.Scope = map[string]string{"asset_id": w.g1.ID} }, problem.NotFound, "not found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := valid()
			tt.edit(&req)
			_, err := m.Create(t.Context(), w.ownerP(), audit.Actor{UserID: w.owner, OrgID: w.r1.ID}, req)
			require.Equal(t, tt.kind, problem.KindOf(err), "%v", err)
			require.EqualError(t, err, tt.msg)
		})
	}
	ss, err := m.List(t.Context(), w.ownerP())
	require.NoError(t, err)
	require.Empty(t, ss, "nothing refused was stored")
}

func TestManagerCreateListDelete(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	m := w.manager(true)
	who := audit.Actor{UserID: w.owner, OrgID: w.r1.ID, RemoteAddr: "192.0.2.1"}
	v, err := m.Create(ctx, w.ownerP(), who, schedule.Request{Template: "availability", Every: "weekly",
		Scope: map[string]string{"asset_id": w.esx.ID}, Recipients: []string{"ops@example.com"}})
	require.NoError(t, err)
	require.Equal(t, "pdf", v.Format, "the default format")
	require.Equal(t, "r1_admin@example.com", v.CreatedBy)
	require.Equal(t, map[string]string{"asset_id": w.esx.ID}, v.Scope)
	require.Equal(t, time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC), v.NextRunAt, "next Monday, 06:00 UTC")
	require.Nil(t, v.LastRunAt)

	ss, err := m.List(ctx, w.ownerP())
	require.NoError(t, err)
	require.Equal(t, []schedule.View{v}, ss)

	// Another tenant's admin does not find it; a viewer of R1 may not
	// remove another's schedule.
	other := visibility.Principal{UserID: "u-x", OrgID: w.acme.ID, OrgKind: store.Customer, OUID: w.acme.RootOU, Role: store.Admin}
	require.ErrorIs(t, m.Delete(ctx, other, audit.Actor{}, v.ID), problem.ErrNotFound)
	viewer := visibility.Principal{UserID: "u-v", OrgID: w.r1.ID, OrgKind: store.Reseller, OUID: w.r1.RootOU, Role: store.Viewer}
	require.ErrorIs(t, m.Delete(ctx, viewer, audit.Actor{}, v.ID), problem.ErrWholeOrgOnly)
	require.NoError(t, m.Delete(ctx, w.ownerP(), who, v.ID))
	require.ErrorIs(t, m.Delete(ctx, w.ownerP(), who, v.ID), problem.ErrNotFound)

	evs, err := w.store.AuditEvents(ctx, store.AuditFilter{OrgID: w.r1.ID, Limit: 10})
	require.NoError(t, err)
	var actions []string
	for _, e := range evs {
		require.Equal(t, v.ID, e.TargetID)
		require.Equal(t, "192.0.2.1", e.RemoteAddr)
		actions = append(actions, e.Action)
	}
	require.ElementsMatch(t, []string{"report_schedule.create", "report_schedule.delete"}, actions)
}

func TestManagerMayCreate(t *testing.T) {
	w := newWorld(t)
	viewer := w.ownerP()
	viewer.Role = store.Viewer
	for _, tt := range []struct {
		name    string
		p       visibility.Principal
		canMail bool
		kind    problem.Kind
	}{
		{"admin with mail", w.ownerP(), true, 0},
		{"viewer", viewer, true, problem.Forbidden},
		{"admin without mail", w.ownerP(), false, problem.Unavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.kind, problem.KindOf(w.manager(tt.canMail).MayCreate(tt.p)))
		})
	}
}
