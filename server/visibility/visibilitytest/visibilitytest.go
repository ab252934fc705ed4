// Package visibilitytest builds stores for tests and benchmarks of the
// visibility rules at scale.
package visibilitytest

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// PartnerWorld is a reseller that sees every asset of many customers.
type PartnerWorld struct {
	Partner   store.Organization
	Principal visibility.Principal // a viewer of Partner at its root OU
	Assets    []store.Asset        // every customer's, customer by customer
}

// NewPartnerWorld fills s with one reseller and customers customers of
// perCustomer assets each, all of which the reseller sees: every customer
// lists it as default reseller and consents; every tenth customer also
// assigns it one device group (its first five assets) as service
// partner; and it holds a system-key grant on the first asset of every
// other customer. A real partner's world, only larger.
func NewPartnerWorld(tb testing.TB, s store.Store, customers, perCustomer int) PartnerWorld {
	tb.Helper()
	ctx := context.Background()
	w := PartnerWorld{Partner: store.Organization{Name: "Reseller", Kind: store.Reseller, PartnerID: "R-WORLD"}}
	require.NoError(tb, s.CreateOrganization(ctx, &w.Partner))
	for i := range customers {
		c := store.Organization{Name: fmt.Sprintf("Customer %d", i), Kind: store.Customer}
		require.NoError(tb, s.CreateOrganization(ctx, &c))
		var mine []string
		for j := range perCustomer {
			a := store.Asset{OrgID: c.ID, OUID: c.RootOU, Name: fmt.Sprintf("c%d-a%d", i, j), Category: "server"}
			require.NoError(tb, s.CreateAsset(ctx, &a, nil))
			mine = append(mine, a.ID)
			w.Assets = append(w.Assets, a)
		}
		require.NoError(tb, s.AddChannelPartner(ctx, store.ChannelPartner{CustomerOrgID: c.ID, PartnerOrgID: w.Partner.ID,
			DefaultReseller: true, AddedBy: "world"}))
		require.NoError(tb, s.SetChannelConsent(ctx, c.ID, true))
		if i%10 == 0 && len(mine) > 0 {
			g := store.DeviceGroup{OrgID: c.ID, Name: "core"}
			require.NoError(tb, s.CreateDeviceGroup(ctx, &g))
			require.NoError(tb, s.SetDeviceGroupMembers(ctx, c.ID, g.ID, mine[:min(5, len(mine))]))
			require.NoError(tb, s.SetChannelAssignment(ctx, &store.ChannelAssignment{CustomerOrgID: c.ID, PartnerOrgID: w.Partner.ID,
				Role: store.RoleService, GroupID: g.ID, AssignedBy: "world"}))
		}
		if i%2 == 0 && len(mine) > 0 {
			require.NoError(tb, s.CreateGrant(ctx, &store.Grant{AssetID: mine[0], CustomerOrgID: c.ID, PartnerOrgID: w.Partner.ID,
				Kind: store.GrantSystemKey, GrantedBy: "world"}))
		}
	}
	w.Principal = visibility.Principal{UserID: "world", OrgID: w.Partner.ID, OrgKind: store.Reseller, OUID: w.Partner.RootOU, Role: store.Viewer}
	return w
}
