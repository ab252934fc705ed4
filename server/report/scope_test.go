package report

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/visibility"
)

func TestFilterFrom(t *testing.T) {
	q, err := url.ParseQuery("asset_id=a&ou_id=o&customer_id=c&category=storage&format=pdf")
	require.NoError(t, err)
	require.Equal(t, Filter{AssetID: "a", OUID: "o", CustomerID: "c", Category: "storage"}, FilterFrom(q))
}

func TestResolveScope(t *testing.T) {
	f := newFixture(t)
	acme, globex := f.orgs["acme"], f.orgs["globex"]
	for _, tt := range []struct {
		name    string
		p       visibility.Principal
		filter  Filter
		want    []string // asset keys, in order
		label   string
		wantErr error
	}{
		{name: "customer admin sees the whole tree, sorted by name ignoring case", p: f.principal("acme", ""),
			want: []string{"backup", "esx", "nas"}, label: "All assets you may see"},
		{name: "an OU and below", p: f.principal("acme", ""), filter: Filter{OUID: f.branch.ID},
			want: []string{"nas"}, label: "Organization unit Branch"},
		{name: "one asset", p: f.principal("acme", ""), filter: Filter{AssetID: f.assets["esx"].ID},
			want: []string{"esx"}, label: "Asset Acme ESX"},
		{name: "a category", p: f.principal("acme", ""), filter: Filter{Category: "storage"},
			want: []string{"nas"}, label: "All assets you may see, category storage"},
		{name: "a branch user sees its OU only", p: f.principal("acme", f.branch.ID),
			want: []string{"nas"}, label: "All assets you may see"},
		{name: "an OU above the user's is not found", p: f.principal("acme", f.branch.ID), filter: Filter{OUID: acme.RootOU},
			wantErr: ErrNotFound},
		{name: "another tenant's asset is not found", p: f.principal("acme", ""), filter: Filter{AssetID: f.assets["switch"].ID},
			wantErr: ErrNotFound},
		{name: "another tenant's OU is not found", p: f.principal("globex", ""), filter: Filter{OUID: f.branch.ID},
			wantErr: ErrNotFound},
		{name: "a reseller sees its live grants, by customer", p: f.principal("r1", ""),
			want: []string{"esx", "switch"}, label: "All assets you may see"},
		{name: "a reseller's customer", p: f.principal("r1", ""), filter: Filter{CustomerID: globex.ID},
			want: []string{"switch"}, label: "Customer Globex AG"},
		{name: "a revoked grant's asset is not found", p: f.principal("r1", ""), filter: Filter{AssetID: f.assets["nas"].ID},
			wantErr: ErrNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := f.scope(t, tt.p, tt.filter)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			var got []string
			for _, as := range sc.Assets {
				for k, want := range f.assets {
					if want.ID == as.ID {
						got = append(got, k)
					}
				}
			}
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.label, sc.Label)
		})
	}
}

// OU names are the viewer's own: a reseller sees the customer's name
// beside a shared asset, never the customer's OU tree.
func TestScopeNames(t *testing.T) {
	f := newFixture(t)
	sc, err := f.scope(t, f.principal("acme", ""), Filter{})
	require.NoError(t, err)
	require.Equal(t, "Acme GmbH", sc.Customers[f.orgs["acme"].ID])
	require.Equal(t, "Branch", sc.OU(f.assets["nas"]))
	require.Equal(t, "Acme GmbH", sc.OU(f.assets["esx"]), "the root OU is named after the organization")

	sc, err = f.scope(t, f.principal("r1", ""), Filter{})
	require.NoError(t, err)
	require.Equal(t, "Acme GmbH", sc.Customers[f.orgs["acme"].ID])
	require.Equal(t, "Globex AG", sc.Customers[f.orgs["globex"].ID])
	require.Empty(t, sc.OU(f.assets["esx"]))
}
