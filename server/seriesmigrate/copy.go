package seriesmigrate

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/tsdb"
)

// Chunk spans: the first read covers firstSpan; later ones adapt to the
// density met, within these bounds.
const (
	firstSpan = time.Hour
	minSpan   = time.Second
	maxSpan   = 366 * 24 * time.Hour
)

// migrator copies one asset's old series at a time.
type migrator struct {
	db Influx
	o  Options
}

// result is what one asset's copy did.
type result struct {
	series  int
	points  int64
	deleted bool
}

// asset copies (write) the old series of asset id into series seriesID,
// or only counts them; with verify it checks the copy and then drops the
// old series.
func (m *migrator) asset(ctx context.Context, id, seriesID string, write, verify bool) (result, error) {
	var r result
	ms, err := m.measurements(ctx, id)
	if err != nil {
		return r, err
	}
	for _, meas := range ms {
		c := &copier{m: m, assetID: id, seriesID: seriesID, meas: meas, write: write, verify: verify}
		if err := c.run(ctx); err != nil {
			return r, fmt.Errorf("measurement %s: %w", meas, err)
		}
		r.series += len(c.series)
		r.points += c.points
	}
	if !verify {
		return r, nil
	}
	// Every measurement was verified: only now drop anything.
	for _, meas := range ms {
		q := "DROP SERIES FROM " + quoteIdent(meas) + " WHERE " + quoteIdent(tsdb.LegacyAssetTag) + " = " + quoteString(id)
		if _, err := m.db.InfluxQL(ctx, "migrate-series: dropping verified old series", q); err != nil {
			return r, fmt.Errorf("measurement %s: dropping the old series (verified copied): %w", meas, err)
		}
	}
	r.deleted = true
	return r, nil
}

