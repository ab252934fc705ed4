package sharing_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/sharing"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// TestDefaultPartnerStaysUntilAnotherIsDefault: a default partner cannot
// be removed, so a device never loses its partner by accident; making
// another partner the default frees it.
func TestDefaultPartnerStaysUntilAnotherIsDefault(t *testing.T) {
	w, ctx := newWorld(t), t.Context()
	g := &guesses{}
	_, err := w.s.AddChannelPartner(ctx, w.admin, w.who, g.guess(), sharing.PartnerInput{PartnerID: "P-R1", DefaultReseller: true})
	require.NoError(t, err)
	_, err = w.s.AddChannelPartner(ctx, w.admin, w.who, g.guess(), sharing.PartnerInput{PartnerID: " P-R2 "})
	require.NoError(t, err, "the partner ID is trimmed")
	require.Equal(t, 2, g.right)

	err = w.s.RemoveChannelPartner(ctx, w.admin, w.who, "P-R1")
	requireProblem(t, err, problem.Conflict, "a default partner cannot be removed: make another partner the default first")

	yes := true
	cp, err := w.s.UpdateChannelPartner(ctx, w.admin, w.who, "P-R2", sharing.Defaults{Reseller: &yes})
	require.NoError(t, err)
	require.True(t, cp.DefaultReseller)
	require.False(t, cp.DefaultService, "an absent flag stays as it was")
	require.NoError(t, w.s.RemoveChannelPartner(ctx, w.admin, w.who, "P-R1"))

	cps, consent, err := w.s.ChannelPartners(ctx, w.admin)
	require.NoError(t, err)
	require.False(t, consent)
	require.Len(t, cps, 1)
	require.Equal(t, "P-R2", cps[0].Org.PartnerID)
	require.Equal(t, []string{"channel_partner.add", "channel_partner.add", "channel_partner.update", "channel_partner.remove"},
		w.actions(t, w.cust.ID))

	err = w.s.RemoveChannelPartner(ctx, w.admin, w.who, "P-R1")
	requireProblem(t, err, problem.NotFound, "not found")
	_, err = w.s.AddChannelPartner(ctx, w.admin, w.who, g.guess(), sharing.PartnerInput{PartnerID: "P-R2"})
	requireProblem(t, err, problem.Conflict, "this partner is already a channel partner")
}

// TestPartnerIDGuesses: a wrong partner ID uses up an allowed guess, a
// right one does not, and over the allowance nothing is looked up.
func TestPartnerIDGuesses(t *testing.T) {
	w, ctx := newWorld(t), t.Context()
	g := &guesses{}
	_, err := w.s.CheckPartner(ctx, w.admin, g.guess(), "P-NOPE")
	requireProblem(t, err, problem.NotFound, "unknown partner ID: check it with your partner")
	o, err := w.s.CheckPartner(ctx, w.admin, g.guess(), "P-R3")
	require.NoError(t, err)
	require.Equal(t, w.unlisted.ID, o.ID)
	require.Equal(t, guesses{started: 2, right: 1, wrong: 1}, *g)

	_, err = w.s.CheckPartner(ctx, w.admin, g.guess(), "")
	requireProblem(t, err, problem.Invalid, "partner_id: missing or too long")
	require.Equal(t, 2, g.started, "a malformed ID is no guess")
	g.refuse = problem.New(problem.TooMany, "too many attempts")
	_, err = w.s.CheckPartner(ctx, w.admin, g.guess(), "P-R3")
	require.ErrorIs(t, err, g.refuse)
	_, err = w.s.Assign(ctx, w.admin, w.who, g.guess(), sharing.AssignmentInput{PartnerID: "P-R3", Role: store.RoleReseller, AssetID: w.asset.ID})
	require.ErrorIs(t, err, g.refuse, "assigning looks a partner ID up as a guess too")

	g = &guesses{}
	_, err = w.s.Assign(ctx, w.admin, w.who, g.guess(), sharing.AssignmentInput{PartnerID: "P-NOPE", Role: store.RoleReseller, AssetID: w.asset.ID})
	requireProblem(t, err, problem.NotFound, "partner_id: not a channel partner of this organization; add it first")
	require.Equal(t, guesses{started: 1, wrong: 1}, *g, "a wrong partner ID in an assignment uses up a guess")
}

