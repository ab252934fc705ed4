package tsdb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// Validate checks every part that goes into Flux text.
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

// Flux renders the query. Exported for tests that feed it hostile input.
func (q OrgQuery) Flux(bucket string) (string, error) {
	if err := q.Validate(); err != nil {
		return "", err
	}
	series := make([]string, len(q.Assets))
	for i, r := range q.Assets {
		series[i] = r.Series
	}
	in := func(col string, vals []string) string {
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = "r." + col + " == " + fluxString(v)
		}
		return "(" + strings.Join(parts, " or ") + ")"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "from(bucket: %s)\n", fluxString(bucket))
	fmt.Fprintf(&b, "  |> range(start: %s, stop: %s)\n", fluxTime(q.Start), fluxTime(q.Stop))
	fmt.Fprintf(&b, "  |> filter(fn: (r) => %s)\n", in(AssetTag, series))
	fmt.Fprintf(&b, "  |> filter(fn: (r) => %s and %s)\n", in("_measurement", q.Measurements), in("_field", q.Fields))
	if q.Every > 0 {
		fmt.Fprintf(&b, "  |> aggregateWindow(every: %ds, fn: %s, createEmpty: false)\n", int64(q.Every/time.Second), q.Fn)
	}
	return b.String(), nil
}

// OrgSeries runs q; each series carries its asset's ID. An empty asset
// list reads nothing.
func (i *Influx) OrgSeries(ctx context.Context, q OrgQuery) ([]Series, error) {
	var out []Series
	// Asset lists are chunked like LatestMany's, so that the filter
	// stays short enough to be pushed down to the storage engine.
	for c := range slices.Chunk(q.Assets, latestChunk) {
		q := q
		q.Assets = c
		flux, err := q.Flux(i.bucket)
		if err != nil {
			return nil, err
		}
		s, err := i.run(ctx, flux, c)
		if err != nil {
			return nil, err
		}
		out = append(out, s...)
	}
	return out, nil
}
