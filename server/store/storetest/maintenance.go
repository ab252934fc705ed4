package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

var maintenanceTests = []test{
	{"maintenance/windows", testMaintenanceWindows},
	{"maintenance/parents", testAssetParents},
	{"maintenance/suppressed findings", testSuppressedFindings},
}

func testMaintenanceWindows(t *testing.T, s store.Store) {
	ctx := t.Context()
	o, other := newOrg(t, s, "Acme"), newOrg(t, s, "Other")
	a := asset(t, s, o.ID, o.RootOU, "db1")
	start := time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC)
	once := store.MaintenanceWindow{OrgID: o.ID, AssetID: a.ID, Name: "disk swap", StartsAt: start, EndsAt: start.Add(2 * time.Hour),
		TimeZone: "UTC", CreatedBy: "u1", CreatedAt: start}
	require.NoError(t, s.CreateMaintenanceWindow(ctx, &once))
	weekly := store.MaintenanceWindow{OrgID: o.ID, OUID: o.RootOU, Recurrence: "0 22 * * sat", Duration: 6 * time.Hour,
		TimeZone: "Europe/Berlin", CreatedBy: "u1", CreatedAt: start.Add(time.Second)}
	require.NoError(t, s.CreateMaintenanceWindow(ctx, &weekly))

	got, err := s.MaintenanceWindows(ctx, o.ID)
	require.NoError(t, err)
	require.Equal(t, []store.MaintenanceWindow{once, weekly}, got)
	none, err := s.MaintenanceWindows(ctx, other.ID)
	require.NoError(t, err)
	require.Empty(t, none)

	weekly.Duration, weekly.Name, weekly.OUID, weekly.GroupID = 4*time.Hour, "patches", "", "g1"
	require.NoError(t, s.UpdateMaintenanceWindow(ctx, weekly))
	w, err := s.MaintenanceWindow(ctx, weekly.ID)
	require.NoError(t, err)
	require.Equal(t, weekly, w)

	// Another organization's id changes nothing.
	wrong := weekly
	wrong.OrgID = other.ID
	require.ErrorIs(t, s.UpdateMaintenanceWindow(ctx, wrong), store.ErrNotFound)
	require.ErrorIs(t, s.DeleteMaintenanceWindow(ctx, other.ID, weekly.ID), store.ErrNotFound)

	require.NoError(t, s.DeleteMaintenanceWindow(ctx, o.ID, weekly.ID))
	_, err = s.MaintenanceWindow(ctx, weekly.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testAssetParents(t *testing.T, s store.Store) {
	ctx := t.Context()
	o, other := newOrg(t, s, "Acme"), newOrg(t, s, "Other")
	sw, fw := asset(t, s, o.ID, o.RootOU, "switch"), asset(t, s, o.ID, o.RootOU, "firewall")
	a, b := asset(t, s, o.ID, o.RootOU, "db1"), asset(t, s, o.ID, o.RootOU, "db2")
	foreign := asset(t, s, other.ID, other.RootOU, "theirs")

	require.NoError(t, s.SetAssetParent(ctx, o.ID, a.ID, sw.ID))
	require.NoError(t, s.SetAssetParent(ctx, o.ID, b.ID, sw.ID))
	require.NoError(t, s.SetAssetParent(ctx, o.ID, sw.ID, fw.ID))
	got, err := s.AssetParents(ctx, o.ID)
	require.NoError(t, err)
	require.Equal(t, map[string]string{a.ID: sw.ID, b.ID: sw.ID, sw.ID: fw.ID}, got)

	tests := []struct {
		name           string
		org, id, paren string
		want           error
	}{
		{"itself", o.ID, a.ID, a.ID, store.ErrInvalid},
		{"a cycle through two", o.ID, fw.ID, sw.ID, store.ErrInvalid},
		{"a cycle through three", o.ID, fw.ID, a.ID, store.ErrInvalid},
		{"a parent of another organization", o.ID, a.ID, foreign.ID, store.ErrNotFound},
		{"an asset of another organization", o.ID, foreign.ID, sw.ID, store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, s.SetAssetParent(ctx, tt.org, tt.id, tt.paren), tt.want)
		})
	}

	// A new parent replaces the old; clearing removes it.
	require.NoError(t, s.SetAssetParent(ctx, o.ID, a.ID, fw.ID))
	require.NoError(t, s.SetAssetParent(ctx, o.ID, b.ID, ""))
	got, err = s.AssetParents(ctx, o.ID)
	require.NoError(t, err)
	require.Equal(t, map[string]string{a.ID: fw.ID, sw.ID: fw.ID}, got)
}

