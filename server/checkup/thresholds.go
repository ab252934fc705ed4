package checkup

import (
	"cmp"
	"slices"
	"strings"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
)

// CatalogRuleID is the rule id of findings from the catalog's default
// thresholds, which apply without a rule; their kind is kpi_threshold.
const CatalogRuleID = "kpi-thresholds"

// catalogThresholds grades the newest value of every gauge the catalog
// gives thresholds, on every asset, except where a rule of rs decides
// instead: a kpi_threshold rule for that KPI whose scope holds the asset
// (enabled or not), and any storage_used rule for the fill fields of the
// storage measurements, which it grades as a fill level.
func catalogThresholds(rs RuleSet, in Input) []store.FindingResult {
	if in.Catalog == nil {
		return nil
	}
	overridden := map[string]bool{} // asset id + KPI
	storageRule := false
	for _, r := range rs.Rules {
		switch r.Kind {
		case KPIThreshold:
			for _, a := range r.Assets.filter(in.OrgID, in.Assets, in.OUs) {
				overridden[a.ID+"\x00"+r.KPI] = true
			}
		case StorageUsed:
			storageRule = true
		}
	}
	var out []store.FindingResult
	rule := Rule{ID: CatalogRuleID, Kind: KPIThreshold}
	for _, a := range in.Assets {
		repeated := repeatedFilesystems(in.Latest[a.ID])
		for _, s := range in.Latest[a.ID] {
			d, ok := in.Catalog.Lookup(s.Measurement, s.Field)
			switch {
			case !ok || d.Kind != catalog.Gauge || d.Thresholds == nil,
				overridden[a.ID+"\x00"+s.Measurement+"."+s.Field],
				repeated[tsdb.SeriesKey(s.Measurement, s.Tags)],
				storageRule && isStorage(s.Measurement) && slices.Contains(StorageFields, s.Field):
				continue
			}
			if f, ok := gradeKPI(rule, a, in.Catalog, d, *d.Thresholds, s); ok {
				out = append(out, f)
			}
		}
	}
	return out
}

// kpiThreshold grades the KPI a kpi_threshold rule names on the assets of
// its scope, by the rule's thresholds or, given none, the catalog's.
func kpiThreshold(r Rule, assets []store.Asset, in Input) []store.FindingResult {
	m, f, _ := strings.Cut(r.KPI, ".")
	d, ok := in.Catalog.Lookup(m, f)
	if !ok {
		d = catalog.Definition{Measurement: m, Field: f}
	}
	var t catalog.Thresholds
	if d.Thresholds != nil {
		t = *d.Thresholds
	}
	if r.Warning != nil || r.Critical != nil {
		t.Warning, t.Critical = r.Warning, r.Critical
	}
	if r.Below != nil {
		t.Below = *r.Below
	}
	if t.Warning == nil && t.Critical == nil {
		return nil
	}
	var out []store.FindingResult
	for _, a := range assets {
		for _, s := range in.Latest[a.ID] {
			if s.Measurement != m || s.Field != f {
				continue
			}
			if res, ok := gradeKPI(r, a, in.Catalog, d, t, s); ok {
				out = append(out, res)
			}
		}
	}
	return out
}

// gradeKPI grades the newest value of s by t: a finding of rule r when
// it is at a warning or critical level, named and formatted by d.
func gradeKPI(r Rule, a store.Asset, cat *catalog.Catalog, d catalog.Definition, t catalog.Thresholds, s tsdb.Series) (store.FindingResult, bool) {
	v, ok := newest(s)
	if !ok {
		return store.FindingResult{}, false
	}
	var sev store.Severity
	var limit float64
	switch t.Level(v) {
	case catalog.Critical:
		sev, limit = store.SeverityCritical, *t.Critical
	case catalog.Warning:
		sev, limit = store.SeverityWarning, *t.Warning
	default:
		return store.FindingResult{}, false
	}
	what := strings.ReplaceAll(s.Measurement, "_", " ")
	if m, ok := cat.MeasurementInfo(s.Measurement); ok && m.Name.EN != "" {
		what = m.Name.EN
	}
	at := "at"
	if t.Below {
		at = "at or below"
	}
	return r.result(a, tsdb.SeriesKey(s.Measurement, s.Tags)+" "+s.Field, sev, "%s: %s is %s (%s %s %s)",
		capitalize(labelAs(what, s.Tags)), cmp.Or(d.Name.EN, strings.ReplaceAll(s.Field, "_", " ")),
		catalog.Format(v, d.Unit, "en"), sev, at, catalog.Format(limit, d.Unit, "en")), true
}

// newest is the newest numeric value of a series.
func newest(s tsdb.Series) (float64, bool) {
	g := series{fields: map[string][]tsdb.Point{s.Field: s.Points}}
	v, _, ok := g.last(s.Field)
	return v, ok
}

// hasThresholds reports whether c gives any KPI default thresholds.
func hasThresholds(c *catalog.Catalog) bool {
	for _, d := range c.Definitions() {
		if d.Thresholds != nil {
			return true
		}
	}
	return false
}
