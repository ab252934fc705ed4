package storetest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// sharingTests cover keys, the OU tree, grants, channel partners, device
// groups, invitations, password resets, API tokens, audit and rate limits.
var sharingTests = []struct {
	name string
	f    func(t *testing.T, s store.Store)
}{
	{"OUTreeRenameMoveDelete", testOUTree},
	{"KeysAreStableRotatableAndFound", testKeys},
	{"CreateAssetWithGrant", testCreateAssetWithGrant},
	{"GrantsAreIdempotentAndRevocable", testGrants},
	{"ChannelPartnersDefaultsAndAssignments", testChannel},
	{"DeviceGroupsStayInTheirOrganization", testDeviceGroups},
	{"InvitationsAreSingleUse", testInvitationSingleUse},
	{"CustomerInvitationCreatesOrgAssetAndGrant", testCustomerInvitation},
	{"UserInvitationJoinsExistingUser", testUserInvitationExistingUser},
	{"PasswordResetIsSingleUse", testPasswordReset},
	{"APITokens", testAPITokens},
	{"MembershipRemovalEndsAccess", testRemoveMembership},
	{"AuditTrail", testAudit},
	{"RateLimitWindows", testRateLimit},
}

func user(t *testing.T, s store.Store, email string, o store.Organization, role store.Role) store.User {
	t.Helper()
	u := store.User{Email: email, PasswordHash: "h"}
	require.NoError(t, s.CreateUser(t.Context(), &u))
	require.NoError(t, s.AddMembership(t.Context(), store.Membership{UserID: u.ID, OrgID: o.ID, OUID: o.RootOU, Role: role}))
	return u
}

func ou(t *testing.T, s store.Store, org, parent, name string) store.OU {
	t.Helper()
	u := store.OU{OrgID: org, ParentID: parent, Name: name}
	require.NoError(t, s.CreateOU(t.Context(), &u))
	return u
}

func asset(t *testing.T, s store.Store, org, ouID, name string) store.Asset {
	t.Helper()
	a := store.Asset{OrgID: org, OUID: ouID, Name: name, Category: "server"}
	require.NoError(t, s.CreateAsset(t.Context(), &a, nil))
	return a
}

func testOUTree(t *testing.T, s store.Store) {
	o, other := newOrg(t, s, "Acme"), newOrg(t, s, "Other")
	a := ou(t, s, o.ID, o.RootOU, "Branch A")
	b := ou(t, s, o.ID, a.ID, "Branch B")
	ctx := t.Context()

	require.NoError(t, s.RenameOU(ctx, o.ID, a.ID, "Munich"))
	require.ErrorIs(t, s.RenameOU(ctx, other.ID, a.ID, "x"), store.ErrNotFound, "another organization's OU")

	require.ErrorIs(t, s.MoveOU(ctx, o.ID, a.ID, b.ID), store.ErrInvalid, "below itself")
	require.ErrorIs(t, s.MoveOU(ctx, o.ID, a.ID, a.ID), store.ErrInvalid, "onto itself")
	require.ErrorIs(t, s.MoveOU(ctx, o.ID, o.RootOU, a.ID), store.ErrInvalid, "the root")
	require.ErrorIs(t, s.MoveOU(ctx, o.ID, b.ID, other.RootOU), store.ErrNotFound, "into another organization")
	require.NoError(t, s.MoveOU(ctx, o.ID, b.ID, o.RootOU))
	ous, err := s.OUs(ctx, o.ID)
	require.NoError(t, err)
	parents := map[string]string{}
	names := map[string]string{}
	for _, u := range ous {
		parents[u.ID], names[u.ID] = u.ParentID, u.Name
	}
	require.Equal(t, o.RootOU, parents[b.ID])
	require.Equal(t, "Munich", names[a.ID])

	asset(t, s, o.ID, a.ID, "srv1")
	require.ErrorIs(t, s.DeleteOU(ctx, o.ID, a.ID), store.ErrNotEmpty, "holds an asset")
	c := ou(t, s, o.ID, b.ID, "C")
	require.ErrorIs(t, s.DeleteOU(ctx, o.ID, b.ID), store.ErrNotEmpty, "holds an OU")
	_, err = s.OUKey(ctx, c.ID)
	require.NoError(t, err)
	require.NoError(t, s.DeleteOU(ctx, o.ID, c.ID), "an empty OU with a key goes")
	require.NoError(t, s.DeleteOU(ctx, o.ID, b.ID))
	require.ErrorIs(t, s.DeleteOU(ctx, o.ID, o.RootOU), store.ErrInvalid)
	require.ErrorIs(t, s.DeleteOU(ctx, other.ID, a.ID), store.ErrNotFound)
}

