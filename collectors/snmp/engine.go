package snmp

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/kpilot/kpilot/internal/kpi"
)

// Standard uptime OIDs. hrSystemUptime is the host's uptime; sysUpTime is
// the SNMP agent's, which also resets when only the agent restarts, so the
// host's wins for reboot detection where both exist.
const (
	oidSysUpTime      = ".1.3.6.1.2.1.1.3.0"
	oidSysObjectID    = ".1.3.6.1.2.1.1.2.0"
	oidSysDescr       = ".1.3.6.1.2.1.1.1.0"
	oidHrSystemUptime = ".1.3.6.1.2.1.25.1.1.0"
)

// cell is one value read, with the time its answer arrived (rates use it).
type cell struct {
	v  gosnmp.SnmpPDU
	at time.Time
	fb bool // read from the column's fallback OID
}

// reading holds what one run read.
type reading struct {
	scalars  []cell
	hasScal  []bool
	read     []bool    // scalars asked for this run
	cols     []*column // walked columns by plan col id; nil if not walked
	colsRead []bool
	rowCache map[*cgroup][]string
	fromRows map[*FromRow]string // the row each from_row selects, "" for none
}

func newReading(p *plan) *reading {
	return &reading{
		scalars: make([]cell, len(p.scalars)), hasScal: make([]bool, len(p.scalars)),
		read: make([]bool, len(p.scalars)),
		cols: make([]*column, len(p.cols)), colsRead: make([]bool, len(p.cols)),
	}
}

// column is one walked column: row indexes and cells in walk order. The
// columns of a table usually have the same rows in the same order, so a
// cell is looked up by its row's position first; the index by row is
// built only for a column where that fails.
type column struct {
	rows  []string
	cells []cell
	byRow map[string]int
}

func newColumn(n int) *column {
	return &column{rows: make([]string, 0, n), cells: make([]cell, 0, n)}
}

// kept readies the column to be kept between runs (a lookup) and returns
// it: its octet strings are copied, in place, out of the response packets
// they point into, which gosnmp allocates whole for every answer, so that
// a kept column does not keep the packets.
func (c *column) kept() *column {
	if c == nil {
		return nil
	}
	for i := range c.cells {
		if b, ok := c.cells[i].v.Value.([]byte); ok {
			c.cells[i].v.Value = bytes.Clone(b)
		}
	}
	return c
}

func (c *column) len() int {
	if c == nil {
		return 0
	}
	return len(c.rows)
}

// get returns the cell of row idx; pos is where the row is expected (its
// position in the group's rows), or -1.
func (c *column) get(idx string, pos int) (cell, bool) {
	if c == nil {
		return cell{}, false
	}
	if pos >= 0 && pos < len(c.rows) && c.rows[pos] == idx {
		return c.cells[pos], true
	}
	if c.byRow == nil {
		c.byRow = make(map[string]int, len(c.rows))
		for i, r := range c.rows {
			c.byRow[r] = i
		}
	}
	i, ok := c.byRow[idx]
	if !ok {
		return cell{}, false
	}
	return c.cells[i], true
}

// state is what a target's collector keeps between runs.
type state struct {
	plan         *plan
	lastRefresh  time.Time
	forceRefresh bool
	emptyScal    []bool                      // by plan scalar: no value at the last refresh
	emptyCol     []bool                      // by plan col: no rows at the last refresh
	cache        map[int]*column             // lookup columns, by plan col id
	knownRows    map[int]map[string]bool     // group -> row indexes seen at the last refresh
	counters     map[counterKey]counterState // last raw value of every counter
	epoch        time.Time                   // counterState.at counts from it
	rowsSeen     map[int]int                 // rows of each column last time, to size maps
	uptime       uptimeState
	row          kpi.Row // reused for every row build emits
}

type counterKey struct {
	col   int // plan col id; scalars are -1-id
	index string
}

