package sharing_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/sharing"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// set is p's visible set on the store as it is now.
func (w *world) set(t *testing.T, p visibility.Principal) visibility.Set {
	t.Helper()
	set, err := visibility.NewLoader(w.st).Set(t.Context(), p)
	require.NoError(t, err)
	return set
}

// TestRevokeGrant: the customer's admins revoke what they gave, the
// partner's admins may give it up; nobody else learns the grant exists.
func TestRevokeGrant(t *testing.T) {
	w, ctx := newWorld(t), t.Context()
	r1, r1who := partner(w.r1)
	r2, r2who := partner(w.r2)
	grant := func() store.Grant {
		g := store.Grant{AssetID: w.asset.ID, CustomerOrgID: w.cust.ID, PartnerOrgID: w.r1.ID, Kind: store.GrantSystemKey, GrantedBy: r1.UserID}
		require.NoError(t, w.st.CreateGrant(ctx, &g))
		return g
	}
	g := grant()

	gs, err := w.s.Grants(ctx, r1, w.set(t, r1), false)
	require.NoError(t, err)
	require.Len(t, gs, 1)
	require.Equal(t, "ESX", gs[0].AssetName)
	require.Equal(t, w.cust.ID, gs[0].Customer.ID)
	require.Equal(t, "P-R1", gs[0].Partner.PartnerID)

	requireProblem(t, w.s.RevokeGrant(ctx, r2, r2who, g.ID), problem.NotFound, "not found")
	requireProblem(t, w.s.RevokeGrant(ctx, r1, r1who, "no-such-grant"), problem.NotFound, "not found")
	viewer := w.admin
	viewer.Role = store.Viewer
	require.ErrorIs(t, w.s.RevokeGrant(ctx, viewer, w.who, g.ID), problem.ErrAdminOnly)

	require.NoError(t, w.s.RevokeGrant(ctx, w.admin, w.who, g.ID))
	require.NoError(t, w.s.RevokeGrant(ctx, w.admin, w.who, g.ID), "revoking twice is no error")
	gs, err = w.s.Grants(ctx, r1, w.set(t, r1), true)
	require.NoError(t, err)
	require.Len(t, gs, 1)
	require.Empty(t, gs[0].AssetName, "a partner that no longer sees the asset does not learn its name")

	g = grant()
	require.NoError(t, w.s.RevokeGrant(ctx, r1, r1who, g.ID), "the partner gives it up")
	require.Equal(t, []string{"grant.revoke", "grant.revoke"}, w.actions(t, w.cust.ID), "recorded once per grant, in the customer's trail")
}

// TestAssetPartners: the owner learns who sees an asset and why; a
// partner's access is read-only.
func TestAssetPartners(t *testing.T) {
	w, ctx := newWorld(t), t.Context()
	_, err := w.s.AddChannelPartner(ctx, w.admin, w.who, (&guesses{}).guess(), sharing.PartnerInput{PartnerID: "P-R2", DefaultService: true})
	require.NoError(t, err)
	g := store.Grant{AssetID: w.asset.ID, CustomerOrgID: w.cust.ID, PartnerOrgID: w.r1.ID, Kind: store.GrantCreated}
	require.NoError(t, w.st.CreateGrant(ctx, &g))

	ps, err := w.s.AssetPartners(ctx, w.asset, visibility.Access{Class: visibility.Owner})
	require.NoError(t, err)
	require.Len(t, ps, 2)
	require.Equal(t, "P-R1", ps[0].Org.PartnerID)
	require.Equal(t, g.ID, ps[0].GrantID)
	require.Equal(t, "P-R2", ps[1].Org.PartnerID)
	require.Equal(t, store.RoleService, ps[1].Role)
	require.False(t, ps[1].Effective, "without consent the default service partner sees nothing")

	_, err = w.s.AssetPartners(ctx, w.asset, visibility.Access{Class: visibility.Service})
	require.ErrorIs(t, err, problem.ErrReadOnly)
}
