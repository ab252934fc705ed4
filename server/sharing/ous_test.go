package sharing_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/sharing"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// TestOUTree: an OU moves only within the admin's subtree and never below
// itself; the admin's own OU neither moves nor goes away; a non-empty OU
// stays.
func TestOUTree(t *testing.T) {
	w, ctx := newWorld(t), t.Context()
	root := store.OU{ID: w.cust.RootOU, OrgID: w.cust.ID, Name: w.cust.Name}
	a, err := w.s.CreateOU(ctx, w.admin, w.who, root, "A")
	require.NoError(t, err)
	b, err := w.s.CreateOU(ctx, w.admin, w.who, a, "B")
	require.NoError(t, err)
	c, err := w.s.CreateOU(ctx, w.admin, w.who, root, "C")
	require.NoError(t, err)
	ous, err := w.st.OUs(ctx, w.cust.ID)
	require.NoError(t, err)
	aAdmin := w.admin
	aAdmin.OUID = a.ID
	str := func(s string) *string { return &s }

	tests := []struct {
		name          string
		admin         bool // the root admin, else the admin of A
		ou            store.OU
		rename, under *string
		wantKind      problem.Kind
		wantMsg       string
	}{
		{"A below its own child", true, a, nil, str(b.ID), problem.Invalid,
			"parent_id: an OU cannot move below itself, and the root cannot move"},
		{"A below itself", true, a, nil, str(a.ID), problem.Invalid,
			"parent_id: an OU cannot move below itself, and the root cannot move"},
		{"the root", true, root, nil, str(a.ID), problem.Forbidden, "an admin cannot move the OU it administers from"},
		{"A by its own admin", false, a, nil, str(c.ID), problem.Forbidden, "an admin cannot move the OU it administers from"},
		{"B out of A's subtree", false, b, nil, str(c.ID), problem.Invalid, "parent_id: no such OU"},
		{"bad name", true, b, str(" "), nil, problem.Invalid, "name: 1 to 200 characters on one line"},
		{"rename and move B below C", true, b, str(" B2 "), str(c.ID), 0, ""},
		{"same parent is no move", true, c, nil, str(root.ID), 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := w.admin
			if !tt.admin {
				p = aAdmin
			}
			u, err := w.s.UpdateOU(ctx, p, w.who, tt.ou, ous, tt.rename, tt.under)
			if tt.wantKind != 0 {
				requireProblem(t, err, tt.wantKind, tt.wantMsg)
				return
			}
			require.NoError(t, err)
			if tt.under != nil {
				require.Equal(t, *tt.under, u.ParentID)
			}
		})
	}
	require.Equal(t, []string{"ou.create", "ou.create", "ou.create", "ou.rename", "ou.move"}, w.actions(t, w.cust.ID))

	requireProblem(t, w.s.DeleteOU(ctx, aAdmin, w.who, a), problem.Forbidden, "an admin cannot delete the OU it administers from")
	requireProblem(t, w.s.DeleteOU(ctx, w.admin, w.who, c), problem.Conflict,
		"the OU is not empty: move or delete its OUs, assets, agents, users and open invitations first")
	require.NoError(t, w.s.DeleteOU(ctx, w.admin, w.who, a))

	seen, err := w.s.OUs(ctx, aAdmin)
	require.NoError(t, err)
	require.Empty(t, seen, "A is gone, and with it all its admin saw")
	seen, err = w.s.OUs(ctx, w.admin)
	require.NoError(t, err)
	require.Len(t, seen, 3)
	require.Empty(t, seen[0].ParentID, "the top of what the caller sees has no parent")
}

