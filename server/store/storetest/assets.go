package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// assetTests cover store.Assets: assets, their identities, inventory and facts.
var assetTests = []test{
	{"EnsureAssetCreatesOnceAndChecksOU", testEnsureAsset},
	{"KnownAssetsAsEnsureAssetFindsThem", testKnownAssets},
	{"NewAssetsCappedPerAgentHour", testNewAssetCap},
	{"InventoryKeepsNewestAndHistory", testInventoryNewest},
	{"AssetIdentityAcrossAgentsAndNames", testAssetIdentity},
	{"AssetFactsFromInventory", testAssetFacts},
	{"CreateAssetWithGrant", testCreateAssetWithGrant},
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

	a1, err := s.EnsureAsset(t.Context(), branchAgent, "switch-1", nil, 0)
	require.NoError(t, err)
	require.Equal(t, branch.ID, a1.OUID)
	a2, err := s.EnsureAsset(t.Context(), branchAgent, "switch-1", nil, 0)
	require.NoError(t, err)
	require.Equal(t, a1.ID, a2.ID, "the same key must map to the same asset")

	reinstalled := enrolled(t, s, o, branch.ID, "branch-agent-2")
	a3, err := s.EnsureAsset(t.Context(), reinstalled, "switch-1", nil, 0)
	require.NoError(t, err)
	require.Equal(t, a1.ID, a3.ID, "a new agent of the same OU finds the asset")
	_, err = s.EnsureAsset(t.Context(), branchAgent, "switch-1", []string{"serial:x:1"}, 0)
	require.NoError(t, err)

	for _, tt := range []struct {
		name  string
		agent store.Agent
		key   string
		ids   []string
	}{
		{"an agent of the parent OU, through the key", rootAgent, "switch-1", nil},
		{"an agent of the parent OU, through the key, with identities", rootAgent, "switch-1", []string{"serial:x:1"}},
		{"an agent of the parent OU, through an identity", rootAgent, "root-switch", []string{"serial:x:1"}},
		{"an agent of a sibling OU", siblingAgent, "switch-1", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.EnsureAsset(t.Context(), tt.agent, tt.key, tt.ids, 0)
			require.ErrorIs(t, err, store.ErrOutsideOU, "agents of two OUs must not share an asset through a key")
		})
	}

	// The other way round: a sub-OU's agent does not write into the parent's
	// asset, nor point the parent's key at its own asset by an identity.
	r1, err := s.EnsureAsset(t.Context(), rootAgent, "core-router", nil, 0)
	require.NoError(t, err)
	require.Equal(t, o.RootOU, r1.OUID)
	_, err = s.EnsureAsset(t.Context(), branchAgent, "core-router", nil, 0)
	require.ErrorIs(t, err, store.ErrOutsideOU)
	_, err = s.EnsureAsset(t.Context(), branchAgent, "core-router", []string{"serial:x:1"}, 0)
	require.ErrorIs(t, err, store.ErrOutsideOU)
	r2, err := s.EnsureAsset(t.Context(), rootAgent, "core-router", nil, 0)
	require.NoError(t, err)
	require.Equal(t, r1.ID, r2.ID, "the root's key still names the root's asset")

	other := newOrg(t, s, "B")
	otherAgent := enrolled(t, s, other, other.RootOU, "other-agent")
	b1, err := s.EnsureAsset(t.Context(), otherAgent, "switch-1", nil, 0)
	require.NoError(t, err)
	require.NotEqual(t, a1.ID, b1.ID, "asset keys are scoped to their organization")

	list, err := s.Assets(t.Context(), o.ID)
	require.NoError(t, err)
	require.Len(t, list, 2, "switch-1 and core-router; the refusals created nothing")
}

