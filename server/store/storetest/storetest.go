// Package storetest is the one test suite every store.Store implementation
// must pass. Call Run from the implementation's tests with a constructor
// that returns an empty store.
package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// Run runs the suite. newStore returns a fresh, empty store; the suite
// closes it.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		f    func(t *testing.T, s store.Store)
	}{
		{"OrganizationHasRootOU", testOrganizationRootOU},
		{"UsersAndMemberships", testUsersAndMemberships},
		{"MembershipOUMustBelongToOrg", testMembershipForeignOU},
		{"SessionsExpire", testSessionsExpire},
		{"EnrollmentTokenIsSingleUse", testEnrollmentSingleUse},
		{"EnrollmentTokenExpires", testEnrollmentExpires},
		{"EnsureAssetCreatesOnceAndChecksOU", testEnsureAsset},
		{"InventoryKeepsNewestAndHistory", testInventoryNewest},
		{"AssetIdentityAcrossAgentsAndNames", testAssetIdentity},
		{"AssetFactsFromInventory", testAssetFacts},
		{"BatchIDs", testBatchIDs},
		{"Prune", testPrune},
		{"PruneInChunks", testPruneInChunks},
	}
	tests = append(tests, sharingTests...)
	tests = append(tests, checkupTests...)
	tests = append(tests, leaseTests...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			tt.f(t, s)
		})
	}
}

func newOrg(t *testing.T, s store.Store, name string) store.Organization {
	t.Helper()
	o := store.Organization{Name: name, Kind: store.Customer}
	require.NoError(t, s.CreateOrganization(t.Context(), &o))
	return o
}

