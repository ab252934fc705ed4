package snmp

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kpilot/kpilot/internal/kpi"
)

// FromRow takes a helper column's value from another row of the same
// table: the first row whose column Column (a column of the group) reads
// one of In, compared as where's in is. A net-snmp host's memory pools
// need it: the kernel's buffers and page cache are hrStorage rows of
// their own, sized by the physical memory's row, and what the physical
// memory's row counts as used includes them. Default is the value where
// no row matches (0: a host without a buffers row has none in buffers);
// without it the helper has no value there.
type FromRow struct {
	Column  string   `yaml:"column"`
	In      []string `yaml:"in"`
	Default *float64 `yaml:"default"`
}

// validateFromRows checks the group's from_row columns.
func (g *Group) validateFromRows(byName map[string]*Column) error {
	var errs []error
	for _, c := range slices.Concat(g.Scalars, g.Columns) {
		if c.FromRow == nil {
			continue
		}
		switch {
		case len(g.Columns) == 0:
			errs = append(errs, fmt.Errorf("%s: from_row: only in tables (columns)", c.Name))
		case c.Kind != KindHelper:
			errs = append(errs, fmt.Errorf("%s: from_row: only for helpers", c.Name))
		case byName[c.FromRow.Column] == nil || c.FromRow.Column == c.Name:
			errs = append(errs, fmt.Errorf("%s: from_row: column %q is no other column of this group", c.Name, c.FromRow.Column))
		case byName[c.FromRow.Column].FromRow != nil:
			errs = append(errs, fmt.Errorf("%s: from_row: column %q is itself from another row", c.Name, c.FromRow.Column))
		case len(c.FromRow.In) == 0:
			errs = append(errs, fmt.Errorf("%s: from_row: list the values of %s that select the row in in", c.Name, c.FromRow.Column))
		}
	}
	return errors.Join(errs...)
}

// fromRow sets a from_row helper's value in vals: the column's cell of
// the row its from_row selects, else the default.
func (st *state) fromRow(rd *reading, g *cgroup, c ccol, vals map[string]float64) {
	if vals == nil {
		return
	}
	if idx, ok := st.selectRow(rd, g, c.FromRow); ok {
		if v, ok := st.value(rd, c, idx, -1); ok && !isMissing(v.v) {
			if f, ok := toFloat(v.v, c.Format); ok {
				vals[c.Name] = f * c.scale(v.fb)
				return
			}
		}
	}
	if c.FromRow.Default != nil {
		vals[c.Name] = *c.FromRow.Default
	}
}

// selectRow returns the first row of the group whose from_row column reads
// one of its values; the answer is kept for the rest of the run.
func (st *state) selectRow(rd *reading, g *cgroup, fr *FromRow) (string, bool) {
	if idx, ok := rd.fromRows[fr]; ok {
		return idx, idx != ""
	}
	if rd.fromRows == nil {
		rd.fromRows = map[*FromRow]string{}
	}
	found := ""
	if i := slices.IndexFunc(g.cols, func(c ccol) bool { return c.Name == fr.Column }); i >= 0 {
		for pos, idx := range rd.rows(g) {
			v, ok := st.value(rd, g.cols[i], idx, pos)
			if !ok {
				continue
			}
			text := strings.TrimPrefix(enumText(nil, v.v, g.cols[i].Format), ".")
			if slices.ContainsFunc(fr.In, func(s string) bool { return strings.TrimPrefix(s, ".") == text }) {
				found = idx
				break
			}
		}
	}
	rd.fromRows[fr] = found
	return found, found != ""
}

// computeOtherwise gives a computed field with otherwise the value of that
// field where it came out negative or was not computed: the physical
// memory's used bytes less buffers and cache, where an agent (ArubaOS-CX)
// counts neither as used and the difference would be below zero.
func computeOtherwise(c Computed, row *kpi.Row, vals map[string]float64) {
	if c.Otherwise == "" {
		return
	}
	if f, ok := vals[c.Name]; ok && f >= 0 {
		return
	}
	f, ok := vals[c.Otherwise]
	if !ok {
		row.DeleteField(c.Name)
		delete(vals, c.Name)
		return
	}
	row.SetFloat(c.Name, f)
	vals[c.Name] = f
}