// counterState is 16 bytes without pointers: at 1,000 devices there are
// tens of thousands, which the garbage collector then does not scan.
type counterState struct {
	v  uint64
	at time.Duration // since state.epoch (monotonic, as the readings' times)
}

type uptimeState struct {
	oid   string
	ticks uint64
	at    time.Time
}

func (st *state) reset(p *plan) {
	*st = state{plan: p, emptyScal: make([]bool, len(p.scalars)), emptyCol: make([]bool, len(p.cols)), cache: map[int]*column{},
		knownRows: map[int]map[string]bool{}, counters: map[counterKey]counterState{}, epoch: time.Now(), rowsSeen: map[int]int{},
		uptime: st.uptime}
}

// read fetches what this run needs: on refresh runs everything, otherwise
// only what changes (lookups come from the cache) and nothing the device
// showed it does not have at the last refresh.
func (st *state) read(s *session, refresh bool) (*reading, error) {
	p := st.plan
	rd := newReading(p)
	want := func(i int, u oidUse, empty []bool) bool {
		if refresh {
			return true
		}
		if u.refresh || empty[i] {
			return false
		}
		if u.fallback {
			return slices.ContainsFunc(u.primaries, func(id int) bool { return empty[id] })
		}
		return true
	}
	var oids []string
	var ids []int
	for i, u := range p.scalars {
		if want(i, u, st.emptyScal) {
			oids = append(oids, u.oid)
			ids = append(ids, i)
			rd.read[i] = true
		}
	}
	byOID := make(map[string]int, len(ids))
	for k, i := range ids {
		byOID[oids[k]] = i
	}
	var errs []error
	if len(oids) > 0 {
		err := s.get(oids, func(v gosnmp.SnmpPDU, at time.Time) {
			if i, ok := byOID[v.Name]; ok {
				rd.scalars[i], rd.hasScal[i] = cell{v: v, at: at}, true
			}
		})
		if err != nil {
			return nil, err
		}
	}
	var cols []int
	for i, u := range p.cols {
		if want(i, u, st.emptyCol) {
			cols = append(cols, i)
		}
	}
	if err := st.walk(s, rd, cols); err != nil {
		if isFatal(err) {
			return nil, err
		}
		errs = append(errs, err)
	}
	if refresh {
		for i := range p.scalars {
			st.emptyScal[i] = !rd.hasScal[i]
		}
		for i, u := range p.cols {
			st.emptyCol[i] = rd.cols[i].len() == 0
			if u.lookup {
				st.cache[i] = rd.cols[i].kept()
			}
		}
	}
	return rd, errors.Join(errs...)
}

func (st *state) walk(s *session, rd *reading, ids []int) error {
	if len(ids) == 0 {
		return nil
	}
	oids := make([]string, len(ids))
	for k, i := range ids {
		oids[k] = st.plan.cols[i].oid
		rd.colsRead[i] = true
		if rd.cols[i] == nil {
			rd.cols[i] = newColumn(st.rowsSeen[i]) // sized as last time
		}
	}
	err := s.walk(oids, func(k int, idx string, v gosnmp.SnmpPDU, at time.Time) {
		// The walker hands out strictly increasing OIDs per column, so an
		// index never comes twice.
		c := rd.cols[ids[k]]
		c.rows = append(c.rows, idx)
		c.cells = append(c.cells, cell{v: v, at: at})
	})
	for _, i := range ids {
		st.rowsSeen[i] = rd.cols[i].len()
	}
	return err
}

// scalar returns a column's value of this run, or its fallback's.
func (rd *reading) scalar(c ccol) (cell, bool) {
	if rd.hasScal[c.id] {
		return rd.scalars[c.id], true
	}
	if c.fb >= 0 && rd.hasScal[c.fb] {
		v := rd.scalars[c.fb]
		v.fb = true
		return v, true
	}
	return cell{}, false
}

