package snmp

import (
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/kpilot/kpilot/internal/kpi"
)

// plan is the compiled form of the profiles selected for one target: every
// scalar and column OID once (a table wanted by several profiles is walked
// once per run), with what each is for.
type plan struct {
	profiles []*Profile
	key      string // profile names, to notice when auto selection changes

	scalars []oidUse
	cols    []oidUse
	groups  []cgroup
	attrs   []cattr
}

// planCache shares plans between the targets of one config entry: a plan
// is not changed once built, and targets with the same profiles need the
// same one. Each of them built its own before: 1,000 devices held 1,000
// copies, about 13 KB each.
type planCache struct {
	mu sync.Mutex
	m  map[string]*plan
}

// plan returns the plan of profiles, built once per list of profiles.
// A nil cache builds a new one every time.
func (pc *planCache) plan(profiles []*Profile) *plan {
	if pc == nil {
		return newPlan(profiles)
	}
	names := make([]string, len(profiles))
	for i, pr := range profiles {
		names[i] = pr.Name
	}
	key := strings.Join(names, ",")
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if p, ok := pc.m[key]; ok && slices.Equal(p.profiles, profiles) {
		return p
	}
	p := newPlan(profiles)
	if pc.m == nil {
		pc.m = map[string]*plan{}
	}
	pc.m[key] = p
	return p
}

// oidUse is one OID to read and when.
type oidUse struct {
	oid      string
	refresh  bool // read only on refresh runs (lookup, info, inventory)
	lookup   bool // cached between refreshes
	fallback bool // read only where its primary had no value
	// primaries are the ids this OID is the fallback of (same list).
	primaries []int
}

type cgroup struct {
	*Group
	table     bool
	cols      []ccol
	constTags []kpi.Tag // ConstTags in key order
	derives   bool      // has scale_by or computed fields
	converts  bool      // has scale_by_si_prefix, precision_by, dbm_from_watts or valid
}

type ccol struct {
	*Column
	id       int    // into plan.scalars or plan.cols
	fb       int    // fallback id, or -1
	rateName string // <name>_per_second, built once
}

type cattr struct {
	*Attr
	id      int // scalar id (oid), col id (column, count), or -1
	whereID int // col id of Where.Column, or -1
}

func newPlan(profiles []*Profile) *plan {
	p := &plan{profiles: profiles}
	names := make([]string, len(profiles))
	for i, pr := range profiles {
		names[i] = pr.Name
	}
	p.key = strings.Join(names, ",")
	scalarIDs, colIDs := map[string]int{}, map[string]int{}
	use := func(list *[]oidUse, ids map[string]int, u oidUse) int {
		if id, ok := ids[u.oid]; ok {
			o := &(*list)[id]
			// The strictest use wins: read every run, primary. Read on
			// refresh runs only, it is cached if any use needs the cache
			// (a lookup tag over an info column of the same OID).
			o.refresh = o.refresh && u.refresh
			o.lookup = o.refresh && (o.lookup || u.lookup)
			o.fallback = o.fallback && u.fallback
			return id
		}
		ids[u.oid] = len(*list)
		*list = append(*list, u)
		return len(*list) - 1
	}
	for _, pr := range profiles {
		for gi := range pr.Metrics {
			g := &pr.Metrics[gi]
			cg := cgroup{Group: g, table: len(g.Columns) > 0}
			list, ids, src := &p.scalars, scalarIDs, g.Scalars
			if cg.table {
				list, ids, src = &p.cols, colIDs, g.Columns
			}
			for ci := range src {
				c := &src[ci]
				refresh := c.Kind == KindInfo || c.Lookup
				cc := ccol{Column: c, fb: -1, rateName: c.Name + "_per_second"}
				if c.ScaleBySIPrefix != "" || c.PrecisionBy != "" || c.DBmFromWatts || c.Valid != nil {
					cg.converts = true
				}
				if c.ScaleBy != "" || cg.converts || c.FromRow != nil {
					cg.derives = true
				}
				cc.id = use(list, ids, oidUse{oid: c.OID, refresh: refresh, lookup: c.Lookup})
				if c.Fallback != "" {
					cc.fb = use(list, ids, oidUse{oid: c.Fallback, refresh: refresh, lookup: c.Lookup, fallback: true})
					fb := &(*list)[cc.fb]
					if !slices.Contains(fb.primaries, cc.id) {
						fb.primaries = append(fb.primaries, cc.id)
					}
				}
				cg.cols = append(cg.cols, cc)
			}
			for _, k := range slices.Sorted(maps.Keys(g.ConstTags)) {
				cg.constTags = append(cg.constTags, kpi.Tag{Key: k, Value: g.ConstTags[k]})
			}
			cg.derives = cg.derives || len(g.Computed) > 0
			p.groups = append(p.groups, cg)
		}
		for ai := range pr.Inventory {
			a := &pr.Inventory[ai]
			ca := cattr{Attr: a, id: -1, whereID: -1}
			switch {
			case a.OID != "":
				ca.id = use(&p.scalars, scalarIDs, oidUse{oid: a.OID, refresh: true})
			case a.Column != "":
				ca.id = use(&p.cols, colIDs, oidUse{oid: a.Column, refresh: true})
			case a.Count != "":
				ca.id = use(&p.cols, colIDs, oidUse{oid: a.Count, refresh: true})
			}
			if a.Where != nil {
				ca.whereID = use(&p.cols, colIDs, oidUse{oid: a.Where.Column, refresh: true})
			}
			p.attrs = append(p.attrs, ca)
		}
	}
	return p
}

// profileNames lists the plan's profiles.
func (p *plan) profileNames() []string {
	out := make([]string, len(p.profiles))
	for i, pr := range p.profiles {
		out[i] = pr.Name
	}
	return out
}

// hasScalar reports whether the plan reads oid as a scalar.
func (p *plan) hasScalar(oid string) (int, bool) {
	i := slices.IndexFunc(p.scalars, func(u oidUse) bool { return u.oid == oid })
	return i, i >= 0
}