// TestAssign: only partners the customer listed take devices, in a known
// role, for exactly one device or group.
func TestAssign(t *testing.T) {
	w, ctx := newWorld(t), t.Context()
	_, err := w.s.AddChannelPartner(ctx, w.admin, w.who, (&guesses{}).guess(), sharing.PartnerInput{PartnerID: "P-R1"})
	require.NoError(t, err)
	tests := []struct {
		name     string
		in       sharing.AssignmentInput
		wantKind problem.Kind
		wantMsg  string
	}{
		{"listed partner", sharing.AssignmentInput{PartnerID: "P-R1", Role: store.RoleService, AssetID: w.asset.ID}, 0, ""},
		{"unlisted partner", sharing.AssignmentInput{PartnerID: "P-R3", Role: store.RoleReseller, AssetID: w.asset.ID},
			problem.NotFound, "no such channel partner, device or device group in this organization"},
		{"unknown partner ID", sharing.AssignmentInput{PartnerID: "P-NOPE", Role: store.RoleReseller, AssetID: w.asset.ID},
			problem.NotFound, "partner_id: not a channel partner of this organization; add it first"},
		{"unknown role", sharing.AssignmentInput{PartnerID: "P-R1", Role: "owner", AssetID: w.asset.ID},
			problem.Invalid, `role "owner": reseller or service`},
		{"asset and group", sharing.AssignmentInput{PartnerID: "P-R1", Role: store.RoleReseller, AssetID: w.asset.ID, GroupID: "g"},
			problem.Invalid, "name either asset_id or group_id"},
		{"neither", sharing.AssignmentInput{PartnerID: "P-R1", Role: store.RoleReseller},
			problem.Invalid, "name either asset_id or group_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := w.s.Assign(ctx, w.admin, w.who, (&guesses{}).guess(), tt.in)
			if tt.wantKind != 0 {
				requireProblem(t, err, tt.wantKind, tt.wantMsg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "P-R1", x.PartnerID)
			as, err := w.s.Assignments(ctx, w.admin)
			require.NoError(t, err)
			require.Len(t, as, 1)
			require.Equal(t, x.ID, as[0].ID)
			require.Equal(t, "P-R1", as[0].PartnerID)
			require.NoError(t, w.s.Unassign(ctx, w.admin, w.who, x.ID))
			requireProblem(t, w.s.Unassign(ctx, w.admin, w.who, x.ID), problem.NotFound, "not found")
		})
	}
}

// TestConsent: only admins of the whole customer give or withdraw it,
// and each change is recorded.
func TestConsent(t *testing.T) {
	w, ctx := newWorld(t), t.Context()
	yes, no := true, false
	branch := store.OU{OrgID: w.cust.ID, ParentID: w.cust.RootOU, Name: "Branch"}
	require.NoError(t, w.st.CreateOU(ctx, &branch))
	branchAdmin := w.admin
	branchAdmin.OUID = branch.ID
	viewer := w.admin
	viewer.Role = store.Viewer
	r1, r1who := partner(w.r1)
	tests := []struct {
		name     string
		p        visibility.Principal
		consent  *bool
		wantKind problem.Kind
		wantMsg  string
	}{
		{"missing", w.admin, nil, problem.Invalid, "consent: true or false"},
		{"admin of a branch", branchAdmin, &yes, problem.Forbidden, "only admins of the whole organization (its top OU) may do this"},
		{"viewer", viewer, &yes, problem.Forbidden, "only admins of the whole organization (its top OU) may do this"},
		{"partner", r1, &yes, problem.Forbidden, problem.ErrCustomerOnly.Msg},
		{"give", w.admin, &yes, 0, ""},
		{"withdraw", w.admin, &no, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			who := w.who
			if tt.p.OrgID != w.cust.ID {
				who = r1who
			}
			err := w.s.SetConsent(ctx, tt.p, who, tt.consent)
			if tt.wantKind != 0 {
				requireProblem(t, err, tt.wantKind, tt.wantMsg)
				return
			}
			require.NoError(t, err)
			got, err := w.st.ChannelConsent(ctx, w.cust.ID)
			require.NoError(t, err)
			require.Equal(t, *tt.consent, got)
		})
	}
	require.Equal(t, []string{"channel.consent_give", "channel.consent_withdraw"}, w.actions(t, w.cust.ID))
}
