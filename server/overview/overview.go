// Package overview sums up what a principal sees, for the portal's first
// page and GET /api/v1/overview: per customer, its assets down and
// unmonitored and its open check-up findings by severity, most urgent
// first; and per asset, its open findings. It starts from the caller's
// visible set (visibility.List) and counts findings in one store query,
// never per asset.
package overview

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// Source is what the overview reads of the metadata store.
type Source interface {
	visibility.ListSource
	OpenFindingCounts(ctx context.Context, orgIDs []string) ([]store.FindingCount, error)
}

// Severities counts open findings by severity.
type Severities struct {
	Critical int `json:"critical"`
	Warning  int `json:"warning"`
	Info     int `json:"info"`
}

// Total is the number of findings of every severity.
func (s Severities) Total() int { return s.Critical + s.Warning + s.Info }

// Worst is the most urgent severity counted, "" when none.
func (s Severities) Worst() store.Severity {
	switch {
	case s.Critical > 0:
		return store.SeverityCritical
	case s.Warning > 0:
		return store.SeverityWarning
	case s.Info > 0:
		return store.SeverityInfo
	}
	return ""
}

func (s *Severities) add(sev store.Severity, n int) {
	switch sev {
	case store.SeverityCritical:
		s.Critical += n
	case store.SeverityWarning:
		s.Warning += n
	case store.SeverityInfo:
		s.Info += n
	}
}

// Customer is one organization whose assets the principal sees.
type Customer struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Assets int    `json:"assets"`
	// Down counts assets whose latest poll found them unreachable;
	// Unmonitored those without a poll for store.StaleAfter or never
	// polled (an agent that stopped sending: not downtime).
	Down        int `json:"down"`
	Unmonitored int `json:"unmonitored"`
	// Findings counts the open findings of the assets whose findings the
	// principal may see (as owner or service partner); SeesFindings says
	// whether there is any such asset (a reseller sees none).
	Findings     Severities `json:"findings"`
	SeesFindings bool       `json:"sees_findings"`
}

// Query selects a page of customers.
type Query struct {
	Search  string // part of the customer's name, any case
	Page    int    // from 1
	PerPage int    // DefaultPerPage when 0, at most MaxPerPage
}

// Page sizes.
const (
	DefaultPerPage = 50
	MaxPerPage     = 200
)

// ParseQuery reads a Query from the parameters q, page and per_page.
func ParseQuery(v url.Values) (Query, error) {
	q := Query{Search: strings.TrimSpace(v.Get("q")), Page: 1, PerPage: DefaultPerPage}
	for _, p := range []struct {
		name     string
		to       *int
		min, max int
	}{{"page", &q.Page, 1, 1 << 30}, {"per_page", &q.PerPage, 1, MaxPerPage}} {
		s := v.Get(p.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < p.min || n > p.max {
			return q, problem.Invalidf("%s: a whole number from %d to %d", p.name, p.min, p.max)
		}
		*p.to = n
	}
	return q, nil
}

// Page is one page of customers, most urgent first (Less).
type Page struct {
	Customers []Customer `json:"customers"`
	// Total is how many customers match the search; Page and PerPage
	// are those of the query.
	Total   int `json:"total"`
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
	// Sum adds up every customer that matches, not only this page's.
	Sum Customer `json:"sum"`
}

// Less orders customers by what needs attention: open critical findings,
// then assets down, warnings, assets unmonitored, infos; then by name.
func Less(a, b Customer) int {
	for _, d := range [][2]int{{a.Findings.Critical, b.Findings.Critical}, {a.Down, b.Down},
		{a.Findings.Warning, b.Findings.Warning}, {a.Unmonitored, b.Unmonitored}, {a.Findings.Info, b.Findings.Info}} {
		if c := cmp.Compare(d[1], d[0]); c != 0 {
			return c
		}
	}
	return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.ID, b.ID))
}

