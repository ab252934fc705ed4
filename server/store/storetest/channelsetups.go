package storetest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// channelSetupTests cover store.ChannelSetups.
var channelSetupTests = []test{
	{"ChannelSetupsAgreeWithOneByOne", testChannelSetups},
}

// testChannelSetups: the set-ups of many customers at once are what the
// single-customer reads return, in their order; a customer with nothing
// has no entry, and another customer's rows are not mixed in.
func testChannelSetups(t *testing.T, s store.Store) {
	ctx := t.Context()
	p1, p2 := newOrg(t, s, "P1"), newOrg(t, s, "P2")
	var ids []string
	for i := range 3 {
		c := newOrg(t, s, fmt.Sprintf("C%d", i))
		ids = append(ids, c.ID)
		if i == 2 {
			continue // nothing at all
		}
		var assets []string
		for _, n := range []string{"b", "a", "c"} {
			a := store.Asset{OrgID: c.ID, OUID: c.RootOU, Name: fmt.Sprintf("%s%d", n, i), Category: "server"}
			require.NoError(t, s.CreateAsset(ctx, &a, nil))
			assets = append(assets, a.ID)
		}
		require.NoError(t, s.AddChannelPartner(ctx, store.ChannelPartner{CustomerOrgID: c.ID, PartnerOrgID: p1.ID, DefaultReseller: true, AddedBy: "t"}))
		require.NoError(t, s.AddChannelPartner(ctx, store.ChannelPartner{CustomerOrgID: c.ID, PartnerOrgID: p2.ID, DefaultService: true, AddedBy: "t"}))
		for _, name := range []string{"Zeta", "Alpha"} {
			g := store.DeviceGroup{OrgID: c.ID, Name: name}
			require.NoError(t, s.CreateDeviceGroup(ctx, &g))
			require.NoError(t, s.SetDeviceGroupMembers(ctx, c.ID, g.ID, assets[:2]))
			require.NoError(t, s.SetChannelAssignment(ctx, &store.ChannelAssignment{CustomerOrgID: c.ID, PartnerOrgID: p1.ID,
				Role: store.RoleService, GroupID: g.ID, AssignedBy: "t"}))
		}
		require.NoError(t, s.CreateDeviceGroup(ctx, &store.DeviceGroup{OrgID: c.ID, Name: "Empty"}))
		require.NoError(t, s.SetChannelAssignment(ctx, &store.ChannelAssignment{CustomerOrgID: c.ID, PartnerOrgID: p2.ID,
			Role: store.RoleReseller, AssetID: assets[2], AssignedBy: "t"}))
	}
	other := newOrg(t, s, "Other")
	require.NoError(t, s.CreateAsset(ctx, &store.Asset{OrgID: other.ID, OUID: other.RootOU, Name: "x", Category: "server"}, nil))

	got, err := s.ChannelSetups(ctx, ids)
	require.NoError(t, err)
	require.Len(t, got, 2, "the customer with nothing has no entry")
	for _, id := range ids[:2] {
		var want store.ChannelSetup
		want.Partners, err = s.ChannelPartners(ctx, id)
		require.NoError(t, err)
		want.Assignments, err = s.ChannelAssignments(ctx, id)
		require.NoError(t, err)
		want.Groups, err = s.DeviceGroups(ctx, id)
		require.NoError(t, err)
		want.Assets, err = s.Assets(ctx, id)
		require.NoError(t, err)
		require.Len(t, want.Assets, 3)
		require.Len(t, want.Groups, 3)
		require.Equal(t, want, got[id])
	}
	none, err := s.ChannelSetups(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, none)
}