// value returns a table cell of this run, the lookup cache, or the
// fallback; pos is the row's position in the group's rows, or -1.
func (st *state) value(rd *reading, c ccol, idx string, pos int) (cell, bool) {
	for _, id := range [2]int{c.id, c.fb} {
		if id < 0 {
			continue
		}
		if rd.colsRead[id] {
			if v, ok := rd.cols[id].get(idx, pos); ok {
				v.fb = id == c.fb
				return v, true
			}
			continue
		}
		if st.plan.cols[id].lookup {
			if v, ok := st.cache[id].get(idx, pos); ok {
				v.fb = id == c.fb
				return v, true
			}
		}
	}
	return cell{}, false
}

// rows lists the row indexes of a table group read this run, in walk order.
func (rd *reading) rows(g *cgroup) []string {
	if r, ok := rd.rowCache[g]; ok {
		return r
	}
	if rd.rowCache == nil {
		rd.rowCache = map[*cgroup][]string{}
	}
	out := rd.computeRows(g)
	rd.rowCache[g] = out
	return out
}

func (rd *reading) computeRows(g *cgroup) []string {
	// Usually the first column has every row: take its order and only look
	// for rows the others add.
	var out []string
	var seen map[string]bool
	for _, c := range g.cols {
		for _, id := range []int{c.id, c.fb} {
			if id < 0 || !rd.colsRead[id] {
				continue
			}
			if out == nil {
				out = rd.cols[id].rows
				continue
			}
			if rd.cols[id].len() <= len(out) && sameRows(rd.cols[id], out) {
				continue
			}
			if seen == nil {
				seen = make(map[string]bool, len(out))
				for _, idx := range out {
					seen[idx] = true
				}
				out = slices.Clone(out)
			}
			for _, idx := range rd.cols[id].rows {
				if !seen[idx] {
					seen[idx] = true
					out = append(out, idx)
				}
			}
		}
	}
	return out
}

// sameRows reports whether every row of col is among rows (col has at most
// as many as rows).
func sameRows(col *column, rows []string) bool {
	if slices.Equal(col.rows, rows) {
		return true
	}
	n := 0
	for pos, idx := range rows {
		if _, ok := col.get(idx, pos); ok {
			n++
		}
	}
	return n == col.len()
}

// refreshLookups walks the lookup columns of groups that show rows unknown
// at the last refresh (a new interface, a mounted volume), so that their
// tags are right in this run already.
func (st *state) refreshLookups(s *session, rd *reading) error {
	var need []int
	for gi := range st.plan.groups {
		g := &st.plan.groups[gi]
		if !g.table {
			continue
		}
		known := st.knownRows[gi]
		if known == nil {
			known = map[string]bool{}
			st.knownRows[gi] = known
		}
		if !slices.ContainsFunc(rd.rows(g), func(idx string) bool { return !known[idx] }) {
			continue
		}
		for _, c := range g.cols {
			for _, id := range []int{c.id, c.fb} {
				if id >= 0 && st.plan.cols[id].lookup && !rd.colsRead[id] && !slices.Contains(need, id) {
					need = append(need, id)
				}
			}
		}
		for _, idx := range rd.rows(g) {
			known[idx] = true
		}
	}
	if len(need) == 0 {
		return nil
	}
	err := st.walk(s, rd, need)
	for _, id := range need {
		st.cache[id] = rd.cols[id].kept()
	}
	clear(rd.rowCache)
	return err
}

