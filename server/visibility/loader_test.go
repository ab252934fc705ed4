package visibility_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/visibility"
)

// openStore returns a fresh SQLite store in a temporary directory.
func openStore(tb testing.TB) *sqlstore.DB {
	tb.Helper()
	db, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(tb.TempDir(), "kpilot.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(tb, err)
	tb.Cleanup(func() { db.Close() })
	return db
}

// randomWorld is a store filled from one seed with every kind of thing the
// rules know: customers with OU trees (assets at every level), partners
// (resellers and distributors, some with assets of their own), channel
// partners with default roles, device groups with group and direct
// assignments, created and system-key grants (some revoked), and
// customers whose consent was withdrawn.
type randomWorld struct {
	orgs       []store.Organization
	ous        map[string][]store.OU // org id → its OUs
	assets     []store.Asset
	principals []visibility.Principal
	// revoked and withdrawn count revoked grants and customers that
	// withdrew consent, so a test can check the world has them.
	revoked, withdrawn int
}

func newRandomWorld(t *testing.T, s store.Store, seed uint64) randomWorld {
	t.Helper()
	ctx := t.Context()
	rnd := rand.New(rand.NewPCG(seed, seed))
	w := randomWorld{ous: map[string][]store.OU{}}
	org := func(name string, kind store.OrgKind) store.Organization {
		o := store.Organization{Name: name, Kind: kind}
		if kind != store.Customer {
			o.PartnerID = fmt.Sprintf("P-%d-%s", seed, name)
		}
		require.NoError(t, s.CreateOrganization(ctx, &o))
		ous := []store.OU{{ID: o.RootOU, OrgID: o.ID}}
		for i := range 1 + rnd.IntN(3) {
			u := store.OU{OrgID: o.ID, ParentID: ous[rnd.IntN(len(ous))].ID, Name: fmt.Sprintf("%s-ou%d", name, i)}
			require.NoError(t, s.CreateOU(ctx, &u))
			ous = append(ous, u)
		}
		w.orgs, w.ous[o.ID] = append(w.orgs, o), ous
		return o
	}
	assets := func(o store.Organization, n int) []store.Asset {
		var out []store.Asset
		for i := range n {
			ous := w.ous[o.ID]
			a := store.Asset{OrgID: o.ID, OUID: ous[rnd.IntN(len(ous))].ID, Name: fmt.Sprintf("%s-a%d", o.Name, i)}
			require.NoError(t, s.CreateAsset(ctx, &a, nil))
			out = append(out, a)
		}
		w.assets = append(w.assets, out...)
		return out
	}

	var partners []store.Organization
	for i := range 5 {
		kind := store.Reseller
		if i == 4 {
			kind = store.Distributor
		}
		p := org(fmt.Sprintf("partner%d", i), kind)
		partners = append(partners, p)
		assets(p, rnd.IntN(2)) // a partner may own assets too
	}
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	tick := func() time.Time { t0 = t0.Add(time.Second); return t0 }
	for i := range 5 {
		c := org(fmt.Sprintf("customer%d", i), store.Customer)
		mine := assets(c, 3+rnd.IntN(5))
		require.NoError(t, s.SetChannelConsent(ctx, c.ID, true))

		// Channel partners: a random subset, with random default roles.
		var listed []store.Organization
		for _, p := range partners {
			if rnd.IntN(2) == 0 {
				continue
			}
			require.NoError(t, s.AddChannelPartner(ctx, store.ChannelPartner{CustomerOrgID: c.ID, PartnerOrgID: p.ID, AddedBy: "u"}))
			listed = append(listed, p)
		}
		if len(listed) > 0 {
			r := listed[rnd.IntN(len(listed))]
			require.NoError(t, s.SetChannelDefaults(ctx, c.ID, r.ID, true, rnd.IntN(2) == 0))
			if sv := listed[rnd.IntN(len(listed))]; sv.ID != r.ID {
				require.NoError(t, s.SetChannelDefaults(ctx, c.ID, sv.ID, false, true))
			}
		}

		// Device groups with random members, overlapping.
		var groups []store.DeviceGroup
		for j := range rnd.IntN(3) {
			g := store.DeviceGroup{OrgID: c.ID, Name: fmt.Sprintf("g%d", j)}
			require.NoError(t, s.CreateDeviceGroup(ctx, &g))
			var members []string
			for _, a := range mine {
				if rnd.IntN(2) == 0 {
					members = append(members, a.ID)
				}
			}
			require.NoError(t, s.SetDeviceGroupMembers(ctx, c.ID, g.ID, members))
			groups = append(groups, g)
		}

		// Assignments of devices and groups to listed partners.
		for range rnd.IntN(6) {
			if len(listed) == 0 {
				break
			}
			as := store.ChannelAssignment{CustomerOrgID: c.ID, PartnerOrgID: listed[rnd.IntN(len(listed))].ID,
				Role: []store.ChannelRole{store.RoleReseller, store.RoleService}[rnd.IntN(2)], AssignedBy: "u", AssignedAt: tick()}
			if len(groups) > 0 && rnd.IntN(2) == 0 {
				as.GroupID = groups[rnd.IntN(len(groups))].ID
			} else {
				as.AssetID = mine[rnd.IntN(len(mine))].ID
			}
			require.NoError(t, s.SetChannelAssignment(ctx, &as))
		}

		// Grants, some revoked, to any partner (listed or not).
		for range rnd.IntN(5) {
			g := store.Grant{AssetID: mine[rnd.IntN(len(mine))].ID, CustomerOrgID: c.ID, PartnerOrgID: partners[rnd.IntN(len(partners))].ID,
				Kind: []store.GrantKind{store.GrantCreated, store.GrantSystemKey}[rnd.IntN(2)], GrantedBy: "u", GrantedAt: tick()}
			require.NoError(t, s.CreateGrant(ctx, &g))
			if rnd.IntN(3) == 0 {
				require.NoError(t, s.RevokeGrant(ctx, g.ID, "u", tick()))
				w.revoked++
			}
		}
		if i == 0 || rnd.IntN(3) == 0 {
			require.NoError(t, s.SetChannelConsent(ctx, c.ID, false)) // withdrawn
			w.withdrawn++
		}
	}

	// Principals: a viewer or an admin at every OU of every organization,
	// plus callers who must see nothing.
	for _, o := range w.orgs {
		for _, u := range w.ous[o.ID] {
			role := []store.Role{store.Admin, store.Viewer}[rnd.IntN(2)]
			w.principals = append(w.principals, visibility.Principal{UserID: "u", OrgID: o.ID, OrgKind: o.Kind, OUID: u.ID, Role: role})
		}
	}
	w.principals = append(w.principals,
		visibility.Principal{},
		visibility.Principal{OrgID: partners[0].ID, OrgKind: store.Reseller},
		visibility.Principal{OrgID: w.orgs[len(w.orgs)-1].ID, OrgKind: store.Customer, OUID: "no-such-ou"})
	return w
}

// TestLoaderAssetAgreesWithSet holds the single-asset path to the full
// one: for every principal and asset of random worlds, Loader.Asset gives
// what Loader.Set(...).Access gives, and ErrNotFound exactly where that
// is None.
func TestLoaderAssetAgreesWithSet(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			db := openStore(t)
			w := newRandomWorld(t, db, seed)
			l := visibility.NewLoader(db)
			seen := map[string]int{}
			for _, p := range w.principals {
				set, err := l.Set(t.Context(), p)
				require.NoError(t, err)
				for _, a := range w.assets {
					want := set.Access(a)
					got, acc, err := l.Asset(t.Context(), p, a.ID)
					if want.Class == visibility.None {
						require.ErrorIs(t, err, store.ErrNotFound, "principal %+v, asset %s: got %v, want not found", p, a.Name, acc)
						seen["none"]++
						continue
					}
					require.NoError(t, err, "principal %+v, asset %s", p, a.Name)
					require.Equal(t, want, acc, "principal %+v, asset %s", p, a.Name)
					require.Equal(t, a.ID, got.ID)
					require.Equal(t, a.OrgID, got.OrgID)
					seen[want.Class.String()]++
					for _, v := range want.Via {
						seen[string(v)]++
					}
				}
				_, _, err = l.Asset(t.Context(), p, "no-such-asset")
				require.ErrorIs(t, err, store.ErrNotFound)
			}
			t.Logf("checked: %v; %d revoked grants, %d customers without consent", seen, w.revoked, w.withdrawn)
			require.Positive(t, w.revoked)
			require.Positive(t, w.withdrawn)
			for _, k := range []string{"none", "owner", "reseller", "service", "channel", "created", "system-key"} {
				require.Positive(t, seen[k], "the world must exercise %q; got %v", k, seen)
			}
		})
	}
}