func testOrganizationRootOU(t *testing.T, s store.Store) {
	o := newOrg(t, s, "Acme GmbH")
	got, err := s.Organization(t.Context(), o.ID)
	require.NoError(t, err)
	require.Equal(t, o.Name, got.Name)
	require.Equal(t, store.Customer, got.Kind)
	ous, err := s.OUs(t.Context(), o.ID)
	require.NoError(t, err)
	require.Len(t, ous, 1)
	require.Equal(t, o.RootOU, ous[0].ID)
	require.Empty(t, ous[0].ParentID)

	_, err = s.Organization(t.Context(), "missing")
	require.ErrorIs(t, err, store.ErrNotFound)
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

func testSessionsExpire(t *testing.T, s store.Store) {
	o := newOrg(t, s, "A")
	u := store.User{Email: "x@example.com", PasswordHash: "h"}
	require.NoError(t, s.CreateUser(t.Context(), &u))
	now := time.Now()
	require.NoError(t, s.CreateSession(t.Context(), store.Session{TokenHash: "h1", UserID: u.ID, OrgID: o.ID,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	got, err := s.SessionByHash(t.Context(), "h1", now)
	require.NoError(t, err)
	require.Equal(t, u.ID, got.UserID)
	_, err = s.SessionByHash(t.Context(), "h1", now.Add(2*time.Hour))
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, s.DeleteSession(t.Context(), "h1"))
	_, err = s.SessionByHash(t.Context(), "h1", now)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testEnrollmentSingleUse(t *testing.T, s store.Store) {
	o := newOrg(t, s, "A")
	now := time.Now()
	require.NoError(t, s.CreateEnrollmentToken(t.Context(), store.EnrollmentToken{TokenHash: "tok", OrgID: o.ID,
		OUID: o.RootOU, CreatedBy: "test", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))

	const racers = 8
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Go(func() {
			a := store.Agent{Name: "a", Hostname: "h", Version: "v", TokenHash: "agent-" + string(rune('a'+i))}
			errs[i] = s.EnrollAgent(t.Context(), "tok", now, &a)
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
	require.Equal(t, 1, ok, "exactly one agent may enroll with a token")
}

func testEnrollmentExpires(t *testing.T, s store.Store) {
	o := newOrg(t, s, "A")
	now := time.Now()
	require.NoError(t, s.CreateEnrollmentToken(t.Context(), store.EnrollmentToken{TokenHash: "tok", OrgID: o.ID,
		OUID: o.RootOU, CreatedBy: "test", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	a := store.Agent{Name: "a", TokenHash: "cred"}
	require.ErrorIs(t, s.EnrollAgent(t.Context(), "tok", now.Add(61*time.Minute), &a), store.ErrNotFound)

	other := newOrg(t, s, "B")
	err := s.CreateEnrollmentToken(t.Context(), store.EnrollmentToken{TokenHash: "tok2", OrgID: o.ID,
		OUID: other.RootOU, CreatedBy: "test", CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	require.ErrorIs(t, err, store.ErrNotFound, "a token for an OU of another organization must be refused")
}

func enrolled(t *testing.T, s store.Store, o store.Organization, ou, cred string) store.Agent {
	t.Helper()
	now := time.Now()
	require.NoError(t, s.CreateEnrollmentToken(t.Context(), store.EnrollmentToken{TokenHash: "enroll-" + cred, OrgID: o.ID,
		OUID: ou, CreatedBy: "test", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	a := store.Agent{Name: cred, TokenHash: cred}
	require.NoError(t, s.EnrollAgent(t.Context(), "enroll-"+cred, now, &a))
	got, err := s.AgentByTokenHash(t.Context(), cred)
	require.NoError(t, err)
	require.Equal(t, a.ID, got.ID)
	require.Equal(t, ou, got.OUID)
	return got
}

func testEnsureAsset(t *testing.T, s store.Store) {
	o := newOrg(t, s, "A")
	branch := store.OU{OrgID: o.ID, ParentID: o.RootOU, Name: "Branch"}
	require.NoError(t, s.CreateOU(t.Context(), &branch))
	sibling := store.OU{OrgID: o.ID, ParentID: o.RootOU, Name: "Sibling"}
	require.NoError(t, s.CreateOU(t.Context(), &sibling))

	rootAgent := enrolled(t, s, o, o.RootOU, "root-agent")
	branchAgent := enrolled(t, s, o, branch.ID, "branch-agent")
	siblingAgent := enrolled(t, s, o, sibling.ID, "sibling-agent")

	a1, err := s.EnsureAsset(t.Context(), branchAgent, "switch-1", nil)
	require.NoError(t, err)
	require.Equal(t, branch.ID, a1.OUID)
	a2, err := s.EnsureAsset(t.Context(), branchAgent, "switch-1", nil)
	require.NoError(t, err)
	require.Equal(t, a1.ID, a2.ID, "the same key must map to the same asset")

	a3, err := s.EnsureAsset(t.Context(), rootAgent, "switch-1", nil)
	require.NoError(t, err, "an agent of a parent OU may write assets below it")
	require.Equal(t, a1.ID, a3.ID)

	_, err = s.EnsureAsset(t.Context(), siblingAgent, "switch-1", nil)
	require.ErrorIs(t, err, store.ErrOutsideOU)

	other := newOrg(t, s, "B")
	otherAgent := enrolled(t, s, other, other.RootOU, "other-agent")
	b1, err := s.EnsureAsset(t.Context(), otherAgent, "switch-1", nil)
	require.NoError(t, err)
	require.NotEqual(t, a1.ID, b1.ID, "asset keys are scoped to their organization")

	list, err := s.Assets(t.Context(), o.ID)
	require.NoError(t, err)
	require.Len(t, list, 1)
}

func testInventoryNewest(t *testing.T, s store.Store) {
	o := newOrg(t, s, "A")
	ag := enrolled(t, s, o, o.RootOU, "agent")
	a, err := s.EnsureAsset(t.Context(), ag, "nas", nil)
	require.NoError(t, err)
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	newer, err := s.PutInventory(t.Context(), a.ID, t0, []byte(`{"v":2}`), []byte(`[]`))
	require.NoError(t, err)
	require.True(t, newer)
	newer, err = s.PutInventory(t.Context(), a.ID, t0.Add(-time.Minute), []byte(`{"v":1}`), []byte(`[{"path":"v"}]`))
	require.NoError(t, err)
	require.False(t, newer)
	at, doc, err := s.Inventory(t.Context(), a.ID)
	require.NoError(t, err)
	require.Equal(t, `{"v":2}`, string(doc), "an older snapshot must not replace a newer one")
	require.True(t, at.Equal(t0), "got %v, want %v", at, t0)

	// History: only newer snapshots with changes are recorded, newest first, paged by time.
	_, err = s.PutInventory(t.Context(), a.ID, t0.Add(time.Minute), []byte(`{"v":2}`), nil)
	require.NoError(t, err)
	_, err = s.PutInventory(t.Context(), a.ID, t0.Add(2*time.Minute), []byte(`{"v":3}`), []byte(`[{"path":"v","op":"changed"}]`))
	require.NoError(t, err)
	hist, err := s.InventoryHistory(t.Context(), a.ID, time.Time{}, 10)
	require.NoError(t, err)
	require.Len(t, hist, 2)
	require.True(t, hist[0].CollectedAt.Equal(t0.Add(2*time.Minute)))
	require.JSONEq(t, `[{"path":"v","op":"changed"}]`, string(hist[0].Changes))
	require.True(t, hist[1].CollectedAt.Equal(t0))
	page, err := s.InventoryHistory(t.Context(), a.ID, hist[0].CollectedAt, 10)
	require.NoError(t, err)
	require.Len(t, page, 1)
	require.True(t, page[0].CollectedAt.Equal(t0))
}

func testAssetIdentity(t *testing.T, s store.Store) {
	o := newOrg(t, s, "A")
	branch := store.OU{OrgID: o.ID, ParentID: o.RootOU, Name: "Branch"}
	require.NoError(t, s.CreateOU(t.Context(), &branch))
	sibling := store.OU{OrgID: o.ID, ParentID: o.RootOU, Name: "Sibling"}
	require.NoError(t, s.CreateOU(t.Context(), &sibling))
	first := enrolled(t, s, o, branch.ID, "first")
	ids := []string{"uuid:4c4c4544-0037-4e10-8035-b4c04f4e4e32", "serial:dell:7N5NN2"}

	a, err := s.EnsureAsset(t.Context(), first, "srv1", ids)
	require.NoError(t, err)

	// The agent is re-installed and the target renamed: the device is found by its identity.
	reinstalled := enrolled(t, s, o, branch.ID, "reinstalled")
	b, err := s.EnsureAsset(t.Context(), reinstalled, "db-server", ids[1:])
	require.NoError(t, err)
	require.Equal(t, a.ID, b.ID, "a known serial must not create a second asset")
	c, err := s.EnsureAsset(t.Context(), reinstalled, "db-server", nil)
	require.NoError(t, err)
	require.Equal(t, a.ID, c.ID, "the new name now points at the asset for samples too")
	d, err := s.EnsureAsset(t.Context(), first, "srv1", nil)
	require.NoError(t, err)
	require.Equal(t, a.ID, d.ID, "the old name still does")

	// A target first seen without inventory, then identified, moves onto the known asset.
	e, err := s.EnsureAsset(t.Context(), first, "renamed-later", nil)
	require.NoError(t, err)
	require.NotEqual(t, a.ID, e.ID)
	f, err := s.EnsureAsset(t.Context(), first, "renamed-later", []string{ids[0]})
	require.NoError(t, err)
	require.Equal(t, a.ID, f.ID)

	// A device of another OU is not taken over by an agent outside it.
	other := enrolled(t, s, o, sibling.ID, "other")
	_, err = s.EnsureAsset(t.Context(), other, "srv1-copy", ids)
	require.ErrorIs(t, err, store.ErrOutsideOU)
	g, err := s.EnsureAsset(t.Context(), other, "srv1-copy", nil)
	require.NoError(t, err, "the refused identification changed nothing")
	require.NotEqual(t, a.ID, g.ID)

	// Identities never match across organizations.
	o2 := newOrg(t, s, "B")
	foreign := enrolled(t, s, o2, o2.RootOU, "foreign")
	h, err := s.EnsureAsset(t.Context(), foreign, "srv1", ids)
	require.NoError(t, err)
	require.NotEqual(t, a.ID, h.ID)

	// An asset entered by hand with a serial is the one the agent reports later.
	manual := store.Asset{OrgID: o.ID, OUID: branch.ID, Name: "NAS", Manufacturer: "Synology", Serial: "NAS1",
		Identities: []string{"serial:synology:NAS1"}}
	require.NoError(t, s.CreateAsset(t.Context(), &manual, nil))
	n, err := s.EnsureAsset(t.Context(), first, "nas", []string{"serial:synology:NAS1"})
	require.NoError(t, err)
	require.Equal(t, manual.ID, n.ID)
	dup := store.Asset{OrgID: o.ID, OUID: branch.ID, Name: "NAS again", Identities: []string{"serial:synology:NAS1"}}
	require.ErrorIs(t, s.CreateAsset(t.Context(), &dup, nil), store.ErrConflict)

	list, err := s.Assets(t.Context(), o.ID)
	require.NoError(t, err)
	require.Len(t, list, 4, "srv1, renamed-later (before it was identified), srv1-copy, NAS")
}

func testAssetFacts(t *testing.T, s store.Store) {
	o := newOrg(t, s, "A")
	ag := enrolled(t, s, o, o.RootOU, "agent")
	a, err := s.EnsureAsset(t.Context(), ag, "ontap", nil)
	require.NoError(t, err)
	require.NoError(t, s.SetAssetFacts(t.Context(), a.ID, store.AssetFacts{Category: "storage", Manufacturer: "NetApp", Serial: "SN1"}))
	require.NoError(t, s.SetAssetFacts(t.Context(), a.ID, store.AssetFacts{Product: "AFF A400"}))
	got, err := s.Asset(t.Context(), a.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"storage", "NetApp", "AFF A400", "SN1"},
		[]string{got.Category, got.Manufacturer, got.Product, got.Serial}, "an empty field keeps the stored value")
}

func testBatchIDs(t *testing.T, s store.Store) {
	seen, err := s.BatchSeen(t.Context(), "agent", "b1")
	require.NoError(t, err)
	require.False(t, seen)
	require.NoError(t, s.RecordBatch(t.Context(), "agent", "b1", time.Now()))
	require.NoError(t, s.RecordBatch(t.Context(), "agent", "b1", time.Now()))
	seen, err = s.BatchSeen(t.Context(), "agent", "b1")
	require.NoError(t, err)
	require.True(t, seen)
	seen, err = s.BatchSeen(t.Context(), "other-agent", "b1")
	require.NoError(t, err)
	require.False(t, seen, "batch ids are per agent")
}