// testSuppressedFindings: a dependent's finding opened with its parent's
// in the same evaluation names the parent's finding; it keeps that while
// both last, and is handed over to an unsuppressed finding only once the
// parent's finding has been resolved for store.SuppressionHandover.
func testSuppressedFindings(t *testing.T, s store.Store) {
	ctx := t.Context()
	o := newOrg(t, s, "Acme")
	sw, a := asset(t, s, o.ID, o.RootOU, "switch"), asset(t, s, o.ID, o.RootOU, "db1")
	parent := store.FindingResult{RuleID: "unreachable", Kind: "unreachable", AssetID: sw.ID, Subject: "snmp", Severity: store.SeverityCritical, Text: "down"}
	child := store.FindingResult{RuleID: "unreachable", Kind: "unreachable", AssetID: a.ID, Subject: "snmp", Severity: store.SeverityCritical,
		Text: "down", ParentKey: parent.Key(), MaintenanceID: "w1"}
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

	// The parent's finding is not open yet (its grace period runs): the
	// child's is held back.
	ch, err := s.ReconcileFindings(ctx, o.ID, []store.FindingResult{child}, t0.Add(-time.Minute))
	require.NoError(t, err)
	require.Empty(t, ch.Opened)

	// The child comes first: the store opens the parent's first anyway.
	ch, err = s.ReconcileFindings(ctx, o.ID, []store.FindingResult{child, parent}, t0)
	require.NoError(t, err)
	require.Len(t, ch.Opened, 2)
	require.Equal(t, sw.ID, ch.Opened[0].AssetID)
	require.Equal(t, ch.Opened[0].ID, ch.Opened[1].SuppressedBy)
	parentID, childID := ch.Opened[0].ID, ch.Opened[1].ID
	f, err := s.Finding(ctx, childID)
	require.NoError(t, err)
	require.Equal(t, parentID, f.SuppressedBy)
	require.Equal(t, "w1", f.MaintenanceID)

	// The switch is back; the device is not yet: still suppressed.
	child.ParentKey = ""
	ch, err = s.ReconcileFindings(ctx, o.ID, []store.FindingResult{child}, t0.Add(time.Minute))
	require.NoError(t, err)
	require.Empty(t, ch.Opened)
	require.Equal(t, []string{parentID}, findingIDs(ch.Resolved))
	ch, err = s.ReconcileFindings(ctx, o.ID, []store.FindingResult{child}, t0.Add(time.Minute+store.SuppressionHandover-time.Second))
	require.NoError(t, err)
	require.Empty(t, ch.Opened)
	require.Empty(t, ch.Resolved)

	// Still down after the handover: down on its own, told anew.
	ch, err = s.ReconcileFindings(ctx, o.ID, []store.FindingResult{child}, t0.Add(time.Minute+store.SuppressionHandover))
	require.NoError(t, err)
	require.Equal(t, []string{childID}, findingIDs(ch.Resolved))
	require.Len(t, ch.Opened, 1)
	require.Empty(t, ch.Opened[0].SuppressedBy)
	require.NotEqual(t, childID, ch.Opened[0].ID)
}

func findingIDs(fs []store.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.ID
	}
	return out
}