// countingSource counts the Loader's store calls by method.
type countingSource struct {
	visibility.Source
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingSource) count(m string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[m]++
}

func (c *countingSource) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.calls {
		n += v
	}
	return n
}

func (c *countingSource) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = nil
}

func (c *countingSource) OUs(ctx context.Context, org string) ([]store.OU, error) {
	c.count("OUs")
	return c.Source.OUs(ctx, org)
}

func (c *countingSource) Organization(ctx context.Context, id string) (store.Organization, error) {
	c.count("Organization")
	return c.Source.Organization(ctx, id)
}

func (c *countingSource) Asset(ctx context.Context, id string) (store.Asset, error) {
	c.count("Asset")
	return c.Source.Asset(ctx, id)
}

func (c *countingSource) Assets(ctx context.Context, org string) ([]store.Asset, error) {
	c.count("Assets")
	return c.Source.Assets(ctx, org)
}

func (c *countingSource) Grants(ctx context.Context, f store.GrantFilter) ([]store.Grant, error) {
	c.count("Grants")
	return c.Source.Grants(ctx, f)
}

func (c *countingSource) ChannelPartners(ctx context.Context, cust string) ([]store.ChannelPartner, error) {
	c.count("ChannelPartners")
	return c.Source.ChannelPartners(ctx, cust)
}