// detectReboot compares the device's uptime with the last run. A smaller
// uptime than the last one plus the time passed means a reboot, unless it
// is the 32-bit TimeTicks wrap after 497 days.
func (st *state) detectReboot(rd *reading, asset string) (*kpi.Sample, bool) {
	var cur uptimeState
	for _, oid := range []string{oidHrSystemUptime, oidSysUpTime} {
		i, ok := st.plan.hasScalar(oid)
		if !ok || !rd.hasScal[i] {
			continue
		}
		if t, ok := toUint64(rd.scalars[i].v); ok {
			cur = uptimeState{oid: oid, ticks: t, at: rd.scalars[i].at}
			break
		}
	}
	if cur.oid == "" {
		return nil, false
	}
	prev := st.uptime
	st.uptime = cur
	if prev.oid != cur.oid || !cur.at.After(prev.at) {
		return nil, false
	}
	elapsed := uint64(cur.at.Sub(prev.at) / (10 * time.Millisecond))
	expected := prev.ticks + elapsed
	if cur.ticks >= prev.ticks {
		return nil, false
	}
	const wrap = 1 << 32
	slack := max(elapsed/10, 6000) // 60 s or 10% of the interval
	if expected >= wrap && absDiff(cur.ticks, expected-wrap) <= slack {
		return nil, false
	}
	boot := cur.at.Add(-time.Duration(cur.ticks) * 10 * time.Millisecond)
	down := max(boot.Sub(prev.at), 0)
	return &kpi.Sample{Asset: asset, Measurement: "reboot", Time: boot, Fields: map[string]any{
		"uptime_before_seconds": float64(prev.ticks) / 100,
		"last_seen_up":          prev.at.Unix(),
		"downtime_max_seconds":  down.Seconds(),
	}}, true
}

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}

// rate turns a counter reading into a per-second rate. 32-bit counters
// that went down are taken as wrapped when the wrapped delta is below half
// the counter's range; anything else that goes down (a reset, an agent
// restart, a 64-bit counter) gives no rate for this run rather than a spike.
func (st *state) rate(key counterKey, v cell, raw uint64) (float64, bool) {
	prev, ok := st.counters[key]
	at := v.at.Sub(st.epoch)
	st.counters[key] = counterState{v: raw, at: at}
	if !ok {
		return 0, false
	}
	secs := (at - prev.at).Seconds()
	if secs <= 0 {
		return 0, false
	}
	delta := raw - prev.v
	if raw < prev.v {
		if v.v.Type != gosnmp.Counter32 {
			return 0, false
		}
		delta = raw + (1 << 32) - prev.v
		if delta >= 1<<31 {
			return 0, false
		}
	}
	return float64(delta) / secs, true
}

