package tsdb

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/kpilot/kpilot/internal/kpi"
)

// latestChunk bounds the assets of one statement, so that the asset
// condition stays short enough for the storage engine's index.
const latestChunk = 100

// latestFanOut bounds the concurrent reads of fields missing from a
// series' newest row.
const latestFanOut = 4

// Latest returns the newest value of every field of every series of an
// asset within lookback, each with its own time.
func (i *Influx) Latest(ctx context.Context, ref AssetRef, lookback time.Duration) ([]Series, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	return i.latest(ctx, "latest values of asset "+ref.Series, []AssetRef{ref}, lookback)
}

// LatestMany is Latest for many assets: the newest value of every field
// of every series of each asset within lookback, grouped by asset id.
func (i *Influx) LatestMany(ctx context.Context, refs []AssetRef, lookback time.Duration) (map[string][]Series, error) {
	for _, r := range refs {
		if err := r.Validate(); err != nil {
			return nil, err
		}
	}
	out := map[string][]Series{}
	for c := range slices.Chunk(refs, latestChunk) {
		purpose := fmt.Sprintf("latest values of %d assets", len(c))
		if len(c) == 1 {
			purpose = "latest values of asset " + c[0].Series
		}
		series, err := i.latest(ctx, purpose, c, lookback)
		if err != nil {
			return nil, err
		}
		for _, s := range series {
			out[s.AssetID] = append(out[s.AssetID], s)
		}
	}
	return out, nil
}

// latest reads the newest row of every series of refs (one statement
// for all measurements), then, for each field null in some series'
// newest row, that field's last value with its own time: InfluxQL's
// last() keeps a point's time only when it is the statement's one
// selector. Most series write all their fields at once, so the second
// step is rare.
func (i *Influx) latest(ctx context.Context, purpose string, refs []AssetRef, lookback time.Duration) ([]Series, error) {
	secs := int64(lookback / time.Second)
	qs, err := i.InfluxQL(ctx, purpose, latestStatement(refs, secs))
	if err != nil {
		return nil, err
	}
	set := newSeriesSet(refs)
	set.add(qs, "", false)
	missing := missingFields(qs, set.ids)
	if len(missing) == 0 {
		return set.sorted(), nil
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  = make([]error, len(missing))
		slots = make(chan struct{}, latestFanOut)
	)
	for k, m := range missing {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			qs, err := i.InfluxQL(ctx, purpose, lastStatement(m.measurement, m.field, m.refs, secs))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[k] = err
				return
			}
			// Only the series that lacked the field: the statement
			// reads every series of the measurement of these assets.
			set.add(qs, "", true)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return set.sorted(), nil
}

// latestStatement reads the newest row of every series of refs within
// the last secs seconds.
func latestStatement(refs []AssetRef, secs int64) string {
	return fmt.Sprintf("SELECT * FROM /.*/ WHERE %s AND time >= now() - %ds AND time <= now() GROUP BY * ORDER BY time DESC LIMIT 1",
		assetFilter(refs), secs)
}

// lastStatement reads the last value of one field of every series of
// measurement m of refs within the last secs seconds, with its time.
func lastStatement(m, field string, refs []AssetRef, secs int64) string {
	return fmt.Sprintf("SELECT last(%s) AS %[1]s FROM %s WHERE %s AND time >= now() - %ds AND time <= now() GROUP BY *",
		quoteIdent(field), quoteIdent(m), assetFilter(refs), secs)
}

// missingField is a field null in the newest row of some series of
// measurement of refs.
type missingField struct {
	measurement, field string
	refs               []AssetRef
}

// missingFields lists, per measurement and field, the assets whose
// newest row of some series lacks the field. A null column may just be
// another series' field: the last() read then finds nothing. Names that
// kpi.ValidName refuses (not written by kpilot) are not read further.
func missingFields(qs []QLSeries, ids map[string]string) []missingField {
	type key struct{ m, f string }
	byKey := map[key]map[string]bool{}
	for _, q := range qs {
		series := q.Tags[AssetTag]
		if _, ok := ids[series]; !ok || len(q.Values) == 0 || !kpi.ValidName(q.Measurement) {
			continue
		}
		for c, f := range q.Columns {
			if f == "time" || q.Values[0][c] != nil || !kpi.ValidName(f) {
				continue
			}
			k := key{q.Measurement, f}
			if byKey[k] == nil {
				byKey[k] = map[string]bool{}
			}
			byKey[k][series] = true
		}
	}
	out := make([]missingField, 0, len(byKey))
	for k, assets := range byKey {
		m := missingField{measurement: k.m, field: k.f}
		for _, s := range slices.Sorted(maps.Keys(assets)) {
			m.refs = append(m.refs, AssetRef{ID: ids[s], Series: s})
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b missingField) int {
		return cmp.Or(cmp.Compare(a.measurement, b.measurement), cmp.Compare(a.field, b.field))
	})
	return out
}
