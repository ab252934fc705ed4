package tsdb

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kpilot/kpilot/internal/kpi"
)

// latestChunk bounds the assets of one statement, so that the asset
// condition stays short enough for the storage engine's index.
const latestChunk = 100

// latestFanOut bounds the concurrent statements of one read.
const latestFanOut = 4

// Latest returns the newest value of every field of every series of an
// asset within lookback, each with its own time.
func (i *Influx) Latest(ctx context.Context, ref AssetRef, lookback time.Duration) ([]Series, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	return i.latest(ctx, "latest values of asset "+ref.ID, []AssetRef{ref}, lookback)
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
			purpose = "latest values of asset " + c[0].ID
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

// latest reads, at once, the newest row of every series of refs and
// the last value of each of their fields (two statements over all
// measurements). A field whose last value is older than its series'
// newest row is then read alone, for its time: InfluxQL's last() keeps
// a point's time only when it is the statement's one selector. Most
// series write all their fields at once, so that third step is rare.
func (i *Influx) latest(ctx context.Context, purpose string, refs []AssetRef, lookback time.Duration) ([]Series, error) {
	secs := int64(lookback / time.Second)
	var rows, lasts []QLSeries
	err := i.concurrently(ctx, purpose, []string{latestStatement(refs, secs), lastsStatement(refs, secs)},
		func(k int, qs []QLSeries) {
			if k == 0 {
				rows = qs
			} else {
				lasts = qs
			}
		})
	if err != nil {
		return nil, err
	}
	set := newSeriesSet(refs)
	set.add(rows, "", false)
	missing := missingFields(rows, lasts, set.ids)
	if len(missing) == 0 {
		return set.sorted(), nil
	}
	texts := make([]string, len(missing))
	for k, m := range missing {
		texts[k] = lastStatement(m.measurement, m.field, m.refs, secs)
	}
	err = i.concurrently(ctx, purpose, texts, func(_ int, qs []QLSeries) {
		// Only the series that lacked the field: the statement reads
		// every series of the measurement of these assets.
		set.add(qs, "", true)
	})
	if err != nil {
		return nil, err
	}
	return set.sorted(), nil
}

// concurrently runs texts, at most latestFanOut at once, and hands each
// answer to take (one call at a time) with its index.
func (i *Influx) concurrently(ctx context.Context, purpose string, texts []string, take func(k int, qs []QLSeries)) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  = make([]error, len(texts))
		slots = make(chan struct{}, latestFanOut)
	)
	for k, text := range texts {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			qs, err := i.InfluxQL(ctx, purpose, text)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[k] = err
				return
			}
			take(k, qs)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// latestStatement reads the newest row of every series of refs within
// the last secs seconds.
func latestStatement(refs []AssetRef, secs int64) string {
	return fmt.Sprintf("SELECT * FROM /.*/ WHERE %s AND time >= now() - %ds AND time <= now() GROUP BY * ORDER BY time DESC LIMIT 1",
		assetFilter(refs), secs)
}

// lastsStatement reads the last value of every field of every series of
// refs within the last secs seconds, in columns last_<field>, without
// their times.
func lastsStatement(refs []AssetRef, secs int64) string {
	return fmt.Sprintf("SELECT last(*) FROM /.*/ WHERE %s AND time >= now() - %ds AND time <= now() GROUP BY *",
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

// missingFields lists, per measurement and field, the assets of which
// some series has a last value of the field (in lasts) but not in its
// newest row (in rows). A statement over several measurements answers
// with the columns of all of them, so a null in rows alone says
// nothing. Names that kpi.ValidName refuses (not written by kpilot) are
// not read further.
func missingFields(rows, lasts []QLSeries, ids map[string]string) []missingField {
	newest := make(map[string]QLSeries, len(rows))
	for _, q := range rows {
		newest[groupKey(q.Measurement, q.Tags)] = q
	}
	type key struct{ m, f string }
	byKey := map[key]map[string]bool{}
	for _, l := range lasts {
		series := l.Tags[AssetTag]
		row, ok := newest[groupKey(l.Measurement, l.Tags)]
		if _, known := ids[series]; !known || !ok || len(l.Values) == 0 || len(row.Values) == 0 || !kpi.ValidName(l.Measurement) {
			continue
		}
		for c, col := range l.Columns {
			f, ok := strings.CutPrefix(col, "last_")
			if !ok || l.Values[0][c] == nil || !kpi.ValidName(f) {
				continue
			}
			if k := slices.Index(row.Columns, f); k >= 0 && row.Values[0][k] != nil {
				continue
			}
			k := key{l.Measurement, f}
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