// build turns a reading into samples, handed to emit one row at a time,
// and on refresh runs into the inventory. The row is reused for the next
// one: emit must not keep it. labels are the target's, under the rows'
// own tags. It returns the number of rows emitted.
func (st *state) build(rd *reading, asset string, now time.Time, refresh bool, labels []kpi.Tag,
	emit func(*kpi.Row)) (int, map[string]any, map[string][]map[string]any, []error) {
	var errs []error
	components := map[string][]map[string]any{}
	row := &st.row
	var vals map[string]float64 // numbers by name, for groups that derive values
	start := func(g *cgroup) map[string]float64 {
		row.Reset(asset, g.Measurement, now)
		row.Tags = append(row.Tags, labels...)
		for _, t := range g.constTags {
			row.SetTag(t.Key, t.Value)
		}
		if !g.derives {
			return nil
		}
		if vals == nil {
			vals = map[string]float64{}
		}
		clear(vals)
		return vals
	}
	emitted := 0
	for gi := range st.plan.groups {
		g := &st.plan.groups[gi]
		if !g.table {
			vals := start(g)
			for _, c := range g.cols {
				v, ok := rd.scalar(c)
				if !ok {
					continue
				}
				if err := st.field(row, vals, c, v, counterKey{col: -1 - c.id}); err != nil {
					errs = append(errs, err)
				}
			}
			st.scaleBy(g, row, vals)
			scaleBySI(g, row, vals)
			wattsToDBm(g, row, vals)
			dropInvalid(g, row, vals)
			computeFields(g.Group, row, vals)
			if len(row.Fields) > 0 {
				emit(row)
				emitted++
			}
			continue
		}
		rows := rd.rows(g)
		if refresh {
			known := make(map[string]bool, len(rows))
			for _, idx := range rows {
				known[idx] = true
			}
			st.knownRows[gi] = known
		}
		for pos, idx := range rows {
			if !st.where(rd, g, idx, pos) {
				continue
			}
			vals := start(g)
			row.SetTag(g.IndexTag, idx)
			setIndexTags(g.Group, row, idx)
			var comp map[string]any
			if refresh && g.Component != "" {
				comp = map[string]any{g.IndexTag: indexValue(idx)}
			}
			for _, c := range g.cols {
				if c.FromRow != nil {
					st.fromRow(rd, g, c, vals)
					continue
				}
				v, ok := st.value(rd, c, idx, pos)
				if !ok {
					continue
				}
				switch c.Kind {
				case KindTag:
					if t := st.tagText(rd, c, v, idx, pos); t != "" {
						row.SetTag(c.Name, t)
						if comp != nil {
							comp[c.Name] = t
						}
					}
				case KindInfo:
					if comp != nil {
						if x := infoValue(c.Column, v.v); x != nil {
							comp[c.Name] = x
						}
					}
				default:
					if err := st.field(row, vals, c, v, counterKey{col: c.id, index: idx}); err != nil {
						errs = append(errs, fmt.Errorf("%s row %s: %w", g.Measurement, idx, err))
					}
				}
			}
			st.scaleBy(g, row, vals)
			scaleBySI(g, row, vals)
			wattsToDBm(g, row, vals)
			dropInvalid(g, row, vals)
			computeFields(g.Group, row, vals)
			if comp != nil {
				for _, c := range g.cols {
					if c.Inventory {
						if f, ok := row.Field(c.Name); ok {
							comp[c.Name] = f.Value()
						}
					}
				}
				components[g.Component] = append(components[g.Component], comp)
			}
			if len(row.Fields) > 0 {
				emit(row)
				emitted++
			}
		}
	}
	var attrs map[string]any
	if refresh {
		attrs = st.attributes(rd)
	}
	return emitted, attrs, components, errs
}

// field decodes one numeric column into the row (as stored) and vals (as
// numbers, for scale_by and computed fields; nil when the group has none).
func (st *state) field(row *kpi.Row, vals map[string]float64, c ccol, v cell, key counterKey) error {
	if isMissing(v.v) {
		return nil // a NULL cell (LM-SENSORS-MIB on AIX) has no value, which is no error
	}
	switch c.Kind {
	case KindCounter:
		raw, ok := toUint64(v.v)
		if !ok {
			return fmt.Errorf("%s (%s): %s is not a counter", c.Name, v.v.Name, v.v.Type)
		}
		row.SetInt(c.Name, clampInt(raw))
		if r, ok := st.rate(key, v, raw); ok {
			r *= c.scale(v.fb)
			row.SetFloat(c.rateName, r)
			if vals != nil {
				vals[c.rateName] = r
			}
		}
	case KindUptime:
		t, ok := toUint64(v.v)
		if !ok {
			return fmt.Errorf("%s (%s): %s is not TimeTicks", c.Name, v.v.Name, v.v.Type)
		}
		row.SetFloat(c.Name, float64(t)/100)
	case KindHelper:
		// Helpers may be text (hrStorageType for where); only numbers
		// take part in scale_by and computed fields.
		if f, ok := toFloat(v.v, c.Format); ok && vals != nil {
			vals[c.Name] = f * c.scale(v.fb)
		}
	case KindGauge:
		f, ok := toFloat(v.v, c.Format)
		if c.textStates != nil {
			var err error
			if f, err = c.textState(v.v); err != nil {
				return err
			}
			ok = true
		}
		if !ok {
			return fmt.Errorf("%s (%s): %s value %q is not a number", c.Name, v.v.Name, v.v.Type, toText(v.v, ""))
		}
		f *= c.scale(v.fb)
		if vals != nil {
			vals[c.Name] = f
		}
		// Always float: one field must keep one type in InfluxDB, whatever
		// the device sends.
		row.SetFloat(c.Name, f)
	}
	return nil
}