func testKeys(t *testing.T, s store.Store) {
	o := newOrg(t, s, "Acme")
	ctx := t.Context()
	k1, err := s.OUKey(ctx, o.RootOU)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(k1, "kpou_"))
	require.GreaterOrEqual(t, len(k1), 40, "at least 128 random bits")
	k2, err := s.OUKey(ctx, o.RootOU)
	require.NoError(t, err)
	require.Equal(t, k1, k2, "reading twice returns the same key")
	got, err := s.OUByKey(ctx, k1)
	require.NoError(t, err)
	require.Equal(t, o.RootOU, got.ID)
	require.Equal(t, o.ID, got.OrgID)

	k3, err := s.RotateOUKey(ctx, o.RootOU)
	require.NoError(t, err)
	require.NotEqual(t, k1, k3)
	_, err = s.OUByKey(ctx, k1)
	require.ErrorIs(t, err, store.ErrNotFound, "a rotated key stops working")
	_, err = s.OUByKey(ctx, k3[:len(k3)-1]+"x")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.OUKey(ctx, "no-such-ou")
	require.ErrorIs(t, err, store.ErrNotFound)

	a := asset(t, s, o.ID, o.RootOU, "srv1")
	sk, err := s.SystemKey(ctx, a.ID)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(sk, "kpsk_"))
	found, err := s.AssetBySystemKey(ctx, sk)
	require.NoError(t, err)
	require.Equal(t, a.ID, found.ID)
	sk2, err := s.RotateSystemKey(ctx, a.ID)
	require.NoError(t, err)
	_, err = s.AssetBySystemKey(ctx, sk)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.AssetBySystemKey(ctx, sk2)
	require.NoError(t, err)
	_, err = s.AssetBySystemKey(ctx, k3)
	require.ErrorIs(t, err, store.ErrNotFound, "an OU key is not a system key")
}

func partner(t *testing.T, s store.Store, name, pid string) store.Organization {
	t.Helper()
	o := store.Organization{Name: name, Kind: store.Reseller, PartnerID: pid}
	require.NoError(t, s.CreateOrganization(t.Context(), &o))
	return o
}

