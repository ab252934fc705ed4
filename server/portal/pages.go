package portal

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"
)

// asset is an asset as the API lists it.
type asset struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	OUID         string     `json:"ou_id"`
	Category     string     `json:"category"`
	Manufacturer string     `json:"manufacturer"`
	Product      string     `json:"product"`
	Type         string     `json:"type"`
	Version      string     `json:"version"`
	Serial       string     `json:"serial"`
	Access       string     `json:"access"`
	Via          []string   `json:"via"`
	Status       string     `json:"status"`
	LastPollAt   *time.Time `json:"last_poll_at"`
	Poll         *poll      `json:"poll"`
	CreatedAt    time.Time  `json:"created_at"`
	Location     string     `json:"location"` // a user's (asset edit)
	Notes        string     `json:"notes"`    // a user's, for the owner only
	// Findings counts its open findings; nil where the caller may not
	// see them (a reseller).
	Findings *severities `json:"findings"`
	Customer *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"customer"`
}

// poll is the outcome of an asset's latest poll and why, as the API
// gives it (tsdb.PollStatus).
type poll struct {
	Outcome   string    `json:"outcome"`
	Message   string    `json:"message"`
	At        time.Time `json:"at"`
	Collector string    `json:"collector"`
}

// monitoringProblems are the outcomes that say the agent could not read
// the device although it may well be up: not downtime, but a finding for
// the owner's admins (wrong credentials, an answer not understood).
var monitoringProblems = map[string]bool{"credentials_rejected": true, "protocol_error": true}

// shown returns assets with the status a person should see: an asset the
// store counts up (it answered) whose latest poll is a monitoring problem
// is "problem", neither up nor down.
func shown(assets []asset) []asset {
	for i, a := range assets {
		if a.Status == "up" && a.Poll != nil && monitoringProblems[a.Poll.Outcome] {
			assets[i].Status = "problem"
		}
	}
	return assets
}

// Reason is the latest poll of a down asset or one with a monitoring
// problem, which says why; nil for any other.
func (a asset) Reason() *poll {
	if (a.Status != "down" && a.Status != "problem") || a.Poll == nil || a.Poll.Outcome == "ok" {
		return nil
	}
	return a.Poll
}

// Badge is what the asset's status badge says: its status, except that
// an asset that is up with open critical or warning findings shows the
// worst of them, so that no badge is green while a finding is open.
func (a asset) Badge() string {
	if a.Findings == nil || a.Status != "up" {
		return a.Status
	}
	if w := a.Findings.Worst(); w == "critical" || w == "warning" {
		return w
	}
	return a.Status
}

// categories are the dashboard's groups, in the order the product names
// them; assets of any other category come last under "other".
var categories = []string{"server", "storage", "backup", "network", "power", "printer", "software"}

type categoryGroup struct {
	Category string
	Assets   []asset
	Down     int
	Findings severities
}

type customerGroup struct {
	ID, Name   string
	Categories []categoryGroup
	Count      int
	Down       int
	Findings   severities
}

func (s *severities) add(o *severities) {
	if o != nil {
		s.Critical, s.Warning, s.Info = s.Critical+o.Critical, s.Warning+o.Warning, s.Info+o.Info
	}
}

// group sorts assets into customers (one group for the caller's own) and
// categories.
func group(assets []asset) []customerGroup {
	byCustomer := map[string]*customerGroup{}
	var order []*customerGroup
	for _, a := range assets {
		id, name := "", ""
		if a.Customer != nil {
			id, name = a.Customer.ID, a.Customer.Name
		}
		g := byCustomer[id]
		if g == nil {
			g = &customerGroup{ID: id, Name: name}
			byCustomer[id] = g
			order = append(order, g)
		}
		cat := a.Category
		if !slices.Contains(categories, cat) {
			cat = "other"
		}
		i := slices.IndexFunc(g.Categories, func(c categoryGroup) bool { return c.Category == cat })
		if i < 0 {
			g.Categories = append(g.Categories, categoryGroup{Category: cat})
			i = len(g.Categories) - 1
		}
		g.Categories[i].Assets = append(g.Categories[i].Assets, a)
		g.Categories[i].Findings.add(a.Findings)
		g.Findings.add(a.Findings)
		g.Count++
		if a.Status == "down" || a.Status == "stale" || a.Status == "problem" || a.Badge() != a.Status {
			g.Categories[i].Down++
			g.Down++
		}
	}
	rank := func(c string) int {
		if i := slices.Index(categories, c); i >= 0 {
			return i
		}
		return len(categories)
	}
	out := make([]customerGroup, 0, len(order))
	for _, g := range order {
		slices.SortFunc(g.Categories, func(a, b categoryGroup) int { return cmp.Compare(rank(a.Category), rank(b.Category)) })
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b customerGroup) int {
		if (a.ID == "") != (b.ID == "") {
			if a.ID == "" {
				return -1
			}
			return 1
		}
		return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return out
}

// dashboard: for a customer, every asset it may see by category, with
// its status and open findings; for a partner the overview of its
// customers (partnerOverview), or with ?customer= one customer's assets
// like a customer's own dashboard.
func (p *Portal) dashboard(w http.ResponseWriter, r *http.Request, s *session) {
	in := r.URL.Query()
	if s.me.IsPartner() && in.Get("customer") == "" && in.Get("category") == "" {
		p.partnerOverview(w, r, s)
		return
	}
	var res struct {
		Assets []asset `json:"assets"`
	}
	if err := p.call(r, s.token, "GET", "/api/v1/assets"+q("category", in.Get("category"), "customer_id", in.Get("customer")), nil, &res); err != nil {
		p.failIn(w, r, s, err)
		return
	}
	res.Assets = shown(res.Assets)
	counts := map[string]int{}
	var found severities
	for _, a := range res.Assets {
		counts[a.Status]++
		found.add(a.Findings)
	}
	p.render(w, r, s, "dashboard", "", map[string]any{"Groups": group(res.Assets), "Total": len(res.Assets), "Counts": counts,
		"Findings": found, "Customer": in.Get("customer")})
}