// scaleBy multiplies columns by another column of the row (hrStorageSize
// by hrStorageAllocationUnits).
func (st *state) scaleBy(g *cgroup, row *kpi.Row, vals map[string]float64) {
	if vals == nil {
		return
	}
	for _, c := range g.cols {
		if c.ScaleBy == "" {
			continue
		}
		f, ok := vals[c.Name]
		if !ok {
			continue
		}
		by, ok := vals[c.ScaleBy]
		if !ok {
			delete(vals, c.Name)
			row.DeleteField(c.Name)
			continue
		}
		vals[c.Name] = f * by
		if _, isField := row.Field(c.Name); isField {
			row.SetFloat(c.Name, f*by)
		}
	}
}

func computeFields(g *Group, row *kpi.Row, vals map[string]float64) {
	if vals == nil {
		return
	}
	for _, c := range g.Computed {
		computeField(c, row, vals)
		computeOtherwise(c, row, vals)
	}
}

// computeField sets one computed field.
func computeField(c Computed, row *kpi.Row, vals map[string]float64) {
	if len(c.Sum) > 0 || len(c.Product) > 0 {
		computeSumOrProduct(c, row, vals)
		return
	}
	refs, ratio := c.Ratio, true
	if len(refs) == 0 {
		refs, ratio = c.Difference, false
	}
	a, okA := vals[refs[0]]
	b, okB := vals[refs[1]]
	if !okA || !okB {
		return
	}
	var f float64
	if ratio {
		// Negative values are "unknown" markers in most MIBs
		// (prtMarkerSuppliesLevel -3 "some remaining").
		if b <= 0 || a < 0 {
			return
		}
		f = a / b
	} else {
		f = a - b
	}
	f *= scaleOf(c.Scale)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return
	}
	row.SetFloat(c.Name, f)
	vals[c.Name] = f
}

// computeSumOrProduct sets a sum or product field. Negative operands are
// "unknown" markers in most MIBs, so they make no value.
func computeSumOrProduct(c Computed, row *kpi.Row, vals map[string]float64) {
	refs, product := c.Sum, false
	if len(refs) == 0 {
		refs, product = c.Product, true
	}
	a, okA := vals[refs[0]]
	b, okB := vals[refs[1]]
	if !okA || !okB || a < 0 || b < 0 {
		return
	}
	f := a + b
	if product {
		f = a * b
	}
	f *= scaleOf(c.Scale)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return
	}
	row.SetFloat(c.Name, f)
	vals[c.Name] = f
}

func (st *state) where(rd *reading, g *cgroup, idx string, pos int) bool {
	for _, w := range g.Where {
		if t, ok := indexTagText(g.Group, w.Column, idx); ok {
			if !w.holds(t) {
				return false
			}
			continue
		}
		i := slices.IndexFunc(g.cols, func(c ccol) bool { return c.Name == w.Column })
		v, ok := st.value(rd, g.cols[i], idx, pos)
		if w.re != nil {
			if !ok || !w.re.MatchString(st.tagText(rd, g.cols[i], v, idx, pos)) {
				return false
			}
			continue
		}
		text := ""
		if ok {
			text = strings.TrimPrefix(enumText(nil, v.v, g.cols[i].Format), ".")
		}
		in := slices.ContainsFunc(w.In, func(s string) bool { return strings.TrimPrefix(s, ".") == text })
		notIn := slices.ContainsFunc(w.NotIn, func(s string) bool { return strings.TrimPrefix(s, ".") == text })
		if (len(w.In) > 0 && !in) || (len(w.NotIn) > 0 && notIn) {
			return false
		}
	}
	return true
}