func testCreateAssetWithGrant(t *testing.T, s store.Store) {
	c, p := newOrg(t, s, "Acme"), partner(t, s, "Reseller", "P-1")
	a := store.Asset{OrgID: c.ID, OUID: c.RootOU, Name: "NAS", Category: "storage", Type: "NAS", Version: "7.2", CreatedByOrg: p.ID}
	g := store.Grant{PartnerOrgID: p.ID, Kind: store.GrantCreated, GrantedBy: "u1"}
	require.NoError(t, s.CreateAsset(t.Context(), &a, &g))
	got, err := s.Asset(t.Context(), a.ID)
	require.NoError(t, err)
	require.Equal(t, "NAS", got.Type)
	require.Equal(t, "7.2", got.Version)
	require.Equal(t, p.ID, got.CreatedByOrg)
	gs, err := s.Grants(t.Context(), store.GrantFilter{PartnerOrgID: p.ID, LiveOnly: true})
	require.NoError(t, err)
	require.Len(t, gs, 1)
	require.Equal(t, a.ID, gs[0].AssetID)
	require.Equal(t, c.ID, gs[0].CustomerOrgID)

	other := newOrg(t, s, "Other")
	bad := store.Asset{OrgID: c.ID, OUID: other.RootOU, Name: "x"}
	require.ErrorIs(t, s.CreateAsset(t.Context(), &bad, nil), store.ErrNotFound, "an OU of another organization")
	byIDs, err := s.AssetsByIDs(t.Context(), []string{a.ID, "missing"})
	require.NoError(t, err)
	require.Len(t, byIDs, 1)
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

func testInvitationSingleUse(t *testing.T, s store.Store) {
	o := newOrg(t, s, "Acme")
	now := time.Now()
	inv := store.Invitation{TokenHash: "inv1", Kind: store.InviteUser, Email: "New@Example.com", OrgID: o.ID, OUID: o.RootOU,
		Role: store.Viewer, InvitedBy: "admin", InvitedByOrg: o.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	require.NoError(t, s.CreateInvitation(t.Context(), &inv))
	got, err := s.Invitation(t.Context(), "inv1", now)
	require.NoError(t, err)
	require.Equal(t, "new@example.com", got.Email)
	_, err = s.Invitation(t.Context(), "inv1", now.Add(2*time.Hour))
	require.ErrorIs(t, err, store.ErrNotFound, "expired")
	_, err = s.AcceptInvitation(t.Context(), "inv1", store.Acceptance{Now: now.Add(2 * time.Hour), NewPasswordHash: "h"})
	require.ErrorIs(t, err, store.ErrNotFound, "expired invitations cannot be accepted")
	_, err = s.AcceptInvitation(t.Context(), "inv1", store.Acceptance{Now: now})
	require.ErrorIs(t, err, store.ErrInvalid, "a new account needs a password")

	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = s.AcceptInvitation(t.Context(), "inv1", store.Acceptance{Now: now, NewPasswordHash: "h"})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, store.ErrNotFound)
		}
	}
	require.Equal(t, 1, ok, "exactly one accept succeeds")
	u, err := s.UserByEmail(t.Context(), "new@example.com")
	require.NoError(t, err)
	ms, err := s.Memberships(t.Context(), u.ID)
	require.NoError(t, err)
	require.Equal(t, []store.Membership{{UserID: u.ID, OrgID: o.ID, OUID: o.RootOU, Role: store.Viewer}}, ms)

	rev := store.Invitation{TokenHash: "inv2", Kind: store.InviteUser, Email: "b@example.com", OrgID: o.ID, OUID: o.RootOU,
		Role: store.Viewer, InvitedBy: "admin", InvitedByOrg: o.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	require.NoError(t, s.CreateInvitation(t.Context(), &rev))
	require.ErrorIs(t, s.RevokeInvitation(t.Context(), "other-org", rev.ID, now), store.ErrNotFound)
	require.NoError(t, s.RevokeInvitation(t.Context(), o.ID, rev.ID, now))
	_, err = s.AcceptInvitation(t.Context(), "inv2", store.Acceptance{Now: now, NewPasswordHash: "h"})
	require.ErrorIs(t, err, store.ErrNotFound, "revoked")
}

