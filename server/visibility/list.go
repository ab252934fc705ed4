package visibility

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/kpilot/kpilot/server/store"
)

// ListSource is what List reads of the metadata store.
type ListSource interface {
	Assets(ctx context.Context, orgID string) ([]store.Asset, error)
	AssetsByIDs(ctx context.Context, ids []string) ([]store.Asset, error)
	OrganizationsByIDs(ctx context.Context, ids []string) ([]store.Organization, error)
}

// Listing is what a principal sees in a list of assets.
type Listing struct {
	Assets   []store.Asset     // p's own organization's first, then the shared ones by name and id
	OrgNames map[string]string // organization id → name, for p's own and every listed asset's organization
}

// List loads the assets set (p's visible set) allows: those of p's own
// organization within its OUs and those other organizations share with
// it, with the names of the organizations they belong to. It is the one
// way lists of assets (the API, reports, findings) are loaded.
func List(ctx context.Context, src ListSource, p Principal, set Set) (Listing, error) {
	own, err := src.Assets(ctx, p.OrgID)
	if err != nil {
		return Listing{}, fmt.Errorf("loading the assets of %s: %w", p.OrgID, err)
	}
	// The assets the channel set-ups loaded are not read again; the
	// others (grants only) are.
	var shared []store.Asset
	var missing []string
	for _, id := range set.SharedAssetIDs() {
		if a, ok := set.loadedAsset(id); ok {
			shared = append(shared, a)
		} else {
			missing = append(missing, id)
		}
	}
	more, err := src.AssetsByIDs(ctx, missing)
	if err != nil {
		return Listing{}, fmt.Errorf("loading shared assets: %w", err)
	}
	shared = append(shared, more...)
	slices.SortFunc(shared, func(a, b store.Asset) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	names := map[string]string{}
	ids := []string{p.OrgID}
	for _, as := range shared {
		if _, ok := names[as.OrgID]; !ok {
			names[as.OrgID] = ""
			ids = append(ids, as.OrgID)
		}
	}
	orgs, err := src.OrganizationsByIDs(ctx, ids)
	if err != nil {
		return Listing{}, fmt.Errorf("loading organization names: %w", err)
	}
	for _, o := range orgs {
		names[o.ID] = o.Name
	}
	return Listing{Assets: set.Filter(append(own, shared...)), OrgNames: names}, nil
}
