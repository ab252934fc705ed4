package tsdb

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kpilot/kpilot/internal/kpi"
)

// Aggregates allowed in SeriesQuery.Fn.
var Aggregates = map[string]bool{"mean": true, "max": true, "min": true, "last": true, "sum": true, "count": true}

var idRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// SeriesQuery asks for one field of one measurement of one asset.
type SeriesQuery struct {
	OrgID, AssetID string
	Measurement    string
	Field          string
	Start, Stop    time.Time
	Every          time.Duration // aggregation window; 0 returns raw points
	Fn             string        // aggregate, with Every
}

// Validate checks every part that goes into Flux text.
func (q SeriesQuery) Validate() error {
	var errs []error
	if !idRE.MatchString(q.OrgID) || !idRE.MatchString(q.AssetID) {
		errs = append(errs, errors.New("invalid organization or asset id"))
	}
	if !kpi.ValidName(q.Measurement) {
		errs = append(errs, fmt.Errorf("measurement %q: use lowercase letters, digits and _", q.Measurement))
	}
	if !kpi.ValidName(q.Field) {
		errs = append(errs, fmt.Errorf("field %q: use lowercase letters, digits and _", q.Field))
	}
	errs = append(errs, validateWindow(q.Start, q.Stop, q.Every, q.Fn)...)
	return errors.Join(errs...)
}

// validateWindow checks a query's period and aggregation.
func validateWindow(start, stop time.Time, every time.Duration, fn string) []error {
	var errs []error
	if start.IsZero() || stop.IsZero() || !start.Before(stop) {
		errs = append(errs, errors.New("start must be before stop"))
	}
	if every < 0 || (every > 0 && every < time.Second) {
		errs = append(errs, errors.New("every must be at least 1s"))
	}
	if every > 0 && stop.Sub(start)/every > 10_000 {
		errs = append(errs, errors.New("too many windows: at most 10000 per query; use a larger every"))
	}
	if (every > 0 || fn != "") && !Aggregates[fn] {
		errs = append(errs, fmt.Errorf("fn %q: must be one of mean, max, min, last, sum, count", fn))
	}
	if fn != "" && every == 0 {
		errs = append(errs, errors.New("fn needs every (the aggregation window)"))
	}
	return errs
}

// fluxString quotes s as a Flux string literal. Inputs are validated
// before they get here; escaping is the second line of defence, including
// "${", which starts interpolation in Flux strings.
func fluxString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

func fluxTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Flux renders the query. Exported for tests that feed it hostile input.
func (q SeriesQuery) Flux(bucket string) (string, error) {
	if err := q.Validate(); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "from(bucket: %s)\n", fluxString(bucket))
	fmt.Fprintf(&b, "  |> range(start: %s, stop: %s)\n", fluxTime(q.Start), fluxTime(q.Stop))
	fmt.Fprintf(&b, "  |> filter(fn: (r) => r.%s == %s and r.%s == %s)\n", OrgTag, fluxString(q.OrgID), AssetTag, fluxString(q.AssetID))
	fmt.Fprintf(&b, "  |> filter(fn: (r) => r._measurement == %s and r._field == %s)\n", fluxString(q.Measurement), fluxString(q.Field))
	if q.Every > 0 {
		fmt.Fprintf(&b, "  |> aggregateWindow(every: %ds, fn: %s, createEmpty: false)\n", int64(q.Every/time.Second), q.Fn)
	}
	return b.String(), nil
}

// Point is one value at one time.
type Point struct {
	Time  time.Time `json:"time"`
	Value any       `json:"value"`
}

// Series is the points of one series: a measurement, a field and the
// series' own tags (without the server's tenant tags).
type Series struct {
	AssetID     string            `json:"-"` // set by LatestMany
	Measurement string            `json:"measurement"`
	Field       string            `json:"field"`
	Tags        map[string]string `json:"tags"`
	Points      []Point           `json:"points"`
}

// internalColumns are Flux columns that are not series tags.
var internalColumns = map[string]bool{
	"result": true, "table": true, "_start": true, "_stop": true, "_time": true, "_value": true,
	"_field": true, "_measurement": true, OrgTag: true, AssetTag: true, OUTag: true,
}

