package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// assetEditTests cover store.AssetEdits: a user's edit, move and delete.
var assetEditTests = []test{
	{"EditAssetNameAndPinnedCategory", testEditAsset},
	{"MoveAssetKeepsHomeOUAndSeries", testMoveAsset},
	{"DeleteAssetRemovesWhatIsAboutIt", testDeleteAsset},
}

func ptr[T any](v T) *T { return &v }

func testEditAsset(t *testing.T, s store.Store) {
	ctx := t.Context()
	o, other := newOrg(t, s, "A"), newOrg(t, s, "B")
	ag := enrolled(t, s, o, o.RootOU, "agent")
	a, err := s.EnsureAsset(ctx, ag, "10.0.0.1", nil, 0)
	require.NoError(t, err)
	require.NoError(t, s.SetAssetFacts(ctx, a.ID, store.AssetFacts{Category: "server", Manufacturer: "HPE"}))

	got, err := s.EditAsset(ctx, o.ID, a.ID, store.AssetEdit{Name: ptr("db-1"), Category: ptr("storage"),
		Location: ptr("Rack 4"), Notes: ptr("warranty ends 2027\nspare PSU in stock")})
	require.NoError(t, err)
	require.Equal(t, "Rack 4", got.Location)
	require.Equal(t, "warranty ends 2027\nspare PSU in stock", got.Notes)
	require.Equal(t, "db-1", got.Name)
	require.Equal(t, "storage", got.Category)
	require.True(t, got.CategoryPinned)

	require.NoError(t, s.SetAssetFacts(ctx, a.ID, store.AssetFacts{Category: "server", Manufacturer: "HPE Inc"}))
	got, err = s.Asset(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, "storage", got.Category, "the inventory must not overwrite a pinned category")
	require.Equal(t, "HPE Inc", got.Manufacturer, "the inventory still sets the facts")
	require.Equal(t, "db-1", got.Name)
	require.Equal(t, "Rack 4", got.Location, "fields left out stay")

	got, err = s.EditAsset(ctx, o.ID, a.ID, store.AssetEdit{Category: ptr("")})
	require.NoError(t, err)
	require.False(t, got.CategoryPinned)
	require.Equal(t, "storage", got.Category, "unpinning keeps the value until the next inventory")
	require.NoError(t, s.SetAssetFacts(ctx, a.ID, store.AssetFacts{Category: "server"}))
	got, err = s.Asset(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, "server", got.Category)

	_, err = s.EditAsset(ctx, other.ID, a.ID, store.AssetEdit{Name: ptr("x")})
	require.ErrorIs(t, err, store.ErrNotFound, "another organization's asset")
	got, err = s.Asset(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, "db-1", got.Name)
}

func testMoveAsset(t *testing.T, s store.Store) {
	ctx := t.Context()
	o, other := newOrg(t, s, "A"), newOrg(t, s, "B")
	branch := store.OU{OrgID: o.ID, ParentID: o.RootOU, Name: "Branch"}
	require.NoError(t, s.CreateOU(ctx, &branch))
	ag := enrolled(t, s, o, o.RootOU, "root-agent")
	branchAgent := enrolled(t, s, o, branch.ID, "branch-agent")
	a, err := s.EnsureAsset(ctx, ag, "sw-1", []string{"serial:x:1"}, 0)
	require.NoError(t, err)
	require.Equal(t, o.RootOU, a.HomeOUID)
	_, err = s.ReconcileFindings(ctx, o.ID, []store.FindingResult{{RuleID: "r", Kind: "k", AssetID: a.ID, OUID: o.RootOU,
		Severity: store.SeverityWarning, Text: "t"}}, time.Now())
	require.NoError(t, err)

	_, err = s.MoveAsset(ctx, o.ID, a.ID, other.RootOU)
	require.ErrorIs(t, err, store.ErrNotFound, "an OU of another organization")
	_, err = s.MoveAsset(ctx, other.ID, a.ID, other.RootOU)
	require.ErrorIs(t, err, store.ErrNotFound, "another organization's asset")

	moved, err := s.MoveAsset(ctx, o.ID, a.ID, branch.ID)
	require.NoError(t, err)
	require.Equal(t, branch.ID, moved.OUID)
	require.Equal(t, o.RootOU, moved.HomeOUID, "the home OU stays")
	require.Equal(t, a.SeriesID, moved.SeriesID, "the series id stays")

	again, err := s.EnsureAsset(ctx, ag, "sw-1", []string{"serial:x:1"}, 0)
	require.NoError(t, err, "the agent that reports the moved asset keeps writing it")
	require.Equal(t, a.ID, again.ID)
	_, err = s.EnsureAsset(ctx, branchAgent, "sw-1b", []string{"serial:x:1"}, 0)
	require.ErrorIs(t, err, store.ErrOutsideOU, "an agent of the new OU does not gain the asset")

	fs, err := s.Findings(ctx, store.FindingFilter{OrgID: o.ID, AssetIDs: []string{a.ID}})
	require.NoError(t, err)
	require.Len(t, fs, 1)
	require.Equal(t, branch.ID, fs[0].OUID, "its findings move along")

	back, err := s.MoveAsset(ctx, o.ID, a.ID, o.RootOU)
	require.NoError(t, err)
	require.Equal(t, o.RootOU, back.OUID)
	require.Equal(t, o.RootOU, back.HomeOUID, "a second move keeps the home OU")
}

