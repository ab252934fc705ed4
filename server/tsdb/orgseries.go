package tsdb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kpilot/kpilot/internal/kpi"
)

// OrgQuery asks for some fields of some measurements of many assets
// (typically one organization's): what check-ups and reports read in one
// query instead of one per asset.
type OrgQuery struct {
	Assets       []AssetRef
	Measurements []string
	Fields       []string
	Start, Stop  time.Time
	Every        time.Duration // aggregation window; 0 returns raw points
	Fn           string        // aggregate, with Every
}

// Validate checks every part that goes into query text.
func (q OrgQuery) Validate() error {
	var errs []error
	if len(q.Assets) == 0 {
		errs = append(errs, errors.New("name at least one asset"))
	}
	for _, r := range q.Assets {
		if err := r.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(q.Measurements) == 0 || len(q.Fields) == 0 {
		errs = append(errs, errors.New("name at least one measurement and one field"))
	}
	for _, n := range append(append([]string(nil), q.Measurements...), q.Fields...) {
		if !kpi.ValidName(n) {
			errs = append(errs, fmt.Errorf("name %q: use lowercase letters, digits and _", n))
		}
	}
	errs = append(errs, validateWindow(q.Start, q.Stop, q.Every, q.Fn)...)
	return errors.Join(errs...)
}

// statements renders q as InfluxQL, one statement per measurement:
// measurements hold different fields, and InfluxDB 3 runs one statement
// per request.
func (q OrgQuery) statements() ([]string, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	out := make([]string, len(q.Measurements))
	for k, m := range q.Measurements {
		out[k] = selectStatement(m, q.Fields, q.Assets, q.Start, q.Stop, q.Every, q.Fn)
	}
	return out, nil
}

// OrgSeries runs q; each series carries its asset's ID. An empty asset
// list reads nothing.
func (i *Influx) OrgSeries(ctx context.Context, q OrgQuery) ([]Series, error) {
	var out []Series
	// Asset lists are chunked like LatestMany's, so that the asset
	// condition stays short enough for the storage engine's index.
	for c := range slices.Chunk(q.Assets, latestChunk) {
		q := q
		q.Assets = c
		texts, err := q.statements()
		if err != nil {
			return nil, err
		}
		set := newSeriesSet(c)
		for k, text := range texts {
			purpose := fmt.Sprintf("%s series of %d assets", q.Measurements[k], len(c))
			qs, err := i.InfluxQL(ctx, purpose, text)
			if err != nil {
				return nil, err
			}
			set.add(qs, q.Fn, false)
		}
		out = append(out, set.sorted()...)
	}
	return out, nil
}
