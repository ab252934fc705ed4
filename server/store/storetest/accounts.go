package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// accountTests cover store.Accounts: users, memberships, invitations and password resets.
var accountTests = []test{
	{"UsersAndMemberships", testUsersAndMemberships},
	{"MembershipOUMustBelongToOrg", testMembershipForeignOU},
	{"MembershipRemovalEndsAccess", testRemoveMembership},
	{"InvitationsAreSingleUse", testInvitationSingleUse},
	{"CustomerInvitationCreatesOrgAssetAndGrant", testCustomerInvitation},
	{"UserInvitationJoinsExistingUser", testUserInvitationExistingUser},
	{"PasswordResetIsSingleUse", testPasswordReset},
}

func testUsersAndMemberships(t *testing.T, s store.Store) {
	a, b := newOrg(t, s, "A"), newOrg(t, s, "B")
	u := store.User{Email: " Admin@Example.COM ", PasswordHash: "h"}
	require.NoError(t, s.CreateUser(t.Context(), &u))
	dup := store.User{Email: "admin@example.com", PasswordHash: "h"}
	require.ErrorIs(t, s.CreateUser(t.Context(), &dup), store.ErrConflict)

	got, err := s.UserByEmail(t.Context(), "ADMIN@example.com")
	require.NoError(t, err)
	require.Equal(t, u.ID, got.ID)

	require.NoError(t, s.AddMembership(t.Context(), store.Membership{UserID: u.ID, OrgID: a.ID, OUID: a.RootOU, Role: store.Admin}))
	require.NoError(t, s.AddMembership(t.Context(), store.Membership{UserID: u.ID, OrgID: b.ID, OUID: b.RootOU, Role: store.Viewer}))
	ms, err := s.Memberships(t.Context(), u.ID)
	require.NoError(t, err)
	require.Len(t, ms, 2)
	roles := map[string]store.Role{}
	for _, m := range ms {
		roles[m.OrgID] = m.Role
	}
	require.Equal(t, map[string]store.Role{a.ID: store.Admin, b.ID: store.Viewer}, roles)
}

func testMembershipForeignOU(t *testing.T, s store.Store) {
	a, b := newOrg(t, s, "A"), newOrg(t, s, "B")
	u := store.User{Email: "x@example.com", PasswordHash: "h"}
	require.NoError(t, s.CreateUser(t.Context(), &u))
	err := s.AddMembership(t.Context(), store.Membership{UserID: u.ID, OrgID: a.ID, OUID: b.RootOU, Role: store.Admin})
	require.ErrorIs(t, err, store.ErrNotFound, "an OU of another organization must not be accepted")
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
