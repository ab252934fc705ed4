package maintenance_test

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/maintenance"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/visibility"
)

var now = time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)

// world is, on a real SQLite store: Acme (root OU ─ branch OU) with
// a_root in root, a_branch in branch, group "core" holding a_branch, and
// S1, a reseller Acme lists as default service partner (consent given);
// Globex with g1. Callers: admin, viewer (Acme root), branch_admin, s1
// (partner admin), globex (Globex admin), anonymous (no membership).
type world struct {
	st      *sqlstore.DB
	s       *maintenance.Service
	acme    store.Organization
	branch  store.OU
	group   store.DeviceGroup
	assets  map[string]store.Asset
	callers map[string]visibility.Principal
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "kpilot.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	w := &world{st: st, assets: map[string]store.Asset{}, callers: map[string]visibility.Principal{"anonymous": {}}}
	org := func(name string, kind store.OrgKind) store.Organization {
		o := store.Organization{Name: name, Kind: kind, ChannelConsent: kind == store.Customer}
		if kind != store.Customer {
			o.PartnerID = "P-" + name
		}
		require.NoError(t, st.CreateOrganization(ctx, &o))
		return o
	}
	w.acme = org("Acme", store.Customer)
	globex, s1 := org("Globex", store.Customer), org("S1", store.Reseller)
	w.branch = store.OU{OrgID: w.acme.ID, ParentID: w.acme.RootOU, Name: "Branch"}
	require.NoError(t, st.CreateOU(ctx, &w.branch))
	caller := func(key string, o store.Organization, ou string, role store.Role) {
		w.callers[key] = visibility.Principal{UserID: "u-" + key, OrgID: o.ID, OrgKind: o.Kind, OUID: ou, Role: role}
	}
	caller("admin", w.acme, w.acme.RootOU, store.Admin)
	caller("viewer", w.acme, w.acme.RootOU, store.Viewer)
	caller("branch_admin", w.acme, w.branch.ID, store.Admin)
	caller("s1", s1, s1.RootOU, store.Admin)
	caller("globex", globex, globex.RootOU, store.Admin)
	asset := func(key string, o store.Organization, ou string) {
		a := store.Asset{OrgID: o.ID, OUID: ou, Name: key, Category: "server"}
		require.NoError(t, st.CreateAsset(ctx, &a, nil))
		w.assets[key] = a
	}
	asset("a_root", w.acme, w.acme.RootOU)
	asset("a_branch", w.acme, w.branch.ID)
	asset("switch", w.acme, w.branch.ID)
	asset("g1", globex, globex.RootOU)
	w.group = store.DeviceGroup{OrgID: w.acme.ID, Name: "core", AssetIDs: []string{w.assets["a_branch"].ID}}
	require.NoError(t, st.CreateDeviceGroup(ctx, &w.group))
	require.NoError(t, st.AddChannelPartner(ctx, store.ChannelPartner{CustomerOrgID: w.acme.ID, PartnerOrgID: s1.ID, DefaultService: true, AddedBy: "t"}))
	w.s = maintenance.New(st, audit.New(st, nil, func() time.Time { return now }), visibility.NewLoader(st), func() time.Time { return now })
	return w
}

func (w *world) who(caller string) audit.Actor {
	p := w.callers[caller]
	return audit.Actor{UserID: p.UserID, OrgID: p.OrgID, OUID: p.OUID, RemoteAddr: "192.0.2.1"}
}

func (w *world) window(scope, id string) store.MaintenanceWindow {
	win := store.MaintenanceWindow{Recurrence: "0 22 * * sat", Duration: 4 * time.Hour, TimeZone: "Europe/Berlin"}
	switch scope {
	case "asset":
		win.AssetID = w.assets[id].ID
	case "group":
		win.GroupID = w.group.ID
	case "ou":
		win.OUID = id
	}
	return win
}

