package findings

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// Filter narrows a list of findings.
type Filter struct {
	// AssetID asks for one asset's findings (and no agent's).
	AssetID string
	// CustomerID asks for one organization's findings; agents' findings
	// only when it is the caller's own.
	CustomerID string
	// Category asks for the findings of assets of one category (and no
	// agent's).
	Category string
	// Open selects open (true) or resolved (false) findings; nil both.
	Open *bool
	// MinSeverity is the lowest severity listed; empty lists all.
	MinSeverity store.Severity
	// Since drops findings resolved before it.
	Since time.Time
	// Limit is how many findings at most, the newest opened first;
	// DefaultLimit when not positive.
	Limit int
}

// DefaultLimit is the length of a list when the caller does not say.
const DefaultLimit = 500

// NewFilter returns the filter of the findings in state (open, the
// default; resolved; or all) of severity (info, warning, critical) or
// worse; an empty severity means any.
func NewFilter(state, severity string) (Filter, error) {
	var f Filter
	switch state {
	case "", "open":
		open := true
		f.Open = &open
	case "resolved":
		open := false
		f.Open = &open
	case "all":
	default:
		return f, problem.Invalidf("state: open, resolved or all")
	}
	f.MinSeverity = store.Severity(severity)
	if f.MinSeverity != "" && f.MinSeverity.Rank() == 0 {
		return f, problem.Invalidf("severity: info, warning or critical")
	}
	return f, nil
}

// List returns the findings p may see that f selects: those of every asset
// p sees as owner or service partner, and those of the agents in p's own
// OU subtree. A reseller asking for one asset it sees is told findings are
// not its to see; an asset it does not see is not found.
func (s *Service) List(ctx context.Context, p visibility.Principal, f Filter) ([]View, error) {
	if f.Limit <= 0 {
		f.Limit = DefaultLimit
	}
	if f.AssetID != "" {
		return s.listAsset(ctx, p, f)
	}
	set, err := s.vis.Set(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("visibility: %w", err)
	}
	assets, names, err := s.visibleAssets(ctx, p, set, f)
	if err != nil {
		return nil, err
	}
	sc := scope{byOrg: map[string][]string{}}
	for _, as := range assets {
		if set.Access(as).SeesFindings() {
			sc.add(as.OrgID, as.ID)
		}
	}
	// Agents: the caller's own organization's, in its OU subtree, unless
	// the question is about another customer or a category of assets.
	if (f.CustomerID == "" || f.CustomerID == p.OrgID) && f.Category == "" {
		ous, err := s.st.OUs(ctx, p.OrgID)
		if err != nil {
			return nil, fmt.Errorf("loading OUs of %s: %w", p.OrgID, err)
		}
		sc.add(p.OrgID, "")
		sc.agentsOf, sc.agentOUs = p.OrgID, visibility.Subtree(p.OrgID, p.OUID, ous)
	}
	fs, err := s.collect(ctx, sc, f)
	if err != nil {
		return nil, err
	}
	return s.render(ctx, p, fs, names)
}

// listAsset is List for one asset: it asks visibility about that asset
// only.
func (s *Service) listAsset(ctx context.Context, p visibility.Principal, f Filter) ([]View, error) {
	as, acc, err := s.vis.Asset(ctx, p, f.AssetID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("checking asset %s: %w", f.AssetID, err)
	}
	if (f.Category != "" && as.Category != f.Category) || (f.CustomerID != "" && as.OrgID != f.CustomerID) {
		return nil, problem.ErrNotFound // not among the assets the other filters select
	}
	if !acc.SeesFindings() {
		return nil, errFindingsClass
	}
	names := map[string]string{}
	if as.OrgID != p.OrgID {
		if names, err = s.orgNames(ctx, []string{as.OrgID}); err != nil {
			return nil, err
		}
	}
	sc := scope{byOrg: map[string][]string{}}
	sc.add(as.OrgID, as.ID)
	fs, err := s.collect(ctx, sc, f)
	if err != nil {
		return nil, err
	}
	return s.render(ctx, p, fs, names)
}

// scope is which findings to load: per organization, of which assets,
// and the agents of one organization in some of its OUs.
type scope struct {
	orgs     []string            // in the order first added
	byOrg    map[string][]string // organization → asset ids (empty: none)
	agentsOf string              // the organization whose agents count
	agentOUs map[string]bool     // the OUs of the agents that count
}

// add adds an asset (none when assetID is empty) of an organization.
func (sc *scope) add(orgID, assetID string) {
	ids, ok := sc.byOrg[orgID]
	if !ok {
		sc.orgs, ids = append(sc.orgs, orgID), []string{}
	}
	if assetID != "" {
		ids = append(ids, assetID)
	}
	sc.byOrg[orgID] = ids
}

// collect loads the findings of sc that f selects, the newest opened
// first, at most f.Limit.
func (s *Service) collect(ctx context.Context, sc scope, f Filter) ([]store.Finding, error) {
	var all []store.Finding
	for _, org := range sc.orgs {
		fs, err := s.st.Findings(ctx, store.FindingFilter{OrgID: org, AssetIDs: sc.byOrg[org],
			Agents: org == sc.agentsOf, Open: f.Open, Since: f.Since, Limit: f.Limit})
		if err != nil {
			return nil, fmt.Errorf("loading findings of %s: %w", org, err)
		}
		for _, x := range fs {
			if x.AgentID != "" && !sc.agentOUs[x.OUID] {
				continue
			}
			if x.Severity.Rank() < f.MinSeverity.Rank() {
				continue
			}
			all = append(all, x)
		}
	}
	slices.SortFunc(all, func(x, y store.Finding) int {
		if c := y.OpenedAt.Compare(x.OpenedAt); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	if len(all) > f.Limit {
		all = all[:f.Limit]
	}
	return all, nil
}

// visibleAssets returns the assets of set that f's category and customer
// select, with the names of the organizations they belong to.
func (s *Service) visibleAssets(ctx context.Context, p visibility.Principal, set visibility.Set, f Filter) ([]store.Asset, map[string]string, error) {
	l, err := visibility.List(ctx, s.st, p, set)
	if err != nil {
		return nil, nil, err
	}
	var out []store.Asset
	for _, as := range l.Assets {
		if (f.Category == "" || as.Category == f.Category) && (f.CustomerID == "" || as.OrgID == f.CustomerID) {
			out = append(out, as)
		}
	}
	return out, l.OrgNames, nil
}

// orgNames returns the names of the organizations ids, by id.
func (s *Service) orgNames(ctx context.Context, ids []string) (map[string]string, error) {
	slices.Sort(ids)
	orgs, err := s.st.OrganizationsByIDs(ctx, slices.Compact(ids))
	if err != nil {
		return nil, fmt.Errorf("loading organizations: %w", err)
	}
	names := make(map[string]string, len(orgs))
	for _, o := range orgs {
		names[o.ID] = o.Name
	}
	return names, nil
}