// TestAdminOU: an admin reaches its own OU and those below it; an OU above
// it, another tenant's and an unknown one are not found, and a viewer
// may not change an OU it sees.
func TestAdminOU(t *testing.T) {
	w, ctx := newWorld(t), t.Context()
	root := store.OU{ID: w.cust.RootOU, OrgID: w.cust.ID, Name: w.cust.Name}
	a, err := w.s.CreateOU(ctx, w.admin, w.who, root, "A")
	require.NoError(t, err)
	b, err := w.s.CreateOU(ctx, w.admin, w.who, a, "B")
	require.NoError(t, err)
	aAdmin, aViewer := w.admin, w.admin
	aAdmin.OUID, aViewer.OUID, aViewer.Role = a.ID, a.ID, store.Viewer

	tests := []struct {
		name     string
		p        visibility.Principal
		id       string
		wantKind problem.Kind
		wantMsg  string
	}{
		{"root admin, a lower OU", w.admin, b.ID, 0, ""},
		{"A's admin, its own OU", aAdmin, a.ID, 0, ""},
		{"A's admin, below A", aAdmin, b.ID, 0, ""},
		{"A's admin, the root above", aAdmin, root.ID, problem.NotFound, "not found"},
		{"another tenant's OU", w.admin, w.other.RootOU, problem.NotFound, "not found"},
		{"unknown", w.admin, "no-such-ou", problem.NotFound, "not found"},
		{"A's viewer", aViewer, b.ID, problem.Forbidden, "only admins of this organization may do this"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, ous, err := w.s.AdminOU(ctx, tt.p, tt.id)
			if tt.wantKind != 0 {
				requireProblem(t, err, tt.wantKind, tt.wantMsg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.id, u.ID)
			require.Len(t, ous, 3, "every OU of the organization")
		})
	}
}

// TestAddOUAndEnterAsset: the request is checked before the OU it names,
// which the caller must administer; an asset goes to the caller's own OU
// by default.
func TestAddOUAndEnterAsset(t *testing.T) {
	w, ctx := newWorld(t), t.Context()
	str := func(s string) *string { return &s }
	viewer := w.admin
	viewer.Role = store.Viewer

	ouTests := []struct {
		name           string
		p              visibility.Principal
		parent, ouName *string
		wantKind       problem.Kind
		wantMsg        string
	}{
		{"no name", w.admin, str(w.cust.RootOU), nil, problem.Invalid, "parent_id and name are required"},
		{"bad name before a foreign parent", w.admin, str(w.other.RootOU), str("\n"), problem.Invalid, "name: 1 to 200 characters on one line"},
		{"foreign parent", w.admin, str(w.other.RootOU), str("A"), problem.NotFound, "not found"},
		{"viewer", viewer, str(w.cust.RootOU), str("A"), problem.Forbidden, "only admins of this organization may do this"},
		{"below the root", w.admin, str(w.cust.RootOU), str(" A "), 0, ""},
	}
	for _, tt := range ouTests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := w.s.AddOU(ctx, tt.p, w.who, tt.parent, tt.ouName)
			if tt.wantKind != 0 {
				requireProblem(t, err, tt.wantKind, tt.wantMsg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "A", u.Name)
			require.Equal(t, w.cust.RootOU, u.ParentID)
		})
	}

	good := sharing.AssetInput{Name: "Licence", Category: "licence"}
	assetTests := []struct {
		name     string
		p        visibility.Principal
		ou       string
		in       sharing.AssetInput
		wantKind problem.Kind
		wantMsg  string
	}{
		{"bad category before a foreign OU", w.admin, w.other.RootOU, sharing.AssetInput{Name: "X", Category: "car"}, problem.Invalid,
			`asset.category "car": one of server, storage, backup, network, power, printer, software, licence`},
		{"foreign OU", w.admin, w.other.RootOU, good, problem.NotFound, "not found"},
		{"viewer", viewer, "", good, problem.Forbidden, "only admins of this organization may do this"},
		{"the caller's own OU by default", w.admin, "", good, 0, ""},
	}
	for _, tt := range assetTests {
		t.Run(tt.name, func(t *testing.T) {
			as, err := w.s.EnterAsset(ctx, tt.p, w.who, tt.ou, tt.in)
			if tt.wantKind != 0 {
				requireProblem(t, err, tt.wantKind, tt.wantMsg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, w.cust.RootOU, as.OUID)
			require.Equal(t, w.cust.ID, as.OrgID)
		})
	}
	require.Equal(t, []string{"ou.create", "asset.create"}, w.actions(t, w.cust.ID))
}