// measurements lists the measurements holding old series of asset id.
func (m *migrator) measurements(ctx context.Context, id string) ([]string, error) {
	res, err := m.db.InfluxQL(ctx, "migrate-series: listing measurements",
		"SHOW MEASUREMENTS WHERE "+quoteIdent(tsdb.LegacyAssetTag)+" = "+quoteString(id))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range res {
		for _, row := range s.Values {
			if len(row) > 0 {
				if name, ok := row[0].(string); ok {
					out = append(out, name)
				}
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// copier copies one measurement of one asset.
type copier struct {
	m                       *migrator
	assetID, seriesID, meas string
	write, verify           bool
	types                   fieldTypes
	series                  map[string]struct{} // new series keys met
	points                  int64
	values                  map[string]int64 // non-null values read, per field
	where                   string           // selects the old series
	key, batch, entry       []byte           // reused buffers
	batchLines              int
	expect                  map[string]struct{} // a chunk's values, as verify looks for them
	chunkFrom, chunkTo      int64
}

func (c *copier) run(ctx context.Context) error {
	c.where = quoteIdent(tsdb.LegacyAssetTag) + " = " + quoteString(c.assetID)
	c.series = map[string]struct{}{}
	c.values = map[string]int64{}
	var err error
	if c.types, err = c.fieldTypes(ctx); err != nil {
		return err
	}
	first, ok, err := c.edge(ctx, "ASC")
	if err != nil || !ok {
		return err
	}
	last, _, err := c.edge(ctx, "DESC")
	if err != nil {
		return err
	}
	span := firstSpan
	for from := first; from <= last; {
		to := from + int64(span)
		if to > last || to < from { // past the last point, or overflow
			to = last + 1
		}
		n, err := c.chunk(ctx, from, to)
		if err != nil {
			return fmt.Errorf("chunk %s to %s: %w", fmtNS(from), fmtNS(to), err)
		}
		span = nextSpan(span, n, c.m.o.ChunkPoints)
		from = to
	}
	if c.verify {
		return c.verifyCounts(ctx)
	}
	return nil
}

// nextSpan adapts a chunk's time span to aim at target points, changing
// it at most fourfold at a time.
func nextSpan(span time.Duration, got, target int) time.Duration {
	next := span * 4
	if got > 0 {
		next = time.Duration(float64(span) * float64(target) / float64(got))
	}
	return min(max(next, span/4, minSpan), span*4, maxSpan)
}

// fieldTypes reads the measurement's field types.
func (c *copier) fieldTypes(ctx context.Context) (fieldTypes, error) {
	res, err := c.m.db.InfluxQL(ctx, "migrate-series: reading field types", "SHOW FIELD KEYS FROM "+quoteIdent(c.meas))
	if err != nil {
		return nil, err
	}
	types := fieldTypes{}
	for _, s := range res {
		ki, ti := columnIndex(s.Columns, "fieldKey"), columnIndex(s.Columns, "fieldType")
		for _, row := range s.Values {
			if ki < 0 || ti < 0 || ki >= len(row) || ti >= len(row) {
				continue
			}
			k, _ := row[ki].(string)
			t, _ := row[ti].(string)
			if prev, seen := types[k]; seen && prev != t {
				t = "" // two types: keep each value's own
			}
			types[k] = t
		}
	}
	return types, nil
}

// edge returns the time of the oldest (ASC) or newest (DESC) old point.
func (c *copier) edge(ctx context.Context, order string) (int64, bool, error) {
	q := "SELECT * FROM " + quoteIdent(c.meas) + " WHERE " + c.where + " ORDER BY time " + order + " LIMIT 1"
	res, err := c.m.db.InfluxQL(ctx, "migrate-series: finding the old points' time range", q)
	if err != nil {
		return 0, false, err
	}
	for _, s := range res {
		if len(s.Values) > 0 {
			ns, err := timeAt(s.Values[0], columnIndex(s.Columns, "time"))
			return ns, err == nil, err
		}
	}
	return 0, false, nil
}

// chunk copies the old points in [from, to) and returns how many it read.
func (c *copier) chunk(ctx context.Context, from, to int64) (int, error) {
	c.chunkFrom, c.chunkTo = from, to
	res, err := c.m.db.InfluxQL(ctx, "migrate-series: reading old points", c.selectText(c.where, from, to))
	if err != nil {
		return 0, err
	}
	if c.verify {
		c.expect = map[string]struct{}{}
	}
	n := 0
	for _, s := range res {
		if c.key, err = appendSeriesKey(c.key[:0], c.meas, s.Tags, c.seriesID); err != nil {
			return n, err
		}
		if _, ok := c.series[string(c.key)]; !ok {
			c.series[string(c.key)] = struct{}{}
		}
		ti := columnIndex(s.Columns, "time")
		for _, row := range s.Values {
			if err := c.point(ctx, s.Columns, row, ti); err != nil {
				return n, err
			}
			n++
		}
	}
	if err := c.flush(ctx); err != nil {
		return n, err
	}
	if c.verify {
		return n, c.verifyChunk(ctx)
	}
	return n, nil
}

func (c *copier) selectText(where string, from, to int64) string {
	return "SELECT * FROM " + quoteIdent(c.meas) + " WHERE " + where +
		" AND time >= " + timeLiteral(from) + " AND time < " + timeLiteral(to) + " GROUP BY *"
}

// point adds one old point (a row of the series whose key is in c.key)
// to the batch, counting it and what verify will look for.
func (c *copier) point(ctx context.Context, cols []string, row []any, ti int) error {
	ns, err := timeAt(row, ti)
	if err != nil {
		return err
	}
	line, n, err := appendFields(append(c.batch, c.key...), cols, row, c.types)
	if err != nil {
		return fmt.Errorf("point at %s: %w", fmtNS(ns), err)
	}
	if n == 0 {
		return nil // no field: nothing was stored at this time
	}
	c.batch = append(append(line, ' '), strconv.AppendInt(nil, ns, 10)...)
	c.batch = append(c.batch, '\n')
	c.batchLines++
	c.points++
	for j, col := range cols {
		if j == ti || j >= len(row) || row[j] == nil {
			continue
		}
		c.values[col]++
		if c.verify {
			if err := c.expectValue(col, row[j], ns); err != nil {
				return err
			}
		}
	}
	if c.batchLines >= c.m.o.BatchLines {
		return c.flush(ctx)
	}
	return nil
}

// flush writes the batch (unless only counting).
func (c *copier) flush(ctx context.Context) error {
	defer func() { c.batch, c.batchLines = c.batch[:0], 0 }()
	if !c.write || c.batchLines == 0 {
		return nil
	}
	return c.m.db.Write(ctx, c.batch)
}

// valueEntry is how verify names one value: the new series key (in
// c.key), the field with its value as written, and the time.
func (c *copier) valueEntry(col string, v any, ns int64) ([]byte, error) {
	e, _, err := appendFields(append(c.entry[:0], c.key...), []string{col}, []any{v}, c.types)
	if err != nil {
		return nil, err
	}
	c.entry = strconv.AppendInt(append(e, ' '), ns, 10)
	return c.entry, nil
}

func (c *copier) expectValue(col string, v any, ns int64) error {
	e, err := c.valueEntry(col, v, ns)
	if err != nil {
		return err
	}
	c.expect[string(e)] = struct{}{}
	return nil
}

// verifyChunk reads the new series back for the chunk's span and checks
// that every old value of the chunk is there, same field, type, value and
// time. New points the server wrote meanwhile may be there too.
func (c *copier) verifyChunk(ctx context.Context) error {
	where := quoteIdent(tsdb.AssetTag) + " = " + quoteString(c.seriesID)
	res, err := c.m.db.InfluxQL(ctx, "migrate-series: verifying the copy", c.selectText(where, c.chunkFrom, c.chunkTo))
	if err != nil {
		return err
	}
	for _, s := range res {
		if c.key, err = appendSeriesKey(c.key[:0], c.meas, s.Tags, c.seriesID); err != nil {
			return err
		}
		ti := columnIndex(s.Columns, "time")
		for _, row := range s.Values {
			ns, err := timeAt(row, ti)
			if err != nil {
				return err
			}
			for j, col := range s.Columns {
				if j == ti || j >= len(row) || row[j] == nil {
					continue
				}
				e, err := c.valueEntry(col, row[j], ns)
				if err != nil {
					return err
				}
				delete(c.expect, string(e))
			}
		}
	}
	if len(c.expect) > 0 {
		missing := slices.Sorted(maps.Keys(c.expect))
		return fmt.Errorf("verifying the copy: %d old values not found in the new series, e.g. %s", len(missing), missing[0])
	}
	return nil
}

// verifyCounts checks that InfluxDB counts as many old values per field
// as the copy read: no chunk came back short.
func (c *copier) verifyCounts(ctx context.Context) error {
	res, err := c.m.db.InfluxQL(ctx, "migrate-series: counting old values",
		"SELECT COUNT(*) FROM "+quoteIdent(c.meas)+" WHERE "+c.where)
	if err != nil {
		return err
	}
	counted := map[string]int64{}
	for _, s := range res {
		for _, row := range s.Values {
			for j, col := range s.Columns {
				f, ok := strings.CutPrefix(col, "count_")
				if !ok || j >= len(row) {
					continue
				}
				switch n := row[j].(type) {
				case int64:
					counted[f] += n
				case float64:
					counted[f] += int64(n)
				}
			}
		}
	}
	for f, n := range counted {
		if n != c.values[f] {
			return fmt.Errorf("verifying the copy: InfluxDB counts %d old values of field %s, the copy read %d", n, f, c.values[f])
		}
	}
	for f, n := range c.values {
		if _, ok := counted[f]; !ok && n > 0 {
			return fmt.Errorf("verifying the copy: InfluxDB counts no old values of field %s, the copy read %d", f, n)
		}
	}
	return nil
}

// fmtNS formats a time in nanoseconds for messages.
func fmtNS(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }

func sortedKeys(m map[string]struct{}) []string { return slices.Sorted(maps.Keys(m)) }