// Answer is Customers for the query parameters of GET /api/v1/overview
// (ParseQuery).
func Answer(ctx context.Context, src Source, p visibility.Principal, set visibility.Set, now time.Time, v url.Values) (Page, error) {
	q, err := ParseQuery(v)
	if err != nil {
		return Page{}, err
	}
	return Customers(ctx, src, p, set, now, q)
}

// Customers returns a page of the organizations whose assets p sees (set
// is p's visible set), with their counts as of now: for a partner every
// customer sharing assets with it, for a customer its own organization.
func Customers(ctx context.Context, src Source, p visibility.Principal, set visibility.Set, now time.Time, q Query) (Page, error) {
	l, err := visibility.List(ctx, src, p, set)
	if err != nil {
		return Page{}, err
	}
	byOrg := map[string]*Customer{}
	var order []*Customer
	for _, a := range l.Assets {
		c := byOrg[a.OrgID]
		if c == nil {
			c = &Customer{ID: a.OrgID, Name: l.OrgNames[a.OrgID]}
			byOrg[a.OrgID] = c
			order = append(order, c)
		}
		c.Assets++
		switch a.Status(now) {
		case "down":
			c.Down++
		case "stale", "unknown":
			c.Unmonitored++
		}
	}
	found, err := AssetFindings(ctx, src, set, l.Assets)
	if err != nil {
		return Page{}, err
	}
	for _, a := range l.Assets {
		c := byOrg[a.OrgID]
		c.SeesFindings = c.SeesFindings || set.Access(a).SeesFindings()
		f := found[a.ID]
		if f == nil {
			continue
		}
		c.Findings.add(store.SeverityCritical, f.Critical)
		c.Findings.add(store.SeverityWarning, f.Warning)
		c.Findings.add(store.SeverityInfo, f.Info)
	}
	return page(order, q), nil
}

// page searches, sorts and cuts out the page q asks for.
func page(all []*Customer, q Query) Page {
	q.Page, q.PerPage = max(q.Page, 1), cmp.Or(q.PerPage, DefaultPerPage)
	out := Page{Customers: []Customer{}, Page: q.Page, PerPage: q.PerPage}
	needle := strings.ToLower(q.Search)
	var hits []Customer
	for _, c := range all {
		if needle != "" && !strings.Contains(strings.ToLower(c.Name), needle) {
			continue
		}
		hits = append(hits, *c)
		out.Sum.Assets += c.Assets
		out.Sum.Down += c.Down
		out.Sum.Unmonitored += c.Unmonitored
		out.Sum.Findings.Critical += c.Findings.Critical
		out.Sum.Findings.Warning += c.Findings.Warning
		out.Sum.Findings.Info += c.Findings.Info
		out.Sum.SeesFindings = out.Sum.SeesFindings || c.SeesFindings
	}
	slices.SortFunc(hits, Less)
	out.Total = len(hits)
	from := min((q.Page-1)*q.PerPage, len(hits))
	out.Customers = append(out.Customers, hits[from:min(from+q.PerPage, len(hits))]...)
	return out
}

// AssetFindings counts the open findings of each of assets whose findings
// set allows (owner or service partner), by asset id, in one store query;
// an asset whose findings set does not allow has no entry.
func AssetFindings(ctx context.Context, src Source, set visibility.Set, assets []store.Asset) (map[string]*Severities, error) {
	sees, seenOrg := map[string]bool{}, map[string]bool{}
	var orgs []string
	for _, a := range assets {
		if !set.Access(a).SeesFindings() {
			continue
		}
		if !seenOrg[a.OrgID] {
			orgs = append(orgs, a.OrgID)
			seenOrg[a.OrgID] = true
		}
		sees[a.ID] = true
	}
	out := make(map[string]*Severities, len(sees))
	for id := range sees {
		out[id] = &Severities{}
	}
	if len(orgs) == 0 {
		return out, nil
	}
	counts, err := src.OpenFindingCounts(ctx, orgs)
	if err != nil {
		return nil, fmt.Errorf("counting open findings: %w", err)
	}
	for _, c := range counts {
		if s := out[c.AssetID]; s != nil {
			s.add(c.Severity, c.Count)
		}
	}
	return out, nil
}
