package kpis

import (
	"context"
	"slices"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
	"github.com/kpilot/kpilot/server/visibility"
)

// Listing is a catalog as the JSON API answers it.
type Listing struct {
	Measurements []catalog.Measurement `json:"measurements"`
	Definitions  []Entry               `json:"definitions"`
}

// Entry is a definition and where it comes from.
type Entry struct {
	catalog.Definition
	// BuiltIn is false for a definition the organization's agents sent.
	BuiltIn bool `json:"built_in"`
}

// List returns c's measurements and definitions, telling the built-in
// ones from the organization's own.
func (s *Service) List(c *catalog.Catalog) Listing {
	out := Listing{Measurements: c.Measurements(), Definitions: []Entry{}}
	if out.Measurements == nil {
		out.Measurements = []catalog.Measurement{}
	}
	for _, d := range c.Definitions() {
		_, builtin := s.builtin.Lookup(d.Measurement, d.Field)
		out.Definitions = append(out.Definitions, Entry{Definition: d, BuiltIn: builtin})
	}
	return out
}

// Brief is what a client needs to show a series: its name, unit, kind,
// the meaning of its states, its default thresholds and its rank among
// the key figures of asset categories (a page shows those first).
type Brief struct {
	Name       catalog.Text                 `json:"name"`
	Unit       catalog.Unit                 `json:"unit"`
	Kind       catalog.Kind                 `json:"kind"`
	States     map[int64]catalog.StateValue `json:"states,omitempty"`
	Thresholds *catalog.Thresholds          `json:"thresholds,omitempty"`
	Key        map[string]int               `json:"key,omitempty"`
}

// Series is a series with the definition of its field; Definition is
// null for a field the catalog does not define.
type Series struct {
	tsdb.Series
	Definition *Brief `json:"definition"`
}

// Describe returns series, each with its definition in c.
func Describe(c *catalog.Catalog, series []tsdb.Series) []Series {
	out := make([]Series, 0, len(series))
	for _, s := range series {
		e := Series{Series: s}
		if d, ok := c.Lookup(s.Measurement, s.Field); ok {
			e.Definition = &Brief{Name: d.Name, Unit: d.Unit, Kind: d.Kind, States: d.States, Thresholds: d.Thresholds, Key: d.Key}
		}
		out = append(out, e)
	}
	return out
}

// Visible drops from latest (series by asset id) what the caller may not
// read of each asset: access gives its access to an asset, and the data
// class comes from the catalog of the asset's organization
// (visibility.Access.SeesIn).
func (s *Service) Visible(ctx context.Context, assets []store.Asset, access func(store.Asset) visibility.Access, latest map[string][]tsdb.Series) error {
	for _, as := range assets {
		series, ok := latest[as.ID]
		if !ok {
			continue
		}
		c, err := s.For(ctx, as.OrgID)
		if err != nil {
			return err
		}
		acc := access(as)
		latest[as.ID] = slices.DeleteFunc(series, func(x tsdb.Series) bool { return !acc.SeesIn(c, x.Measurement, x.Field) })
	}
	return nil
}
