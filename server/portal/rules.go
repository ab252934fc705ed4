package portal

import (
	"net/http"
	"slices"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/server/checkup"
)

// ruleBook is what an organization's check-up rules say about the lines
// of an asset's charts: a kpi_threshold rule for a KPI replaces the
// catalog's thresholds on the assets of its scope (disabled, it removes
// them), and a storage_used rule grades the fill level of storage
// measurements instead of the catalog (checkup.catalogThresholds).
type ruleBook struct {
	rules  []checkup.Rule
	parent map[string]string // OU id → parent OU id
}

// rulesFor reads the caller's organization's check-up rules for an asset
// it owns; nil when the caller does not own the asset (a partner's rules
// are not the customer's) or may not read them: the catalog's
// thresholds are then drawn.
func (p *Portal) rulesFor(r *http.Request, s *session, a asset) *ruleBook {
	if a.Access != "owner" {
		return nil
	}
	var rs struct {
		Rules []checkup.Rule `json:"rules"`
	}
	if p.call(r, s.token, "GET", "/api/v1/checkup-rules", nil, &rs) != nil {
		return nil
	}
	b := &ruleBook{rules: rs.Rules}
	if slices.ContainsFunc(rs.Rules, func(x checkup.Rule) bool { return len(x.Assets.OUs) > 0 }) {
		var ous struct {
			OUs []struct {
				ID       string `json:"id"`
				ParentID string `json:"parent_id"`
			} `json:"ous"`
		}
		if p.call(r, s.token, "GET", "/api/v1/ous", nil, &ous) == nil {
			b.parent = map[string]string{}
			for _, o := range ous.OUs {
				b.parent[o.ID] = o.ParentID
			}
		}
	}
	return b
}

// thresholds returns the lines of field f on asset a: a rule's where one
// decides, else the catalog's.
func (b *ruleBook) thresholds(a asset, f kpiField) *catalog.Thresholds {
	if b == nil {
		return f.Thresholds
	}
	// Every enabled rule grades the assets of its scope; a disabled one
	// only keeps the catalog's thresholds off them.
	ruled := false
	for _, r := range b.rules {
		if r.Kind != checkup.KPIThreshold || r.KPI != f.Key || !b.holds(r.Assets, a) {
			continue
		}
		ruled = true
		switch {
		case r.Disabled:
		case r.Warning == nil && r.Critical == nil:
			return f.Thresholds
		default:
			return &catalog.Thresholds{Warning: r.Warning, Critical: r.Critical}
		}
	}
	if ruled {
		return nil
	}
	if f.Field != "used_percent" || !slices.Contains(checkup.StorageMeasurements, f.Measurement) {
		return f.Thresholds
	}
	// Any storage_used rule takes the fill levels from the catalog.
	ruled = false
	for _, r := range b.rules {
		if r.Kind != checkup.StorageUsed {
			continue
		}
		ruled = true
		if !r.Disabled && b.holds(r.Assets, a) {
			return &catalog.Thresholds{Warning: r.Warning, Critical: r.Critical}
		}
	}
	if ruled {
		return nil
	}
	return f.Thresholds
}

// holds reports whether a scope selects the asset, as checkup.Scope
// does: every non-empty list must pass; an OU selects the OUs below it.
func (b *ruleBook) holds(sc checkup.Scope, a asset) bool {
	switch {
	case len(sc.IDs) > 0 && !slices.Contains(sc.IDs, a.ID),
		len(sc.Categories) > 0 && !slices.Contains(sc.Categories, a.Category),
		slices.Contains(sc.Exclude, a.ID):
		return false
	case len(sc.OUs) == 0:
		return true
	}
	seen := map[string]bool{}
	for ou := a.OUID; ou != "" && !seen[ou]; ou = b.parent[ou] {
		if slices.Contains(sc.OUs, ou) {
			return true
		}
		seen[ou] = true
	}
	return false
}