// attributes evaluates the inventory attributes; the first profile that
// has a value for a name wins (vendor profiles come first), and a guess
// (a value parsed out of sysDescr) only where no other attribute of the
// name has a value.
func (st *state) attributes(rd *reading) map[string]any {
	attrs := map[string]any{}
	for _, guesses := range []bool{false, true} {
		st.attributePass(rd, attrs, guesses)
	}
	return attrs
}

// attributePass sets the attributes not set yet from those whose guess
// flag equals guesses.
func (st *state) attributePass(rd *reading, attrs map[string]any, guesses bool) {
	for _, a := range st.plan.attrs {
		if _, done := attrs[a.Name]; done || a.Guess != guesses {
			continue
		}
		var x any
		switch {
		case a.Value != "":
			x = a.Value
		case a.OID != "":
			if rd.hasScal[a.id] {
				x = attrValue(a.Attr, rd.scalars[a.id].v)
			}
		case a.Count != "":
			if n := rd.cols[a.id].len(); n > 0 {
				x = n
			}
		case a.Column != "" && rd.cols[a.id] != nil:
			col := rd.cols[a.id]
			for pos, idx := range col.rows {
				if a.whereID >= 0 {
					w, ok := rd.cols[a.whereID].get(idx, pos)
					if !ok || !slices.Contains(a.Where.In, strings.TrimPrefix(toText(w.v, ""), ".")) {
						continue
					}
				}
				if x = attrValue(a.Attr, col.cells[pos].v); x != nil {
					break
				}
			}
		}
		if x != nil {
			attrs[a.Name] = x
		}
	}
}

// attrValue decodes an inventory attribute; nil when there is nothing
// useful (empty text, a regex that does not match).
func attrValue(a *Attr, v gosnmp.SnmpPDU) any {
	if isMissing(v) {
		return nil
	}
	if a.Scale != 0 || a.Format == "number" {
		f, ok := toFloat(v, a.Format)
		if !ok {
			return nil
		}
		return tidyNumber(f * scaleOf(a.Scale))
	}
	text := enumText(a.Enum, v, a.Format)
	if a.re != nil {
		m := a.re.FindStringSubmatch(text)
		if m == nil {
			return nil
		}
		text = strings.TrimSpace(m[1])
	}
	if text == "" {
		return nil
	}
	return text
}

// infoValue decodes an info column for the inventory: numbers stay numbers.
func infoValue(c *Column, v gosnmp.SnmpPDU) any {
	if c.Enum != nil || c.Format != "" && c.Format != "number" {
		return nonEmpty(enumText(c.Enum, v, c.Format))
	}
	if f, ok := toFloat(v, c.Format); ok {
		return tidyNumber(f * scaleOf(c.Scale))
	}
	return nonEmpty(toText(v, ""))
}

func nonEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// enumText is the text of a value, named through enum when it has one.
func enumText(enum map[int64]string, v gosnmp.SnmpPDU, format string) string {
	if enum != nil {
		if f, ok := toFloat(v, ""); ok {
			if name, ok := enum[int64(f)]; ok {
				return name
			}
		}
	}
	return toText(v, format)
}

// tidyNumber keeps whole numbers integral in the inventory JSON.
func tidyNumber(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	return f
}

// indexValue keeps a single-number row index numeric in the inventory.
func indexValue(idx string) any {
	if n, err := strconv.ParseInt(idx, 10, 64); err == nil {
		return n
	}
	return idx
}

// scale is the multiplier of a value read from the column or its fallback.
func (c *Column) scale(fromFallback bool) float64 {
	if fromFallback && c.FallbackScale != 0 {
		return c.FallbackScale
	}
	return scaleOf(c.Scale)
}

func scaleOf(s float64) float64 {
	if s == 0 {
		return 1
	}
	return s
}

