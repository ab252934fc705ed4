package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// channelTests cover store.Channel: grants, channel partners, assignments and device groups.
var channelTests = []test{
	{"GrantsAreIdempotentAndRevocable", testGrants},
	{"ChannelPartnersDefaultsAndAssignments", testChannel},
	{"DeviceGroupsStayInTheirOrganization", testDeviceGroups},
}

func testGrants(t *testing.T, s store.Store) {
	c, p := newOrg(t, s, "Acme"), partner(t, s, "Reseller", "P-1")
	a := asset(t, s, c.ID, c.RootOU, "srv")
	ctx := t.Context()
	g1 := store.Grant{AssetID: a.ID, CustomerOrgID: c.ID, PartnerOrgID: p.ID, Kind: store.GrantSystemKey, GrantedBy: "u"}
	require.NoError(t, s.CreateGrant(ctx, &g1))
	g2 := store.Grant{AssetID: a.ID, CustomerOrgID: c.ID, PartnerOrgID: p.ID, Kind: store.GrantSystemKey, GrantedBy: "u"}
	require.NoError(t, s.CreateGrant(ctx, &g2))
	require.Equal(t, g1.ID, g2.ID, "entering the same key twice keeps one grant")

	wrong := store.Grant{AssetID: a.ID, CustomerOrgID: p.ID, PartnerOrgID: p.ID, Kind: store.GrantSystemKey}
	require.NoError(t, s.CreateGrant(ctx, &wrong))
	all, err := s.Grants(ctx, store.GrantFilter{PartnerOrgID: p.ID})
	require.NoError(t, err)
	require.Len(t, all, 1, "a grant naming the wrong customer is not stored")

	require.NoError(t, s.RevokeGrant(ctx, g1.ID, "admin", time.Now()))
	require.ErrorIs(t, s.RevokeGrant(ctx, g1.ID, "admin", time.Now()), store.ErrNotFound, "revoked once")
	live, err := s.Grants(ctx, store.GrantFilter{CustomerOrgID: c.ID, LiveOnly: true})
	require.NoError(t, err)
	require.Empty(t, live)
	g, err := s.Grant(ctx, g1.ID)
	require.NoError(t, err)
	require.False(t, g.Live())
	require.Equal(t, "admin", g.RevokedBy)

	g3 := store.Grant{AssetID: a.ID, CustomerOrgID: c.ID, PartnerOrgID: p.ID, Kind: store.GrantSystemKey, GrantedBy: "u"}
	require.NoError(t, s.CreateGrant(ctx, &g3))
	require.NotEqual(t, g1.ID, g3.ID, "a new grant after revocation")
	_, err = s.Grants(ctx, store.GrantFilter{})
	require.ErrorIs(t, err, store.ErrInvalid, "an unscoped grant listing is refused")
}