func TestCreateWhoMay(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name, caller, scope, target string
		want                        problem.Kind // 0: created
	}{
		{"admin, root asset", "admin", "asset", "a_root", 0},
		{"admin, branch OU", "admin", "ou", w.branch.ID, 0},
		{"admin, device group", "admin", "group", "", 0},
		{"branch admin, own asset", "branch_admin", "asset", "a_branch", 0},
		{"branch admin, own OU", "branch_admin", "ou", w.branch.ID, 0},
		{"branch admin, asset above", "branch_admin", "asset", "a_root", problem.NotFound},
		{"branch admin, OU above", "branch_admin", "ou", w.acme.RootOU, problem.NotFound},
		{"branch admin, device group", "branch_admin", "group", "", problem.Forbidden},
		{"viewer", "viewer", "asset", "a_root", problem.Forbidden},
		{"viewer, OU", "viewer", "ou", w.acme.RootOU, problem.Forbidden},
		{"service partner", "s1", "asset", "a_root", problem.Forbidden},
		{"service partner, customer's OU", "s1", "ou", w.acme.RootOU, problem.NotFound},
		{"other tenant", "globex", "asset", "a_root", problem.NotFound},
		{"other tenant, OU", "globex", "ou", w.acme.RootOU, problem.NotFound},
		{"anonymous", "anonymous", "asset", "a_root", problem.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := w.s.Create(t.Context(), w.callers[tt.caller], w.who(tt.caller), w.window(tt.scope, tt.target))
			if tt.want == 0 {
				require.NoError(t, err)
				require.NotEmpty(t, got.ID)
				return
			}
			require.Equal(t, tt.want, problem.KindOf(err), "got %v", err)
		})
	}
	// Only what was allowed is stored.
	ws, err := w.st.MaintenanceWindows(t.Context(), w.acme.ID)
	require.NoError(t, err)
	require.Len(t, ws, 5)
}

func TestChangeAndListWhoMay(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	root, err := w.s.Create(ctx, w.callers["admin"], w.who("admin"), w.window("asset", "a_root"))
	require.NoError(t, err)
	branch, err := w.s.Create(ctx, w.callers["admin"], w.who("admin"), w.window("ou", w.branch.ID))
	require.NoError(t, err)
	group, err := w.s.Create(ctx, w.callers["admin"], w.who("admin"), w.window("group", ""))
	require.NoError(t, err)

	for _, caller := range []string{"branch_admin", "viewer", "s1", "globex", "anonymous"} {
		t.Run(caller+" may not delete the root asset's window", func(t *testing.T) {
			require.Error(t, w.s.Delete(ctx, w.callers[caller], w.who(caller), root.ID))
			changed := root
			changed.Duration = time.Hour
			_, err := w.s.Update(ctx, w.callers[caller], w.who(caller), changed)
			require.Error(t, err)
		})
	}
	// A branch admin may not move its own window to an asset above.
	mine, err := w.s.Create(ctx, w.callers["branch_admin"], w.who("branch_admin"), w.window("asset", "a_branch"))
	require.NoError(t, err)
	mine.AssetID = w.assets["a_root"].ID
	_, err = w.s.Update(ctx, w.callers["branch_admin"], w.who("branch_admin"), mine)
	require.Equal(t, problem.NotFound, problem.KindOf(err))

	ids := func(ws []store.MaintenanceWindow) []string {
		var out []string
		for _, w := range ws {
			out = append(out, w.ID)
		}
		return out
	}
	tests := []struct {
		name, caller string
		f            maintenance.Filter
		want         []string
		err          problem.Kind
	}{
		{"admin, a_branch: its OU's, group's and own", "admin", maintenance.Filter{AssetID: w.assets["a_branch"].ID},
			[]string{branch.ID, group.ID, mine.ID}, 0},
		{"admin, whole organization", "admin", maintenance.Filter{}, []string{root.ID, branch.ID, group.ID, mine.ID}, 0},
		{"branch admin, own OU", "branch_admin", maintenance.Filter{}, []string{branch.ID, group.ID, mine.ID}, 0},
		{"branch admin, root OU", "branch_admin", maintenance.Filter{OUID: w.acme.RootOU}, nil, problem.NotFound},
		{"viewer reads", "viewer", maintenance.Filter{AssetID: w.assets["a_root"].ID}, []string{root.ID}, 0},
		{"service partner reads the asset's", "s1", maintenance.Filter{AssetID: w.assets["a_root"].ID}, []string{root.ID}, 0},
		{"other tenant", "globex", maintenance.Filter{AssetID: w.assets["a_root"].ID}, nil, problem.NotFound},
		{"anonymous", "anonymous", maintenance.Filter{AssetID: w.assets["a_root"].ID}, nil, problem.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := w.s.List(ctx, w.callers[tt.caller], tt.f)
			if tt.err != 0 {
				require.Equal(t, tt.err, problem.KindOf(err), "got %v", err)
				return
			}
			require.NoError(t, err)
			require.ElementsMatch(t, tt.want, ids(got))
		})
	}
	require.NoError(t, w.s.Delete(ctx, w.callers["admin"], w.who("admin"), root.ID))
}

