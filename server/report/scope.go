package report

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/maintenance"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
	"github.com/kpilot/kpilot/server/visibility"
)

// ErrNotFound is returned by ResolveScope when the filter names an asset
// or OU the viewer may not see (or that does not exist): callers answer
// it like a missing thing, so other tenants' ids cannot be probed. It is
// problem.ErrNotFound, which the API answers 404.
var ErrNotFound error = problem.ErrNotFound

// Filter narrows a report to part of what the viewer may see. Empty
// fields match everything.
type Filter struct {
	AssetID    string
	OUID       string // the OU and every OU below it, of the viewer's organization
	CustomerID string // an organization: the viewer's own or a customer sharing with it
	Category   string
}

// FilterFrom reads a filter from the query parameters asset_id, ou_id,
// customer_id and category, as GET /api/v1/reports/{template} and
// report schedules spell it.
func FilterFrom(q url.Values) Filter {
	return Filter{AssetID: q.Get("asset_id"), OUID: q.Get("ou_id"), CustomerID: q.Get("customer_id"), Category: q.Get("category")}
}

// Scope is what a report covers: the viewer's visible assets after the
// filter, sorted by customer and name, with the names to print beside
// them. Build one with ResolveScope.
type Scope struct {
	Assets    []store.Asset
	Customers map[string]string // organization id → name, of the viewer's and every shared asset's organization
	OrgID     string            // the viewer's organization
	OUs       map[string]string // OU id → name, of the viewer's own OU and those below it
	Label     string            // what the report covers, e.g. "Organization unit Branch, category storage"
	// Maintenance holds the maintenance windows of each organization of
	// Assets, when the ScopeSource keeps them (maintenance.Store): their
	// downtime is planned. Nil: no window is known.
	Maintenance map[string]maintenance.Matcher
}

// planned returns the stretches of p that maintenance windows cover for as.
func (s Scope) planned(as store.Asset, p Period) [][2]time.Time {
	m, ok := s.Maintenance[as.OrgID]
	if !ok {
		return nil
	}
	return m.Planned(as, p.Start, p.Stop)
}

// loadMaintenance fills sc.Maintenance when src keeps windows.
func loadMaintenance(ctx context.Context, src ScopeSource, sc *Scope) error {
	ms, ok := src.(maintenance.Store)
	if !ok {
		return nil
	}
	sc.Maintenance = map[string]maintenance.Matcher{}
	for _, as := range sc.Assets {
		if _, done := sc.Maintenance[as.OrgID]; done {
			continue
		}
		m, err := maintenance.Load(ctx, ms, as.OrgID)
		if err != nil {
			return fmt.Errorf("maintenance windows of %s: %w", as.OrgID, err)
		}
		sc.Maintenance[as.OrgID] = m
	}
	return nil
}

// OU is the name of an asset's OU as the viewer knows it: "" for assets of
// other organizations, whose OU tree is not the viewer's to see.
func (s Scope) OU(as store.Asset) string {
	if as.OrgID == s.OrgID {
		return s.OUs[as.OUID]
	}
	return ""
}

// ScopeSource is what ResolveScope reads of the store.
type ScopeSource interface {
	visibility.ListSource
	OUs(ctx context.Context, orgID string) ([]store.OU, error)
}

// ResolveScope returns the assets of set (p's visible set) that f selects.
// Visibility comes first: the filter only ever narrows what set allows,
// exactly as GET /api/v1/assets does. An asset or OU of f that p may not
// see is ErrNotFound.
func ResolveScope(ctx context.Context, src ScopeSource, p visibility.Principal, set visibility.Set, f Filter) (Scope, error) {
	sc := Scope{OrgID: p.OrgID, OUs: map[string]string{}, Label: "All assets you may see"}
	assets, err := visibleAssets(ctx, src, p, set, f, &sc)
	if err != nil {
		return sc, err
	}
	own, err := src.OUs(ctx, p.OrgID)
	if err != nil {
		return sc, fmt.Errorf("loading the OUs of %s: %w", p.OrgID, err)
	}
	mine := visibility.Subtree(p.OrgID, p.OUID, own)
	for _, u := range own {
		if mine[u.ID] {
			sc.OUs[u.ID] = u.Name
		}
	}
	if id := f.OUID; id != "" {
		if _, ok := sc.OUs[id]; !ok {
			return sc, ErrNotFound
		}
		sub := visibility.Subtree(p.OrgID, id, own)
		assets = slices.DeleteFunc(assets, func(as store.Asset) bool { return as.OrgID != p.OrgID || !sub[as.OUID] })
		sc.Label = "Organization unit " + sc.OUs[id]
	}
	if id := f.AssetID; id != "" {
		assets = slices.DeleteFunc(assets, func(as store.Asset) bool { return as.ID != id })
		if len(assets) == 0 {
			return sc, ErrNotFound
		}
		sc.Label = "Asset " + assets[0].Name
	}
	if id := f.CustomerID; id != "" {
		sc.Label = "Customer " + sc.Customers[id]
	}
	if c := f.Category; c != "" {
		sc.Label += ", category " + c
	}
	slices.SortFunc(assets, func(x, y store.Asset) int {
		return cmpJoin(sc.Customers[x.OrgID], sc.Customers[y.OrgID], x.Name, y.Name, x.ID, y.ID)
	})
	sc.Assets = assets
	return sc, loadMaintenance(ctx, src, &sc)
}

// visibleAssets lists p's visible assets that f's category and customer
// select, and fills sc.Customers.
func visibleAssets(ctx context.Context, src ScopeSource, p visibility.Principal, set visibility.Set, f Filter, sc *Scope) ([]store.Asset, error) {
	l, err := visibility.List(ctx, src, p, set)
	if err != nil {
		return nil, err
	}
	sc.Customers = l.OrgNames
	var out []store.Asset
	for _, as := range l.Assets {
		if f.Category != "" && as.Category != f.Category {
			continue
		}
		if f.CustomerID != "" && as.OrgID != f.CustomerID {
			continue
		}
		out = append(out, as)
	}
	return out, nil
}

// cmpJoin compares pairs in order, ignoring case: the first pair that
// differs decides.
func cmpJoin(pairs ...string) int {
	for i := 0; i+1 < len(pairs); i += 2 {
		if c := strings.Compare(strings.ToLower(pairs[i]), strings.ToLower(pairs[i+1])); c != 0 {
			return c
		}
	}
	return 0
}

// assetsByOrg groups asset ids by organization: every KPI query filters
// on the organization and the viewer's visible asset ids.
func assetsByOrg(assets []store.Asset) map[string][]tsdb.AssetRef {
	out := map[string][]tsdb.AssetRef{}
	for _, as := range assets {
		out[as.OrgID] = append(out[as.OrgID], tsdb.Ref(as))
	}
	return out
}