func testDeleteAsset(t *testing.T, s store.Store) {
	ctx := t.Context()
	o, other := newOrg(t, s, "A"), newOrg(t, s, "B")
	p := partner(t, s, "Reseller", "P-1")
	ag := enrolled(t, s, o, o.RootOU, "agent")
	a, err := s.EnsureAsset(ctx, ag, "sw-1", []string{"serial:x:1"}, 0)
	require.NoError(t, err)
	keep, err := s.EnsureAsset(ctx, ag, "sw-2", nil, 0)
	require.NoError(t, err)
	_, err = s.PutInventory(ctx, a.ID, time.Now(), []byte(`{"attributes":{}}`), []byte(`[]`))
	require.NoError(t, err)
	_, err = s.RotateSystemKey(ctx, a.ID)
	require.NoError(t, err)
	require.NoError(t, s.CreateGrant(ctx, &store.Grant{AssetID: a.ID, CustomerOrgID: o.ID, PartnerOrgID: p.ID,
		Kind: store.GrantSystemKey, GrantedBy: "u", GrantedAt: time.Now()}))
	require.NoError(t, s.AddChannelPartner(ctx, store.ChannelPartner{CustomerOrgID: o.ID, PartnerOrgID: p.ID, AddedBy: "u", AddedAt: time.Now()}))
	require.NoError(t, s.SetChannelAssignment(ctx, &store.ChannelAssignment{CustomerOrgID: o.ID, PartnerOrgID: p.ID,
		Role: store.RoleReseller, AssetID: a.ID, AssignedBy: "u", AssignedAt: time.Now()}))
	g := store.DeviceGroup{OrgID: o.ID, Name: "G", AssetIDs: []string{a.ID, keep.ID}}
	require.NoError(t, s.CreateDeviceGroup(ctx, &g))
	_, err = s.ReconcileFindings(ctx, o.ID, []store.FindingResult{{RuleID: "r", Kind: "k", AssetID: a.ID, OUID: o.RootOU,
		Severity: store.SeverityWarning, Text: "t"}}, time.Now())
	require.NoError(t, err)

	require.NoError(t, s.CreateMaintenanceWindow(ctx, &store.MaintenanceWindow{OrgID: o.ID, AssetID: a.ID, Name: "firmware",
		StartsAt: time.Now(), EndsAt: time.Now().Add(time.Hour), TimeZone: "UTC", CreatedBy: "u", CreatedAt: time.Now()}))
	ouWindow := store.MaintenanceWindow{OrgID: o.ID, OUID: o.RootOU, Name: "site", StartsAt: time.Now(),
		EndsAt: time.Now().Add(time.Hour), TimeZone: "UTC", CreatedBy: "u", CreatedAt: time.Now()}
	require.NoError(t, s.CreateMaintenanceWindow(ctx, &ouWindow))

	origin, err := s.AssetOrigin(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, ag.ID, origin.CreatedByAgent)
	require.Len(t, origin.Sources, 1)
	require.Equal(t, "sw-1", origin.Sources[0].SourceKey)

	require.ErrorIs(t, s.DeleteAsset(ctx, other.ID, a.ID), store.ErrNotFound, "another organization's asset")
	require.NoError(t, s.DeleteAsset(ctx, o.ID, a.ID))
	_, err = s.Asset(ctx, a.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, _, err = s.Inventory(ctx, a.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	fs, err := s.Findings(ctx, store.FindingFilter{OrgID: o.ID, AssetIDs: []string{a.ID}})
	require.NoError(t, err)
	require.Empty(t, fs)
	grants, err := s.Grants(ctx, store.GrantFilter{CustomerOrgID: o.ID})
	require.NoError(t, err)
	require.Empty(t, grants)
	as, err := s.ChannelAssignments(ctx, o.ID)
	require.NoError(t, err)
	require.Empty(t, as)
	groups, err := s.DeviceGroups(ctx, o.ID)
	require.NoError(t, err)
	require.Len(t, groups, 1)
	require.Equal(t, []string{keep.ID}, groups[0].AssetIDs)
	windows, err := s.MaintenanceWindows(ctx, o.ID)
	require.NoError(t, err)
	require.Len(t, windows, 1, "the asset's own window goes with it, the OU's stays")
	require.Equal(t, ouWindow.ID, windows[0].ID)
	require.ErrorIs(t, s.DeleteAsset(ctx, o.ID, a.ID), store.ErrNotFound, "deleted already")

	// The device reported again is a new asset with a new series id: the
	// old one's identities went with it.
	re, err := s.EnsureAsset(ctx, ag, "sw-1", []string{"serial:x:1"}, 0)
	require.NoError(t, err)
	require.NotEqual(t, a.ID, re.ID)
	require.NotEqual(t, a.SeriesID, re.SeriesID)
}