func testChannel(t *testing.T, s store.Store) {
	c := newOrg(t, s, "Acme")
	p1, p2 := partner(t, s, "R1", "P-1"), partner(t, s, "R2", "P-2")
	ctx := t.Context()
	found, err := s.OrganizationByPartnerID(ctx, "P-2")
	require.NoError(t, err)
	require.Equal(t, p2.ID, found.ID)
	_, err = s.OrganizationByPartnerID(ctx, "P-9")
	require.ErrorIs(t, err, store.ErrNotFound)

	require.NoError(t, s.AddChannelPartner(ctx, store.ChannelPartner{CustomerOrgID: c.ID, PartnerOrgID: p1.ID, DefaultReseller: true, DefaultService: true, AddedBy: "u"}))
	require.ErrorIs(t, s.AddChannelPartner(ctx, store.ChannelPartner{CustomerOrgID: c.ID, PartnerOrgID: p1.ID}), store.ErrConflict)
	require.NoError(t, s.AddChannelPartner(ctx, store.ChannelPartner{CustomerOrgID: c.ID, PartnerOrgID: p2.ID, DefaultService: true, AddedBy: "u"}))
	cps, err := s.ChannelPartners(ctx, c.ID)
	require.NoError(t, err)
	flags := map[string][2]bool{}
	for _, cp := range cps {
		flags[cp.PartnerOrgID] = [2]bool{cp.DefaultReseller, cp.DefaultService}
	}
	require.Equal(t, [2]bool{true, false}, flags[p1.ID], "the new default service partner took the flag")
	require.Equal(t, [2]bool{false, true}, flags[p2.ID])
	require.ErrorIs(t, s.RemoveChannelPartner(ctx, c.ID, p2.ID), store.ErrInvalid, "a default partner cannot be removed")

	a := asset(t, s, c.ID, c.RootOU, "srv")
	other := newOrg(t, s, "Other")
	foreign := asset(t, s, other.ID, other.RootOU, "theirs")
	as := store.ChannelAssignment{CustomerOrgID: c.ID, PartnerOrgID: p2.ID, Role: store.RoleReseller, AssetID: a.ID, AssignedBy: "u"}
	require.NoError(t, s.SetChannelAssignment(ctx, &as))
	again := store.ChannelAssignment{CustomerOrgID: c.ID, PartnerOrgID: p1.ID, Role: store.RoleReseller, AssetID: a.ID, AssignedBy: "u"}
	require.NoError(t, s.SetChannelAssignment(ctx, &again))
	got, err := s.ChannelAssignments(ctx, c.ID)
	require.NoError(t, err)
	require.Len(t, got, 1, "one partner per device and role")
	require.Equal(t, p1.ID, got[0].PartnerOrgID)
	bad := store.ChannelAssignment{CustomerOrgID: c.ID, PartnerOrgID: p1.ID, Role: store.RoleReseller, AssetID: foreign.ID}
	require.ErrorIs(t, s.SetChannelAssignment(ctx, &bad), store.ErrNotFound, "another customer's device")
	stranger := partner(t, s, "R3", "P-3")
	bad = store.ChannelAssignment{CustomerOrgID: c.ID, PartnerOrgID: stranger.ID, Role: store.RoleService, AssetID: a.ID}
	require.ErrorIs(t, s.SetChannelAssignment(ctx, &bad), store.ErrNotFound, "not a channel partner")
	require.ErrorIs(t, s.DeleteChannelAssignment(ctx, other.ID, got[0].ID), store.ErrNotFound, "another customer's assignment")

	require.NoError(t, s.SetChannelDefaults(ctx, c.ID, p2.ID, true, true))
	require.NoError(t, s.RemoveChannelPartner(ctx, c.ID, p1.ID), "no longer a default")
	got, err = s.ChannelAssignments(ctx, c.ID)
	require.NoError(t, err)
	require.Empty(t, got, "a removed partner's assignments go with it")
	cust, err := s.ChannelCustomers(ctx, p2.ID)
	require.NoError(t, err)
	require.Len(t, cust, 1)

	require.NoError(t, s.SetChannelConsent(ctx, c.ID, true))
	ok, err := s.ChannelConsent(ctx, c.ID)
	require.NoError(t, err)
	require.True(t, ok)
}

func testDeviceGroups(t *testing.T, s store.Store) {
	c, other := newOrg(t, s, "Acme"), newOrg(t, s, "Other")
	a1, a2 := asset(t, s, c.ID, c.RootOU, "a1"), asset(t, s, c.ID, c.RootOU, "a2")
	theirs := asset(t, s, other.ID, other.RootOU, "x")
	ctx := t.Context()
	g := store.DeviceGroup{OrgID: c.ID, Name: "Storage", AssetIDs: []string{a1.ID}}
	require.NoError(t, s.CreateDeviceGroup(ctx, &g))
	require.ErrorIs(t, s.SetDeviceGroupMembers(ctx, c.ID, g.ID, []string{a2.ID, theirs.ID}), store.ErrNotFound)
	gs, err := s.DeviceGroups(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, []string{a1.ID}, gs[0].AssetIDs, "a refused change changes nothing")
	require.NoError(t, s.SetDeviceGroupMembers(ctx, c.ID, g.ID, []string{a2.ID, a1.ID, a1.ID}))
	gs, err = s.DeviceGroups(ctx, c.ID)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{a1.ID, a2.ID}, gs[0].AssetIDs)
	require.ErrorIs(t, s.SetDeviceGroupMembers(ctx, other.ID, g.ID, nil), store.ErrNotFound)
	require.ErrorIs(t, s.DeleteDeviceGroup(ctx, other.ID, g.ID), store.ErrNotFound)
	require.NoError(t, s.DeleteDeviceGroup(ctx, c.ID, g.ID))
	gs, err = s.DeviceGroups(ctx, c.ID)
	require.NoError(t, err)
	require.Empty(t, gs)
}
