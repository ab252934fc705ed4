package report

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/visibility"
)

// fixture is a SQLite store with two customers and a reseller:
//
//	Acme GmbH: root OU ─ Branch OU
//	  "Acme ESX" (server) and "acme backup" (backup) in root, "Acme NAS" (storage) in Branch
//	Globex AG: "Globex Switch" (network)
//	Reseller One: live grants on Acme ESX and Globex Switch, a revoked one on Acme NAS
type fixture struct {
	store  store.Store
	orgs   map[string]store.Organization // acme, globex, r1
	branch store.OU
	assets map[string]store.Asset // esx, backup, nas, switch
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "k.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	f := &fixture{store: st, orgs: map[string]store.Organization{}, assets: map[string]store.Asset{}}
	for key, o := range map[string]store.Organization{
		"acme": {Name: "Acme GmbH", Kind: store.Customer}, "globex": {Name: "Globex AG", Kind: store.Customer},
		"r1": {Name: "Reseller One", Kind: store.Reseller, PartnerID: "P-R1"},
	} {
		require.NoError(t, st.CreateOrganization(ctx, &o))
		f.orgs[key] = o
	}
	f.branch = store.OU{OrgID: f.orgs["acme"].ID, ParentID: f.orgs["acme"].RootOU, Name: "Branch"}
	require.NoError(t, st.CreateOU(ctx, &f.branch))
	for _, a := range []struct{ key, org, ou, name, category string }{
		{"esx", "acme", f.orgs["acme"].RootOU, "Acme ESX", "server"},
		{"backup", "acme", f.orgs["acme"].RootOU, "acme backup", "backup"},
		{"nas", "acme", f.branch.ID, "Acme NAS", "storage"},
		{"switch", "globex", f.orgs["globex"].RootOU, "Globex Switch", "network"},
	} {
		as := store.Asset{OrgID: f.orgs[a.org].ID, OUID: a.ou, Name: a.name, Category: a.category}
		require.NoError(t, st.CreateAsset(ctx, &as, nil))
		f.assets[a.key] = as
	}
	for _, key := range []string{"esx", "switch", "nas"} {
		as := f.assets[key]
		g := store.Grant{AssetID: as.ID, CustomerOrgID: as.OrgID, PartnerOrgID: f.orgs["r1"].ID, Kind: store.GrantCreated, GrantedBy: "t"}
		require.NoError(t, st.CreateGrant(ctx, &g))
		if key == "nas" {
			require.NoError(t, st.RevokeGrant(ctx, g.ID, "t", time.Now()))
		}
	}
	return f
}

// principal is a user of org's OU ou ("" for the root OU).
func (f *fixture) principal(org, ou string) visibility.Principal {
	o := f.orgs[org]
	if ou == "" {
		ou = o.RootOU
	}
	return visibility.Principal{UserID: "u-" + org, OrgID: o.ID, OrgKind: o.Kind, OUID: ou, Role: store.Admin}
}

// scope resolves p's visible set by the visibility rules (OU subtree,
// live grants) and then the report scope.
func (f *fixture) scope(t *testing.T, p visibility.Principal, flt Filter) (Scope, error) {
	t.Helper()
	ous, err := f.store.OUs(t.Context(), p.OrgID)
	require.NoError(t, err)
	var sh visibility.Shared
	if p.IsPartner() {
		sh.Grants, err = f.store.Grants(t.Context(), store.GrantFilter{PartnerOrgID: p.OrgID, LiveOnly: true})
		require.NoError(t, err)
	}
	return ResolveScope(t.Context(), f.store, p, visibility.Resolve(p, ous, sh), flt)
}