// testKnownAssets: KnownAssets finds what EnsureAsset would find, for
// many keys at once, and leaves out what EnsureAsset would create or
// refuse.
func testKnownAssets(t *testing.T, s store.Store) {
	o := newOrg(t, s, "A")
	branch := store.OU{OrgID: o.ID, ParentID: o.RootOU, Name: "Branch"}
	require.NoError(t, s.CreateOU(t.Context(), &branch))
	rootAgent := enrolled(t, s, o, o.RootOU, "root-agent")
	branchAgent := enrolled(t, s, o, branch.ID, "branch-agent")
	other := newOrg(t, s, "B")
	otherAgent := enrolled(t, s, other, other.RootOU, "other-agent")

	var keys []string
	want := map[string]store.Asset{}
	for i := range 1200 { // more than one query's chunk
		k := fmt.Sprintf("switch-%d", i)
		a, err := s.EnsureAsset(t.Context(), rootAgent, k, nil, 0)
		require.NoError(t, err)
		keys, want[k] = append(keys, k), a
	}
	_, err := s.EnsureAsset(t.Context(), branchAgent, "branch-switch", nil, 0)
	require.NoError(t, err)
	_, err = s.EnsureAsset(t.Context(), otherAgent, "other-switch", nil, 0)
	require.NoError(t, err)
	// A key that an identity pointed at another key's asset.
	_, err = s.EnsureAsset(t.Context(), rootAgent, "switch-0", []string{"serial:x:0"}, 0)
	require.NoError(t, err)
	renamed, err := s.EnsureAsset(t.Context(), rootAgent, "switch-0-renamed", []string{"serial:x:0"}, 0)
	require.NoError(t, err)
	require.Equal(t, want["switch-0"].ID, renamed.ID)
	want["switch-0-renamed"] = renamed

	asked := append(slices.Clone(keys), "switch-0-renamed", "never-seen", "", "branch-switch", "other-switch")
	got, err := s.KnownAssets(t.Context(), rootAgent, asked)
	require.NoError(t, err)
	require.Len(t, got, len(want), "unknown keys, a sub-OU's asset and another organization's are left out")
	for k, a := range want {
		require.Equal(t, a.ID, got[k].ID, k)
		ensured, err := s.EnsureAsset(t.Context(), rootAgent, k, nil, 0)
		require.NoError(t, err)
		require.Equal(t, ensured, got[k], "KnownAssets returns the asset as EnsureAsset does")
	}

	got, err = s.KnownAssets(t.Context(), branchAgent, asked)
	require.NoError(t, err)
	require.Len(t, got, 1, "the branch's agent finds only the branch's asset")
	require.Contains(t, got, "branch-switch")
	got, err = s.KnownAssets(t.Context(), otherAgent, asked)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Contains(t, got, "other-switch")
	got, err = s.KnownAssets(t.Context(), rootAgent, nil)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testNewAssetCap(t *testing.T, s store.Store) {
	o := newOrg(t, s, "A")
	ag := enrolled(t, s, o, o.RootOU, "busy")
	for _, k := range []string{"k1", "k2"} {
		_, err := s.EnsureAsset(t.Context(), ag, k, nil, 2)
		require.NoError(t, err)
	}
	_, err := s.EnsureAsset(t.Context(), ag, "k3", nil, 2)
	require.ErrorIs(t, err, store.ErrNewAssetCap)
	require.Contains(t, err.Error(), `asset "k3" not created: agent "busy" created 2 assets in the last hour`)
	_, err = s.EnsureAsset(t.Context(), ag, "k4", []string{"serial:x:4"}, 2)
	require.ErrorIs(t, err, store.ErrNewAssetCap, "an identified new asset counts too")

	again, err := s.EnsureAsset(t.Context(), ag, "k1", []string{"serial:x:1"}, 2)
	require.NoError(t, err, "assets that exist are found beyond the cap")
	require.Equal(t, "k1", again.Name)
	other := enrolled(t, s, o, o.RootOU, "other")
	_, err = s.EnsureAsset(t.Context(), other, "k3", nil, 2)
	require.NoError(t, err, "the cap is per agent")
	_, err = s.EnsureAsset(t.Context(), ag, "k5", nil, 0)
	require.NoError(t, err, "0 is no cap")

	list, err := s.Assets(t.Context(), o.ID)
	require.NoError(t, err)
	require.Len(t, list, 4, "k1, k2, k3 (by the other agent), k5")

	// Concurrent creations (replicas share the store) do not overshoot.
	racer := enrolled(t, s, o, o.RootOU, "racer")
	const tries, limit = 12, 5
	errs := make(chan error, tries)
	for i := range tries {
		go func() {
			_, err := s.EnsureAsset(t.Context(), racer, fmt.Sprintf("r%d", i), nil, limit)
			errs <- err
		}()
	}
	created := 0
	for range tries {
		err := <-errs
		if err == nil {
			created++
			continue
		}
		require.ErrorIs(t, err, store.ErrNewAssetCap)
	}
	require.Equal(t, limit, created)
}

func testInventoryNewest(t *testing.T, s store.Store) {
	o := newOrg(t, s, "A")
	ag := enrolled(t, s, o, o.RootOU, "agent")
	a, err := s.EnsureAsset(t.Context(), ag, "nas", nil, 0)
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

	a, err := s.EnsureAsset(t.Context(), first, "srv1", ids, 0)
	require.NoError(t, err)

	// The agent is re-installed and the target renamed: the device is found by its identity.
	reinstalled := enrolled(t, s, o, branch.ID, "reinstalled")
	b, err := s.EnsureAsset(t.Context(), reinstalled, "db-server", ids[1:], 0)
	require.NoError(t, err)
	require.Equal(t, a.ID, b.ID, "a known serial must not create a second asset")
	c, err := s.EnsureAsset(t.Context(), reinstalled, "db-server", nil, 0)
	require.NoError(t, err)
	require.Equal(t, a.ID, c.ID, "the new name now points at the asset for samples too")
	d, err := s.EnsureAsset(t.Context(), first, "srv1", nil, 0)
	require.NoError(t, err)
	require.Equal(t, a.ID, d.ID, "the old name still does")

	// A target first seen without inventory, then identified, moves onto the known asset.
	e, err := s.EnsureAsset(t.Context(), first, "renamed-later", nil, 0)
	require.NoError(t, err)
	require.NotEqual(t, a.ID, e.ID)
	f, err := s.EnsureAsset(t.Context(), first, "renamed-later", []string{ids[0]}, 0)
	require.NoError(t, err)
	require.Equal(t, a.ID, f.ID)

	// A device of another OU is not taken over by an agent outside it.
	other := enrolled(t, s, o, sibling.ID, "other")
	_, err = s.EnsureAsset(t.Context(), other, "srv1-copy", ids, 0)
	require.ErrorIs(t, err, store.ErrOutsideOU)
	g, err := s.EnsureAsset(t.Context(), other, "srv1-copy", nil, 0)
	require.NoError(t, err, "the refused identification changed nothing")
	require.NotEqual(t, a.ID, g.ID)

	// Identities never match across organizations.
	o2 := newOrg(t, s, "B")
	foreign := enrolled(t, s, o2, o2.RootOU, "foreign")
	h, err := s.EnsureAsset(t.Context(), foreign, "srv1", ids, 0)
	require.NoError(t, err)
	require.NotEqual(t, a.ID, h.ID)

	// An asset entered by hand with a serial is the one the agent reports later.
	manual := store.Asset{OrgID: o.ID, OUID: branch.ID, Name: "NAS", Manufacturer: "Synology", Serial: "NAS1",
		Identities: []string{"serial:synology:NAS1"}}
	require.NoError(t, s.CreateAsset(t.Context(), &manual, nil))
	n, err := s.EnsureAsset(t.Context(), first, "nas", []string{"serial:synology:NAS1"}, 0)
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
	a, err := s.EnsureAsset(t.Context(), ag, "ontap", nil, 0)
	require.NoError(t, err)
	require.NoError(t, s.SetAssetFacts(t.Context(), a.ID, store.AssetFacts{Category: "storage", Manufacturer: "NetApp", Serial: "SN1"}))
	require.NoError(t, s.SetAssetFacts(t.Context(), a.ID, store.AssetFacts{Product: "AFF A400"}))
	got, err := s.Asset(t.Context(), a.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"storage", "NetApp", "AFF A400", "SN1"},
		[]string{got.Category, got.Manufacturer, got.Product, got.Serial}, "an empty field keeps the stored value")
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