func TestMuted(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	_, err := w.s.Create(ctx, w.callers["admin"], w.who("admin"), w.window("ou", w.branch.ID))
	require.NoError(t, err)
	sat := time.Date(2026, 12, 12, 22, 30, 0, 0, time.UTC) // 23:30 in Berlin
	tests := []struct {
		name, asset string
		at          time.Time
		want        bool
	}{
		{"in the branch, inside", "a_branch", sat, true},
		{"in the branch, after", "a_branch", sat.Add(4 * time.Hour), false},
		{"in the root OU", "a_root", sat, false},
		{"another organization's asset", "g1", sat, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := w.s.Muted(ctx, w.acme.ID, w.assets[tt.asset].ID, tt.at)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestSetParent(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	admin := w.callers["admin"]
	id := func(k string) string { return w.assets[k].ID }
	require.NoError(t, w.s.SetParent(ctx, admin, w.who("admin"), id("a_branch"), id("switch")))
	tests := []struct {
		name, caller, asset, parent string
		want                        problem.Kind
		msg                         string
	}{
		{"a cycle", "admin", "switch", "a_branch", problem.Invalid, "would be a cycle"},
		{"itself", "admin", "switch", "switch", problem.Invalid, "cannot depend on itself"},
		{"another tenant's parent", "admin", "a_root", "g1", problem.Invalid, "that you can see"},
		{"branch admin, asset above", "branch_admin", "a_root", "switch", problem.NotFound, ""},
		{"branch admin, parent above", "branch_admin", "switch", "a_root", problem.Invalid, "that you can see"},
		{"viewer", "viewer", "a_root", "switch", problem.Forbidden, ""},
		{"service partner", "s1", "a_root", "switch", problem.Forbidden, ""},
		{"other tenant", "globex", "a_root", "switch", problem.NotFound, ""},
		{"anonymous", "anonymous", "a_root", "switch", problem.NotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := w.s.SetParent(ctx, w.callers[tt.caller], w.who(tt.caller), id(tt.asset), id(tt.parent))
			require.Equal(t, tt.want, problem.KindOf(err), "got %v", err)
			require.ErrorContains(t, err, tt.msg)
		})
	}
	got, err := w.s.Parent(ctx, w.callers["viewer"], id("a_branch"))
	require.NoError(t, err)
	require.Equal(t, id("switch"), got)
	require.NoError(t, w.s.SetParent(ctx, w.callers["branch_admin"], w.who("branch_admin"), id("a_branch"), ""))
	got, err = w.s.Parent(ctx, admin, id("a_branch"))
	require.NoError(t, err)
	require.Empty(t, got)
}

// TestListWithoutWindows: an organization without windows lists none;
// an OU outside the caller's is not found all the same.
func TestListWithoutWindows(t *testing.T) {
	w := newWorld(t)
	got, err := w.s.List(t.Context(), w.callers["admin"], maintenance.Filter{})
	require.NoError(t, err)
	require.Empty(t, got)
	_, err = w.s.List(t.Context(), w.callers["branch_admin"], maintenance.Filter{OUID: w.acme.RootOU})
	require.Equal(t, problem.NotFound, problem.KindOf(err))
}