// tagText is the text of a tag cell; where it is empty, the fallback's
// (ENTITY-MIB devices that leave entPhysicalName empty and name the entity
// in entPhysicalDescr).
func (st *state) tagText(rd *reading, c ccol, v cell, idx string, pos int) string {
	t := enumText(c.Enum, v.v, c.Format)
	if t != "" || c.fb < 0 || v.fb {
		return t
	}
	if f, ok := st.value(rd, ccol{Column: c.Column, id: c.fb, fb: -1}, idx, pos); ok {
		return enumText(c.Enum, f.v, c.Format)
	}
	return ""
}

// siPrefixExponent is the power of ten of an SI prefix as
// ENTITY-SENSOR-MIB (RFC 3433) and CISCO-ENTITY-SENSOR-MIB number them:
// yocto(1) to units(9) to tera(13), then exa(14) before peta(15) as the
// MIBs have it, zetta(16), yotta(17).
var siPrefixExponent = map[int64]int{
	1: -24, 2: -21, 3: -18, 4: -15, 5: -12, 6: -9, 7: -6, 8: -3, 9: 0,
	10: 3, 11: 6, 12: 9, 13: 12, 14: 18, 15: 15, 16: 21, 17: 24,
}

// scaleBySI applies scale_by_si_prefix and precision_by: a sensor value of
// 2345 with scale milli(8) and precision 2 is 23.45e-3. A value whose
// prefix is missing or unknown is dropped (it could be off by any power of
// a thousand); a missing precision, or one outside 1..9 (RFC 3433: -8..-1
// count accurate digits, 0 means an integer; Cisco sends garbage on some
// releases), leaves the value as read.
func scaleBySI(g *cgroup, row *kpi.Row, vals map[string]float64) {
	if vals == nil || !g.converts {
		return
	}
	for _, c := range g.cols {
		if c.ScaleBySIPrefix == "" && c.PrecisionBy == "" {
			continue
		}
		f, ok := vals[c.Name]
		if !ok {
			continue
		}
		exp := 0
		if c.ScaleBySIPrefix != "" {
			p, ok := vals[c.ScaleBySIPrefix]
			e, known := siPrefixExponent[int64(p)]
			if !ok || !known || p != math.Trunc(p) {
				delete(vals, c.Name)
				row.DeleteField(c.Name)
				continue
			}
			exp = e
		}
		if c.PrecisionBy != "" {
			if p, ok := vals[c.PrecisionBy]; ok && p >= 1 && p <= 9 && p == math.Trunc(p) {
				exp -= int(p)
			}
		}
		// Dividing keeps 533 with precision 1 at 53.3 (533 * 0.1 is not).
		if exp < 0 {
			f /= math.Pow10(-exp)
		} else {
			f *= math.Pow10(exp)
		}
		vals[c.Name] = f
		if _, isField := row.Field(c.Name); isField {
			row.SetFloat(c.Name, f)
		}
	}
}

// wattsToDBm applies dbm_from_watts: 10·log10(P / 1 mW). A power of zero
// or less (no light, or a "no reading" marker such as -1e9) has no dBm
// and is dropped rather than stored as -Inf.
func wattsToDBm(g *cgroup, row *kpi.Row, vals map[string]float64) {
	if vals == nil || !g.converts {
		return
	}
	for _, c := range g.cols {
		if !c.DBmFromWatts {
			continue
		}
		f, ok := vals[c.Name]
		if !ok {
			continue
		}
		if f <= 0 {
			delete(vals, c.Name)
			row.DeleteField(c.Name)
			continue
		}
		f = 10 * math.Log10(f*1000)
		vals[c.Name] = f
		row.SetFloat(c.Name, f)
	}
}

// dropInvalid removes values outside their column's valid range.
func dropInvalid(g *cgroup, row *kpi.Row, vals map[string]float64) {
	if vals == nil || !g.converts {
		return
	}
	for _, c := range g.cols {
		if c.Valid == nil {
			continue
		}
		if f, ok := vals[c.Name]; ok && (f < c.Valid[0] || f > c.Valid[1]) {
			delete(vals, c.Name)
			row.DeleteField(c.Name)
		}
	}
}
