package sharing_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
)

// TestGroupMembersAreTheCustomersOwn: a device group holds only assets
// of its customer; another customer's asset is answered like a missing one.
func TestGroupMembersAreTheCustomersOwn(t *testing.T) {
	w, ctx := newWorld(t), t.Context()
	foreign := store.Asset{OrgID: w.other.ID, OUID: w.other.RootOU, Name: "Switch", Category: "server"}
	require.NoError(t, w.st.CreateAsset(ctx, &foreign, nil))
	const noSuchAsset = "asset_ids: no such asset in this organization"

	_, err := w.s.CreateGroup(ctx, w.admin, w.who, "Core", []string{w.asset.ID, foreign.ID})
	requireProblem(t, err, problem.NotFound, noSuchAsset)
	_, err = w.s.CreateGroup(ctx, w.admin, w.who, "", nil)
	requireProblem(t, err, problem.Invalid, "name: 1 to 200 characters on one line")
	_, err = w.s.CreateGroup(ctx, w.admin, w.who, "Core", make([]string, 10001))
	requireProblem(t, err, problem.Invalid, "asset_ids: at most 10000")

	g, err := w.s.CreateGroup(ctx, w.admin, w.who, " Core ", []string{w.asset.ID})
	require.NoError(t, err)
	require.Equal(t, "Core", g.Name)
	requireProblem(t, w.s.SetGroupMembers(ctx, w.admin, w.who, g.ID, []string{foreign.ID}), problem.NotFound, noSuchAsset)
	requireProblem(t, w.s.SetGroupMembers(ctx, w.admin, w.who, "no-such-group", nil), problem.NotFound, "not found")
	require.NoError(t, w.s.SetGroupMembers(ctx, w.admin, w.who, g.ID, nil))

	gs, err := w.s.Groups(ctx, w.admin)
	require.NoError(t, err)
	require.Len(t, gs, 1)
	require.Empty(t, gs[0].AssetIDs)
	require.NoError(t, w.s.DeleteGroup(ctx, w.admin, w.who, g.ID))
	requireProblem(t, w.s.DeleteGroup(ctx, w.admin, w.who, g.ID), problem.NotFound, "not found")

	r1, _ := partner(w.r1)
	_, err = w.s.Groups(ctx, r1)
	require.ErrorIs(t, err, problem.ErrCustomerOnly)
	require.Equal(t, []string{"device_group.create", "device_group.members", "device_group.delete"}, w.actions(t, w.cust.ID))
}