func (c *countingSource) ChannelCustomers(ctx context.Context, partner string) ([]store.ChannelPartner, error) {
	c.count("ChannelCustomers")
	return c.Source.ChannelCustomers(ctx, partner)
}

func (c *countingSource) ChannelAssignments(ctx context.Context, cust string) ([]store.ChannelAssignment, error) {
	c.count("ChannelAssignments")
	return c.Source.ChannelAssignments(ctx, cust)
}

func (c *countingSource) DeviceGroups(ctx context.Context, org string) ([]store.DeviceGroup, error) {
	c.count("DeviceGroups")
	return c.Source.DeviceGroups(ctx, org)
}

// TestLoaderAssetReadsOneCustomer checks that a partner's single-asset
// check reads the asset's own customer only: never the partner's list of
// customers nor anyone's asset list, at most six store calls.
func TestLoaderAssetReadsOneCustomer(t *testing.T) {
	db := openStore(t)
	w := newRandomWorld(t, db, 7)
	src := &countingSource{Source: db}
	l := visibility.NewLoader(src)
	for _, p := range w.principals {
		for _, a := range w.assets {
			src.reset()
			_, _, _ = l.Asset(t.Context(), p, a.ID)
			require.LessOrEqual(t, src.total(), 6, "principal %+v, asset %s: calls %v", p, a.Name, src.calls)
			require.Zero(t, src.calls["ChannelCustomers"], "calls %v", src.calls)
			require.Zero(t, src.calls["Assets"], "calls %v", src.calls)
		}
	}
}
