package sharing_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/sharing"
	"github.com/kpilot/kpilot/server/store"
)

// TestChannelDevices: each device names the partner holding it in each
// role and why (its own assignment, its group's, the default), the way
// partners' visibility resolves it; a partner may not read the list.
func TestChannelDevices(t *testing.T) {
	w, ctx := newWorld(t), t.Context()
	g := (&guesses{}).guess
	_, err := w.s.AddChannelPartner(ctx, w.admin, w.who, g(), sharing.PartnerInput{PartnerID: "P-R1", DefaultReseller: true})
	require.NoError(t, err)
	_, err = w.s.AddChannelPartner(ctx, w.admin, w.who, g(), sharing.PartnerInput{PartnerID: "P-R2"})
	require.NoError(t, err)
	nas := store.Asset{OrgID: w.cust.ID, OUID: w.cust.RootOU, Name: "NAS", Category: "storage"}
	require.NoError(t, w.st.CreateAsset(ctx, &nas, nil))
	foreign := store.Asset{OrgID: w.other.ID, OUID: w.other.RootOU, Name: "Foreign", Category: "server"}
	require.NoError(t, w.st.CreateAsset(ctx, &foreign, nil))
	grp, err := w.s.CreateGroup(ctx, w.admin, w.who, "Core", []string{nas.ID})
	require.NoError(t, err)
	byGroup, err := w.s.Assign(ctx, w.admin, w.who, g(), sharing.AssignmentInput{PartnerID: "P-R2", Role: store.RoleService, GroupID: grp.ID})
	require.NoError(t, err)
	byDevice, err := w.s.Assign(ctx, w.admin, w.who, g(), sharing.AssignmentInput{PartnerID: "P-R2", Role: store.RoleReseller, AssetID: w.asset.ID})
	require.NoError(t, err)

	ds, err := w.s.ChannelDevices(ctx, w.admin, []store.Asset{w.asset, nas, foreign})
	require.NoError(t, err)
	require.Equal(t, []sharing.Device{
		{AssetID: w.asset.ID, Name: "ESX", Category: "server", GroupIDs: []string{},
			Reseller: &sharing.Holder{PartnerID: "P-R2", Via: "device", AssignmentID: byDevice.ID}},
		{AssetID: nas.ID, Name: "NAS", Category: "storage", GroupIDs: []string{grp.ID},
			Reseller: &sharing.Holder{PartnerID: "P-R1", Via: "default"},
			Service:  &sharing.Holder{PartnerID: "P-R2", Via: "group", AssignmentID: byGroup.ID}},
	}, ds, "another organization's asset is left out")

	viewer := w.admin
	viewer.Role = store.Viewer
	_, err = w.s.ChannelDevices(ctx, viewer, []store.Asset{w.asset})
	require.NoError(t, err, "a viewer reads it")
	r1, _ := partner(w.r1)
	_, err = w.s.ChannelDevices(ctx, r1, nil)
	requireProblem(t, err, problem.Forbidden, problem.ErrCustomerOnly.Msg)
}