func testCustomerInvitation(t *testing.T, s store.Store) {
	p := partner(t, s, "Reseller", "P-1")
	now := time.Now()
	inv := store.Invitation{TokenHash: "c1", Kind: store.InviteCustomer, Email: "it@customer.example", Role: store.Admin,
		Company: "Customer AG", Asset: &store.Asset{Name: "ESX01", Category: "server", Manufacturer: "HPE", Product: "ProLiant DL380", Version: "Gen10", Serial: "CZ123"},
		InvitedBy: "puser", InvitedByOrg: p.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	require.NoError(t, s.CreateInvitation(t.Context(), &inv))
	list, err := s.InvitationsByOrg(t.Context(), p.ID)
	require.NoError(t, err)
	require.Equal(t, "ESX01", list[0].Asset.Name)

	acc, err := s.AcceptInvitation(t.Context(), "c1", store.Acceptance{Now: now, NewPasswordHash: "h"})
	require.NoError(t, err)
	require.True(t, acc.CreatedUser)
	o, err := s.Organization(t.Context(), acc.OrgID)
	require.NoError(t, err)
	require.Equal(t, "Customer AG", o.Name)
	require.Equal(t, store.Customer, o.Kind)
	require.Equal(t, p.ID, o.InvitedByOrg)
	a, err := s.Asset(t.Context(), acc.AssetID)
	require.NoError(t, err)
	require.Equal(t, o.RootOU, a.OUID)
	require.Equal(t, "CZ123", a.Serial)
	gs, err := s.Grants(t.Context(), store.GrantFilter{PartnerOrgID: p.ID, LiveOnly: true})
	require.NoError(t, err)
	require.Len(t, gs, 1)
	require.Equal(t, store.GrantCreated, gs[0].Kind)
	require.Equal(t, a.ID, gs[0].AssetID)
	ms, err := s.Memberships(t.Context(), acc.UserID)
	require.NoError(t, err)
	require.Equal(t, store.Admin, ms[0].Role)

	d := store.Organization{Name: "Distri", Kind: store.Distributor, PartnerID: "D-1"}
	require.NoError(t, s.CreateOrganization(t.Context(), &d))
	rinv := store.Invitation{TokenHash: "r1", Kind: store.InviteReseller, Email: "boss@reseller.example", Role: store.Admin,
		Company: "New Reseller", InvitedBy: "duser", InvitedByOrg: d.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	require.NoError(t, s.CreateInvitation(t.Context(), &rinv))
	racc, err := s.AcceptInvitation(t.Context(), "r1", store.Acceptance{Now: now, NewPasswordHash: "h", PartnerID: "P-77"})
	require.NoError(t, err)
	r, err := s.OrganizationByPartnerID(t.Context(), "P-77")
	require.NoError(t, err)
	require.Equal(t, racc.OrgID, r.ID)
	require.Equal(t, store.Reseller, r.Kind)
}

func testUserInvitationExistingUser(t *testing.T, s store.Store) {
	msp, cust := partner(t, s, "MSP", "P-1"), newOrg(t, s, "Customer")
	eng := user(t, s, "eng@msp.example", msp, store.Admin)
	now := time.Now()
	inv := store.Invitation{TokenHash: "u1", Kind: store.InviteUser, Email: "ENG@msp.example", OrgID: cust.ID, OUID: cust.RootOU,
		Role: store.Admin, InvitedBy: "x", InvitedByOrg: cust.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	require.NoError(t, s.CreateInvitation(t.Context(), &inv))
	acc, err := s.AcceptInvitation(t.Context(), "u1", store.Acceptance{Now: now})
	require.NoError(t, err, "an existing user needs no new password")
	require.False(t, acc.CreatedUser)
	require.Equal(t, eng.ID, acc.UserID)
	ms, err := s.Memberships(t.Context(), eng.ID)
	require.NoError(t, err)
	require.Len(t, ms, 2, "one person, two organizations")

	now2 := now.Add(time.Second)
	dup := store.Invitation{TokenHash: "u2", Kind: store.InviteUser, Email: "eng@msp.example", OrgID: cust.ID, OUID: cust.RootOU,
		Role: store.Viewer, InvitedBy: "x", InvitedByOrg: cust.ID, CreatedAt: now2, ExpiresAt: now2.Add(time.Hour)}
	require.NoError(t, s.CreateInvitation(t.Context(), &dup))
	_, err = s.AcceptInvitation(t.Context(), "u2", store.Acceptance{Now: now2})
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = s.Invitation(t.Context(), "u2", now2)
	require.NoError(t, err, "a failed accept leaves the invitation open")

	sess := store.Session{TokenHash: "s1", UserID: eng.ID, OrgID: msp.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	require.NoError(t, s.CreateSession(t.Context(), sess))
	require.NoError(t, s.SetSessionOrg(t.Context(), "s1", cust.ID))
	got, err := s.SessionByHash(t.Context(), "s1", now)
	require.NoError(t, err)
	require.Equal(t, cust.ID, got.OrgID)
	stranger := newOrg(t, s, "Stranger")
	require.ErrorIs(t, s.SetSessionOrg(t.Context(), "s1", stranger.ID), store.ErrNotFound, "only organizations the user belongs to")
}

func testPasswordReset(t *testing.T, s store.Store) {
	o := newOrg(t, s, "Acme")
	u := user(t, s, "a@example.com", o, store.Admin)
	now := time.Now()
	require.NoError(t, s.CreatePasswordReset(t.Context(), "r1", u.ID, now, now.Add(time.Hour)))
	_, err := s.UsePasswordReset(t.Context(), "r1", now.Add(2*time.Hour))
	require.ErrorIs(t, err, store.ErrNotFound, "expired")
	id, err := s.UsePasswordReset(t.Context(), "r1", now)
	require.NoError(t, err)
	require.Equal(t, u.ID, id)
	_, err = s.UsePasswordReset(t.Context(), "r1", now)
	require.ErrorIs(t, err, store.ErrNotFound, "single use")
	require.NoError(t, s.SetPassword(t.Context(), u.ID, "new-hash"))
	got, err := s.User(t.Context(), u.ID)
	require.NoError(t, err)
	require.Equal(t, "new-hash", got.PasswordHash)
}

func testAPITokens(t *testing.T, s store.Store) {
	o, other := newOrg(t, s, "Acme"), newOrg(t, s, "Other")
	u := user(t, s, "a@example.com", o, store.Admin)
	v := user(t, s, "v@example.com", o, store.Viewer)
	now := time.Now()
	tok := store.APIToken{TokenHash: "t1", UserID: u.ID, OrgID: o.ID, Name: "grafana", Hint: "kpt_abcd", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	require.NoError(t, s.CreateAPIToken(t.Context(), &tok))
	bad := store.APIToken{TokenHash: "t2", UserID: u.ID, OrgID: other.ID, Name: "x", CreatedAt: now}
	require.NoError(t, s.CreateAPIToken(t.Context(), &bad))
	_, err := s.APITokenByHash(t.Context(), "t2", now)
	require.ErrorIs(t, err, store.ErrNotFound, "no token for an organization the user is not in")

	got, err := s.APITokenByHash(t.Context(), "t1", now.Add(2*time.Minute))
	require.NoError(t, err)
	require.Equal(t, tok.ID, got.ID)
	_, err = s.APITokenByHash(t.Context(), "t1", now.Add(2*time.Hour))
	require.ErrorIs(t, err, store.ErrNotFound, "expired")
	list, err := s.APITokens(t.Context(), u.ID, o.ID)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.False(t, list[0].LastUsedAt.IsZero(), "use is recorded")
	require.ErrorIs(t, s.DeleteAPIToken(t.Context(), v.ID, o.ID, tok.ID), store.ErrNotFound, "only its owner deletes it")
	require.NoError(t, s.DeleteAPIToken(t.Context(), u.ID, o.ID, tok.ID))
	_, err = s.APITokenByHash(t.Context(), "t1", now)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testRemoveMembership(t *testing.T, s store.Store) {
	o := newOrg(t, s, "Acme")
	u := user(t, s, "a@example.com", o, store.Admin)
	now := time.Now()
	require.NoError(t, s.CreateSession(t.Context(), store.Session{TokenHash: "s", UserID: u.ID, OrgID: o.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	require.NoError(t, s.CreateAPIToken(t.Context(), &store.APIToken{TokenHash: "t", UserID: u.ID, OrgID: o.ID, Name: "x", CreatedAt: now}))
	sub := ou(t, s, o.ID, o.RootOU, "Sub")
	require.NoError(t, s.SetMembership(t.Context(), store.Membership{UserID: u.ID, OrgID: o.ID, OUID: sub.ID, Role: store.Viewer}))
	members, err := s.Members(t.Context(), o.ID)
	require.NoError(t, err)
	require.Equal(t, store.Viewer, members[0].Role)
	require.Equal(t, sub.ID, members[0].OUID)
	require.NoError(t, s.RemoveMembership(t.Context(), u.ID, o.ID))
	_, err = s.SessionByHash(t.Context(), "s", now)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.APITokenByHash(t.Context(), "t", now)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, s.RemoveMembership(t.Context(), u.ID, o.ID), store.ErrNotFound)
}

func testAudit(t *testing.T, s store.Store) {
	c, p, other := newOrg(t, s, "Acme"), partner(t, s, "Reseller", "P-1"), newOrg(t, s, "Other")
	ctx := t.Context()
	for i, action := range []string{"ou_key.read", "ou_key.send", "ou_key.use", "grant.revoke"} {
		e := store.AuditEvent{OrgID: c.ID, ActorUserID: "u", Action: action, TargetType: "ou", TargetID: c.RootOU, At: time.Now()}
		if i == 2 {
			e.ActorOrgID = p.ID
		}
		require.NoError(t, s.AppendAudit(ctx, e))
	}
	require.NoError(t, s.AppendAudit(ctx, store.AuditEvent{OrgID: other.ID, Action: "ou_key.read"}))
	evs, err := s.AuditEvents(ctx, store.AuditFilter{OrgID: c.ID})
	require.NoError(t, err)
	require.Len(t, evs, 4)
	require.Equal(t, "grant.revoke", evs[0].Action, "newest first")
	page, err := s.AuditEvents(ctx, store.AuditFilter{OrgID: c.ID, BeforeID: evs[1].ID, Limit: 10})
	require.NoError(t, err)
	require.Len(t, page, 2)
	require.Equal(t, "ou_key.send", page[0].Action)
	pe, err := s.AuditEvents(ctx, store.AuditFilter{OrgID: p.ID})
	require.NoError(t, err)
	require.Len(t, pe, 1, "the partner sees the event it acted in, nothing else")
	require.Equal(t, "ou_key.use", pe[0].Action)
	filtered, err := s.AuditEvents(ctx, store.AuditFilter{OrgID: c.ID, Action: "ou_key.send"})
	require.NoError(t, err)
	require.Len(t, filtered, 1)
}

func testRateLimit(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)
	var n int
	var err error
	for range 3 {
		n, _, err = s.Hit(ctx, "key:org1", time.Minute, now)
		require.NoError(t, err)
	}
	require.Equal(t, 3, n)
	require.NoError(t, s.Unhit(ctx, "key:org1"))
	n, reset, err := s.Hit(ctx, "key:org1", time.Minute, now.Add(30*time.Second))
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.True(t, reset.Equal(now.Add(time.Minute)), "the window ends a minute after its first attempt, not %s", reset)
	n, _, err = s.Hit(ctx, "key:org2", time.Minute, now)
	require.NoError(t, err)
	require.Equal(t, 1, n, "buckets are separate")
	n, _, err = s.Hit(ctx, "key:org1", time.Minute, now.Add(61*time.Second))
	require.NoError(t, err)
	require.Equal(t, 1, n, "a new window starts over")

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { _, _, _ = s.Hit(ctx, "race", time.Hour, now) })
	}
	wg.Wait()
	n, _, err = s.Hit(ctx, "race", time.Hour, now)
	require.NoError(t, err)
	require.Equal(t, 21, n, "concurrent attempts are all counted")
}
