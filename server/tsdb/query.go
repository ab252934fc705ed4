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
	"github.com/kpilot/kpilot/server/store"
)

// Aggregates allowed in SeriesQuery.Fn.
var Aggregates = map[string]bool{"mean": true, "max": true, "min": true, "last": true, "sum": true, "count": true}

// seriesRE matches a series id: store.SeriesID's form.
var seriesRE = regexp.MustCompile(`^[1-9][0-9]{0,17}\.[1-9][0-9]{0,17}$`)

// AssetRef names an asset for a read: its id, which results carry, and
// its series id, the AssetTag value its points carry.
type AssetRef struct{ ID, Series string }

// Validate checks the series id, which goes into query text.
func (r AssetRef) Validate() error {
	if !seriesRE.MatchString(r.Series) {
		return fmt.Errorf("invalid series id %q of asset %q", r.Series, r.ID)
	}
	return nil
}

// SeriesQuery asks for one field of one measurement of one asset.
type SeriesQuery struct {
	Asset       AssetRef
	Measurement string
	Field       string
	Start, Stop time.Time
	Every       time.Duration // aggregation window; 0 returns raw points
	Fn          string        // aggregate, with Every
}

// Validate checks every part that goes into Flux text.
func (q SeriesQuery) Validate() error {
	var errs []error
	if err := q.Asset.Validate(); err != nil {
		errs = append(errs, err)
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
	fmt.Fprintf(&b, "  |> filter(fn: (r) => r.%s == %s)\n", AssetTag, fluxString(q.Asset.Series))
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
	AssetID     string            `json:"-"` // the AssetRef's ID
	Measurement string            `json:"measurement"`
	Field       string            `json:"field"`
	Tags        map[string]string `json:"tags"`
	Points      []Point           `json:"points"`
}

// internalColumns are Flux columns that are not series tags.
var internalColumns = map[string]bool{
	"result": true, "table": true, "_start": true, "_stop": true, "_time": true, "_value": true,
	"_field": true, "_measurement": true, AssetTag: true,
}

// Series runs q and groups the rows by series.
func (i *Influx) Series(ctx context.Context, q SeriesQuery) ([]Series, error) {
	flux, err := q.Flux(i.bucket)
	if err != nil {
		return nil, err
	}
	return i.run(ctx, flux, []AssetRef{q.Asset})
}

// Latest returns the newest value of every field of every series of an
// asset within lookback.
func (i *Influx) Latest(ctx context.Context, ref AssetRef, lookback time.Duration) ([]Series, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	flux := fmt.Sprintf("from(bucket: %s)\n  |> range(start: -%ds)\n  |> filter(fn: (r) => r.%s == %s)\n  |> last()\n",
		fluxString(i.bucket), int64(lookback/time.Second), AssetTag, fluxString(ref.Series))
	return i.run(ctx, flux, []AssetRef{ref})
}

// latestChunk bounds the assets of one Flux query, so that the filter
// stays short enough to be pushed down to the storage engine.
const latestChunk = 100

// LatestMany is Latest for many assets: the newest value of every field
// of every series of each asset within lookback, grouped by asset id.
func (i *Influx) LatestMany(ctx context.Context, refs []AssetRef, lookback time.Duration) (map[string][]Series, error) {
	out := map[string][]Series{}
	for c := range slices.Chunk(refs, latestChunk) {
		pred := make([]string, len(c))
		for k, r := range c {
			if err := r.Validate(); err != nil {
				return nil, err
			}
			pred[k] = "r." + AssetTag + " == " + fluxString(r.Series)
		}
		flux := fmt.Sprintf("from(bucket: %s)\n  |> range(start: -%ds)\n  |> filter(fn: (r) => %s)\n  |> last()\n",
			fluxString(i.bucket), int64(lookback/time.Second), strings.Join(pred, " or "))
		series, err := i.run(ctx, flux, c)
		if err != nil {
			return nil, err
		}
		for _, s := range series {
			out[s.AssetID] = append(out[s.AssetID], s)
		}
	}
	return out, nil
}

// run runs flux and groups the rows by series. Series of assets not in
// refs are left out; the others carry their asset's ID.
func (i *Influx) run(ctx context.Context, flux string, refs []AssetRef) ([]Series, error) {
	ids := make(map[string]string, len(refs))
	for _, r := range refs {
		ids[r.Series] = r.ID
	}
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
		series, _ := r.ValueByKey(AssetTag).(string)
		asset, ok := ids[series]
		if !ok {
			continue
		}
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

// Ref is the AssetRef of a.
func Ref(a store.Asset) AssetRef { return AssetRef{ID: a.ID, Series: a.SeriesID} }
