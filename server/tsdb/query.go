package tsdb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
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

// Validate checks every part that goes into query text.
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

// statement renders q as one InfluxQL statement. Every name in it is
// validated and quoted, every value an escaped literal.
func (q SeriesQuery) statement() (string, error) {
	if err := q.Validate(); err != nil {
		return "", err
	}
	return selectStatement(q.Measurement, []string{q.Field}, []AssetRef{q.Asset}, q.Start, q.Stop, q.Every, q.Fn), nil
}

// selectStatement reads fields of measurement m of the assets in
// [start, stop): raw points, or with every an aggregate per window
// (stamped with the window's start, as InfluxQL and Grafana do), each
// column named for its field. Names must be valid (kpi.ValidName) and
// refs validated.
func selectStatement(m string, fields []string, refs []AssetRef, start, stop time.Time, every time.Duration, fn string) string {
	cols := make([]string, len(fields))
	for k, f := range fields {
		if every > 0 {
			cols[k] = fn + "(" + quoteIdent(f) + ") AS " + quoteIdent(f)
		} else {
			// ::field: a tag of the same name is never read instead.
			cols[k] = quoteIdent(f) + "::field"
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT %s FROM %s WHERE %s AND time >= %s AND time < %s GROUP BY ",
		strings.Join(cols, ", "), quoteIdent(m), assetFilter(refs), qlTime(start), qlTime(stop))
	if every > 0 {
		fmt.Fprintf(&b, "time(%ds), * fill(none)", int64(every/time.Second))
	} else {
		b.WriteString("*")
	}
	return b.String()
}

// assetFilter is the condition that a point is one of refs'. refs must
// be validated.
func assetFilter(refs []AssetRef) string {
	parts := make([]string, len(refs))
	for k, r := range refs {
		parts[k] = quoteIdent(AssetTag) + " = " + quoteString(r.Series)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "(" + strings.Join(parts, " OR ") + ")"
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

// Series runs q and groups the points by series.
func (i *Influx) Series(ctx context.Context, q SeriesQuery) ([]Series, error) {
	text, err := q.statement()
	if err != nil {
		return nil, err
	}
	purpose := fmt.Sprintf("series %s.%s of asset %s", q.Measurement, q.Field, q.Asset.ID)
	qs, err := i.InfluxQL(ctx, purpose, text)
	if err != nil {
		return nil, err
	}
	set := newSeriesSet([]AssetRef{q.Asset})
	set.add(qs, q.Fn, false)
	return set.sorted(), nil
}

// seriesSet gathers the series of InfluxQL answers, one Series per
// asset, measurement, tags and field.
type seriesSet struct {
	ids   map[string]string // series id → asset id
	byKey map[string]*Series
}

func newSeriesSet(refs []AssetRef) *seriesSet {
	ids := make(map[string]string, len(refs))
	for _, r := range refs {
		ids[r.Series] = r.ID
	}
	return &seriesSet{ids: ids, byKey: map[string]*Series{}}
}

// add takes the series of an answer grouped by every tag: each column
// but time is a field, each non-null value a point. Series of assets
// not in the set's refs are left out. fn is the aggregate the answer
// holds, if any: mean is always a float, which JSON cannot tell from an
// integer when it has no fraction. With onlyNew, points of series the
// set already holds are left out (add then takes answers of at most one
// row per series).
func (s *seriesSet) add(qs []QLSeries, fn string, onlyNew bool) {
	for _, q := range qs {
		asset, ok := s.ids[q.Tags[AssetTag]]
		if !ok {
			continue
		}
		tags := make(map[string]string, len(q.Tags))
		for k, v := range q.Tags {
			// GROUP BY * names every tag key of the measurement; a
			// series without a tag has it empty (InfluxDB stores no
			// empty tag values).
			if k != AssetTag && v != "" {
				tags[k] = v
			}
		}
		group := groupKey(q.Measurement, tags)
		tcol := slices.Index(q.Columns, "time")
		for c, field := range q.Columns {
			if field == "time" {
				continue
			}
			for _, row := range q.Values {
				v := row[c]
				if v == nil {
					continue
				}
				var t time.Time
				if tcol >= 0 {
					t, _ = row[tcol].(time.Time)
				}
				if n, ok := v.(int64); ok && fn == "mean" {
					v = float64(n)
				}
				s.point(asset, q.Measurement, field, tags, group, Point{Time: t, Value: v}, onlyNew)
			}
		}
	}
}

func (s *seriesSet) point(asset, measurement, field string, tags map[string]string, group string, p Point, onlyNew bool) {
	key := asset + " " + group + " " + field
	sr := s.byKey[key]
	if sr != nil && onlyNew {
		return
	}
	if sr == nil {
		sr = &Series{AssetID: asset, Measurement: measurement, Field: field, Tags: tags}
		s.byKey[key] = sr
	}
	sr.Points = append(sr.Points, p)
}

// sorted is the set's series by asset id, series and field.
func (s *seriesSet) sorted() []Series {
	keys := slices.Sorted(maps.Keys(s.byKey))
	out := make([]Series, 0, len(keys))
	for _, k := range keys {
		out = append(out, *s.byKey[k])
	}
	return out
}

// Ref is the AssetRef of a.
func Ref(a store.Asset) AssetRef { return AssetRef{ID: a.ID, Series: a.SeriesID} }