// Series runs q and groups the rows by series.
func (i *Influx) Series(ctx context.Context, q SeriesQuery) ([]Series, error) {
	flux, err := q.Flux(i.bucket)
	if err != nil {
		return nil, err
	}
	return i.run(ctx, flux)
}

// Latest returns the newest value of every field of every series of an
// asset within lookback.
func (i *Influx) Latest(ctx context.Context, orgID, assetID string, lookback time.Duration) ([]Series, error) {
	if !idRE.MatchString(orgID) || !idRE.MatchString(assetID) {
		return nil, errors.New("invalid organization or asset id")
	}
	flux := fmt.Sprintf("from(bucket: %s)\n  |> range(start: -%ds)\n  |> filter(fn: (r) => r.%s == %s and r.%s == %s)\n  |> last()\n",
		fluxString(i.bucket), int64(lookback/time.Second), OrgTag, fluxString(orgID), AssetTag, fluxString(assetID))
	return i.run(ctx, flux)
}

// AssetRef names an asset and the organization it belongs to; reads
// filter on both tags.
type AssetRef struct{ OrgID, AssetID string }

// latestChunk bounds the assets of one Flux query, so that the filter
// stays short enough to be pushed down to the storage engine.
const latestChunk = 100

// LatestMany is Latest for many assets: the newest value of every field
// of every series of each asset within lookback, grouped by asset id.
func (i *Influx) LatestMany(ctx context.Context, refs []AssetRef, lookback time.Duration) (map[string][]Series, error) {
	out := map[string][]Series{}
	for c := range slices.Chunk(refs, latestChunk) {
		byOrg := map[string][]string{}
		var orgs []string
		for _, r := range c {
			if !idRE.MatchString(r.OrgID) || !idRE.MatchString(r.AssetID) {
				return nil, errors.New("invalid organization or asset id")
			}
			if byOrg[r.OrgID] == nil {
				orgs = append(orgs, r.OrgID)
			}
			byOrg[r.OrgID] = append(byOrg[r.OrgID], r.AssetID)
		}
		var pred []string
		for _, o := range orgs {
			var as []string
			for _, id := range byOrg[o] {
				as = append(as, "r."+AssetTag+" == "+fluxString(id))
			}
			pred = append(pred, fmt.Sprintf("(r.%s == %s and (%s))", OrgTag, fluxString(o), strings.Join(as, " or ")))
		}
		flux := fmt.Sprintf("from(bucket: %s)\n  |> range(start: -%ds)\n  |> filter(fn: (r) => %s)\n  |> last()\n",
			fluxString(i.bucket), int64(lookback/time.Second), strings.Join(pred, " or "))
		series, err := i.run(ctx, flux)
		if err != nil {
			return nil, err
		}
		for _, s := range series {
			out[s.AssetID] = append(out[s.AssetID], s)
		}
	}
	return out, nil
}

func (i *Influx) run(ctx context.Context, flux string) ([]Series, error) {
	res, err := i.query.Query(ctx, flux)
	if err != nil {
		return nil, fmt.Errorf("querying InfluxDB: %w: %w", ErrUnavailable, err)
	}
	defer res.Close()
	byKey := map[string]*Series{}
	var order []string
	for res.Next() {
		r := res.Record()
		tags := map[string]string{}
		for k, v := range r.Values() {
			if s, ok := v.(string); ok && !internalColumns[k] {
				tags[k] = s
			}
		}
		asset, _ := r.ValueByKey(AssetTag).(string)
		key := asset + " " + groupKey(r.Measurement(), tags) + " " + r.Field()
		s := byKey[key]
		if s == nil {
			s = &Series{AssetID: asset, Measurement: r.Measurement(), Field: r.Field(), Tags: tags}
			byKey[key] = s
			order = append(order, key)
		}
		s.Points = append(s.Points, Point{Time: r.Time(), Value: r.Value()})
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("reading InfluxDB answer: %w", err)
	}
	sort.Strings(order)
	out := make([]Series, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	return out, nil
}
