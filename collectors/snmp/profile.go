package snmp

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kpilot/kpilot/configs"
	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/internal/kpi"
)

// A Profile says what to read from one MIB (or one vendor's MIBs) and how to
// turn it into samples and inventory. Profiles are YAML files with numeric
// OIDs (see configs/snmp/README.md), so nothing needs MIB files at run time
// and users add their own without recompiling.
type Profile struct {
	Name        string  `yaml:"name"`
	Description string  `yaml:"description"`
	Match       Match   `yaml:"match"`
	Metrics     []Group `yaml:"metrics"`
	Inventory   []Attr  `yaml:"inventory"`
	// KPIs defines what the profile's fields mean (name, unit, kind; see
	// internal/catalog). A built-in profile defines every field it emits,
	// beside those configs/kpis/common.yaml defines for several sources.
	KPIs       catalog.Section  `yaml:"kpis"`
	Source     string           `yaml:"-"` // file the profile was read from
	builtin    bool             // read from the built-in set, not a profiles_dir
	matchOIDs  []string         // Match.SysObjectID, normalised with a leading dot
	matchDescr []*regexp.Regexp // Match.SysDescr, compiled
}

// Match says when `profiles: [auto]` selects a profile.
type Match struct {
	Always      bool     `yaml:"always"`        // every device (generic MIBs)
	SysObjectID []string `yaml:"sys_object_id"` // sysObjectID prefixes (vendor profiles)
	// SysDescr selects the profile when sysDescr matches any of these
	// regular expressions: for devices that answer with a generic
	// sysObjectID (net-snmp's .1.3.6.1.4.1.8072.3.2.10) or another
	// vendor's, and have no OID of their own to detect them by.
	SysDescr []string `yaml:"sys_descr"`
	Detect   []string `yaml:"detect"` // OID subtrees; any with a value selects the profile
}

// Group turns a set of scalars, or the rows of a table, into samples of one
// measurement. Exactly one of Scalars and Columns is set.
type Group struct {
	Measurement string            `yaml:"measurement"`
	Scalars     []Column          `yaml:"scalars"`   // full OIDs ending in .0
	Columns     []Column          `yaml:"columns"`   // table column OIDs, without index
	IndexTag    string            `yaml:"index_tag"` // tag holding the row index; default "index"
	Component   string            `yaml:"component"` // inventory component list the rows also feed
	ConstTags   map[string]string `yaml:"const_tags"`
	Where       []Cond            `yaml:"where"` // rows kept; all conditions must hold
	Computed    []Computed        `yaml:"computed"`
	// IndexTags are tags made of the row index (indextag.go).
	IndexTags []IndexTagDef `yaml:"index_tags"`
}

// Column kinds.
const (
	KindTag     = "tag"     // text tag of the sample (and component attribute)
	KindGauge   = "gauge"   // numeric field, stored as read (after scale)
	KindCounter = "counter" // monotonic counter: the raw value and <name>_per_second
	KindUptime  = "uptime"  // TimeTicks as seconds; used to detect reboots
	KindInfo    = "info"    // inventory only (component attribute), read on refresh
	KindHelper  = "helper"  // read for scale_by, where and computed; not stored
)

// Column is one scalar or table column.
type Column struct {
	Name     string  `yaml:"name"`
	OID      string  `yaml:"oid"`
	Fallback string  `yaml:"fallback"` // read where OID has no value (ifHCInOctets -> ifInOctets)
	Kind     string  `yaml:"kind"`
	Format   string  `yaml:"format"` // text (default), hex, mac, ip, number, labelled_number
	Scale    float64 `yaml:"scale"`  // multiply numeric values
	// FallbackScale multiplies values read from Fallback instead of Scale
	// (ifSpeed in bit/s where ifHighSpeed is in Mbit/s).
	FallbackScale float64 `yaml:"fallback_scale"`
	ScaleBy       string  `yaml:"scale_by"` // multiply by another column of the row (hrStorageAllocationUnits)
	// ScaleBySIPrefix names a column of the row holding an SI prefix as
	// ENTITY-SENSOR-MIB's and CISCO-ENTITY-SENSOR-MIB's scale enumerate it
	// (yocto(1) .. units(9) .. yotta(17)): the value is multiplied by its
	// power of ten. PrecisionBy names a column with the number of decimal
	// places of the value (1 to 9; others leave it as read).
	ScaleBySIPrefix string `yaml:"scale_by_si_prefix"`
	PrecisionBy     string `yaml:"precision_by"`
	// DBmFromWatts turns a power in watts (after every scaling) into dBm,
	// decibels over one milliwatt: optical power of transceivers that
	// report it in watts. Zero and negative values give no dBm.
	DBmFromWatts bool `yaml:"dbm_from_watts"`
	// Valid is the range [min, max] of values that are readings; others
	// (after every scaling: a temperature of -866 million degrees a
	// sensor without its module reports) are dropped.
	Valid     []float64        `yaml:"valid"`
	Enum      map[int64]string `yaml:"enum"`      // numeric value -> text, for tags, info and inventory
	Lookup    bool             `yaml:"lookup"`    // slow-changing: cached, re-read every lookup_refresh
	Inventory bool             `yaml:"inventory"` // also put this gauge into the component
	Unit      string           `yaml:"unit"`      // documentation only
	// TextStates maps a status column's text values to state numbers
	// (textstate.go); TextDefault is the number of any other text.
	TextStates  map[string]int64 `yaml:"text_states"`
	TextDefault *int64           `yaml:"text_default"`
	textStates  map[string]float64
	// FromRow takes a helper's value from another row of the table
	// (fromrow.go).
	FromRow *FromRow `yaml:"from_row"`
}

// Cond keeps rows whose column value (as text) is, or is not, in a list,
// or whose text matches a regular expression.
type Cond struct {
	Column string   `yaml:"column"`
	In     []string `yaml:"in"`
	NotIn  []string `yaml:"not_in"`
	// Match keeps rows whose text (a tag's, or its fallback's where it is
	// empty) matches a regular expression: the receive side of a
	// transceiver that only its sensor's name tells.
	Match string `yaml:"match"`
	re    *regexp.Regexp
}

// Computed derives a field from two others of the same row, after scaling
// and rates: ratio = a / b * scale, difference = (a - b) * scale,
// sum = (a + b) * scale (a memory pool's size from used + free), product =
// a * b * scale (its used bytes from size and percent used). Exactly one
// of the four is set.
type Computed struct {
	Name       string   `yaml:"name"`
	Ratio      []string `yaml:"ratio"`
	Difference []string `yaml:"difference"`
	Sum        []string `yaml:"sum"`
	Product    []string `yaml:"product"`
	Scale      float64  `yaml:"scale"`
	// Otherwise names a field whose value the computed field takes where
	// it comes out negative or cannot be computed (fromrow.go).
	Otherwise string `yaml:"otherwise"`
}

// operands returns the fields a computed field is made of and how many of
// ratio, difference, sum and product are set.
func (c Computed) operands() (refs []string, set int) {
	for _, r := range [][]string{c.Ratio, c.Difference, c.Sum, c.Product} {
		if len(r) > 0 {
			refs = r
			set++
		}
	}
	return refs, set
}

// Attr is one inventory attribute: a scalar, the first (matching) row of a
// column, the number of rows of a column, or a constant.
type Attr struct {
	Name   string           `yaml:"name"`
	OID    string           `yaml:"oid"`
	Column string           `yaml:"column"`
	Where  *AttrCond        `yaml:"where"` // with column: pick the first row where this holds
	Count  string           `yaml:"count"` // number of rows of this column
	Value  string           `yaml:"value"` // constant
	Regex  string           `yaml:"regex"` // keep the first capture group of the text
	Format string           `yaml:"format"`
	Scale  float64          `yaml:"scale"`
	Enum   map[int64]string `yaml:"enum"`
	// Guess marks a value parsed out of free text that describes the
	// device (sysDescr): it is used only when no profile's attribute of
	// the same name without guess has a value, so that a vendor MIB's
	// version or model wins over a kernel version read from sysDescr,
	// whatever the order of the profiles.
	Guess bool `yaml:"guess"`
	re    *regexp.Regexp
}

// AttrCond selects the row of an attribute column by another column.
type AttrCond struct {
	Column string   `yaml:"column"`
	In     []string `yaml:"in"`
}

var (
	formats = []string{"", "text", "hex", "mac", "ip", "number", "labelled_number"}
	kinds   = []string{KindTag, KindGauge, KindCounter, KindUptime, KindInfo, KindHelper}
)

// ParseProfile reads one profile strictly: unknown keys are errors.
func ParseProfile(data []byte, source string) (*Profile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("profile %s: %w", source, err)
	}
	p.Source = source
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("profile %s: %w", source, err)
	}
	return &p, nil
}

func (p *Profile) validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !validProfileName(p.Name) {
		add("name %q: use lowercase letters, digits and -", p.Name)
	}
	if len(p.Metrics) == 0 && len(p.Inventory) == 0 {
		add("neither metrics nor inventory: the profile reads nothing")
	}
	for i, prefix := range p.Match.SysObjectID {
		o, err := normOID(prefix)
		if err != nil {
			add("match.sys_object_id[%d]: %v", i, err)
			continue
		}
		p.matchOIDs = append(p.matchOIDs, o)
	}
	for i, expr := range p.Match.SysDescr {
		re, err := regexp.Compile(expr)
		if err != nil {
			add("match.sys_descr[%d]: %v", i, err)
			continue
		}
		p.matchDescr = append(p.matchDescr, re)
	}
	for i, o := range p.Match.Detect {
		if n, err := normOID(o); err != nil {
			add("match.detect[%d]: %v", i, err)
		} else {
			p.Match.Detect[i] = n
		}
	}
	for i := range p.Metrics {
		if err := p.Metrics[i].validate(); err != nil {
			add("metrics[%d] %q: %w", i, p.Metrics[i].Measurement, err)
		}
	}
	// An attribute may appear several times: the first with a value wins
	// (the model from one of several vendor OIDs).
	for i := range p.Inventory {
		a := &p.Inventory[i]
		if err := a.validate(); err != nil {
			add("inventory[%d] %q: %w", i, a.Name, err)
		}
	}
	return errors.Join(errs...)
}

func (g *Group) validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !kpi.ValidName(g.Measurement) {
		add("measurement: use lowercase letters, digits and _")
	}
	if (len(g.Scalars) == 0) == (len(g.Columns) == 0) {
		add("set exactly one of scalars and columns")
	}
	table := len(g.Columns) > 0
	if g.IndexTag == "" {
		g.IndexTag = "index"
	}
	if !kpi.ValidName(g.IndexTag) {
		add("index_tag %q: use lowercase letters, digits and _", g.IndexTag)
	}
	if !table && (g.Component != "" || len(g.Where) > 0 || len(g.IndexTags) > 0) {
		add("component, where and index_tags apply to tables (columns), not scalars")
	}
	indexTags := map[string]bool{}
	for i := range g.IndexTags {
		if err := g.IndexTags[i].validate(); err != nil {
			add("index_tags[%d]: %w", i, err)
		}
		indexTags[g.IndexTags[i].Name] = true
	}
	if g.Component != "" && !kpi.ValidName(g.Component) {
		add("component %q: use lowercase letters, digits and _", g.Component)
	}
	for k := range g.ConstTags {
		if !kpi.ValidName(k) {
			add("const_tags: key %q: use lowercase letters, digits and _", k)
		}
	}
	cols := slices.Concat(g.Scalars, g.Columns)
	byName := map[string]*Column{}
	for i := range cols {
		c := &cols[i]
		if err := c.validate(table); err != nil {
			add("%s: %w", c.Name, err)
		}
		if byName[c.Name] != nil {
			add("column %q appears twice", c.Name)
		}
		byName[c.Name] = c
	}
	// Write the normalised OIDs back.
	copy(g.Scalars, cols[:len(g.Scalars)])
	copy(g.Columns, cols[len(g.Scalars):])
	for _, c := range cols {
		if c.ScaleBy != "" {
			if ref := byName[c.ScaleBy]; ref == nil || !numericKind(ref.Kind) {
				add("%s: scale_by %q: no numeric column of that name", c.Name, c.ScaleBy)
			}
		}
	}
	if err := validateConversions(byName); err != nil {
		errs = append(errs, err)
	}
	if err := g.validateFromRows(byName); err != nil {
		errs = append(errs, err)
	}
	for i := range g.Where {
		w := &g.Where[i]
		if byName[w.Column] == nil && !indexTags[w.Column] {
			add("where[%d]: column %q is not defined in this group", i, w.Column)
		}
		if err := w.validate(); err != nil {
			add("where[%d]: %w", i, err)
		}
	}
	for i, c := range g.Computed {
		if !kpi.ValidName(c.Name) || byName[c.Name] != nil {
			add("computed[%d]: name %q must be a new snake_case name", i, c.Name)
		}
		refs, set := c.operands()
		if len(refs) != 2 || set != 1 {
			add("computed[%d] %q: set one of ratio, difference, sum and product to two field names", i, c.Name)
			continue
		}
		for _, r := range refs {
			base := strings.TrimSuffix(r, "_per_second")
			if ref := byName[base]; ref == nil || !numericKind(ref.Kind) {
				add("computed[%d] %q: %q is not a numeric field of this group", i, c.Name, r)
			}
		}
		if c.Otherwise != "" {
			if ref := byName[c.Otherwise]; ref == nil || !numericKind(ref.Kind) {
				add("computed[%d] %q: otherwise %q is not a numeric field of this group", i, c.Name, c.Otherwise)
			}
		}
		byName[c.Name] = &Column{Name: c.Name, Kind: KindGauge}
	}
	return errors.Join(errs...)
}

// validateConversions checks the columns' scale_by_si_prefix,
// precision_by, dbm_from_watts and valid.
func validateConversions(byName map[string]*Column) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		c := byName[name]
		for _, ref := range [][2]string{{"scale_by_si_prefix", c.ScaleBySIPrefix}, {"precision_by", c.PrecisionBy}} {
			if ref[1] == "" {
				continue
			}
			if c.Kind != KindGauge && c.Kind != KindHelper {
				errs = append(errs, fmt.Errorf("%s: %s: only for gauges and helpers", c.Name, ref[0]))
			}
			if r := byName[ref[1]]; r == nil || !numericKind(r.Kind) || r == c {
				errs = append(errs, fmt.Errorf("%s: %s %q: no other numeric column of that name", c.Name, ref[0], ref[1]))
			}
		}
		if c.DBmFromWatts && c.Kind != KindGauge {
			errs = append(errs, fmt.Errorf("%s: dbm_from_watts: only for gauges", c.Name))
		}
		if c.Valid != nil && (c.Kind != KindGauge || len(c.Valid) != 2 || c.Valid[0] > c.Valid[1]) {
			errs = append(errs, fmt.Errorf("%s: valid: a gauge's [min, max]", c.Name))
		}
	}
	return errors.Join(errs...)
}

// validate checks that exactly one test is set and compiles match.
func (w *Cond) validate() error {
	set := 0
	for _, ok := range []bool{len(w.In) > 0, len(w.NotIn) > 0, w.Match != ""} {
		if ok {
			set++
		}
	}
	if set != 1 {
		return errors.New("set exactly one of in, not_in and match")
	}
	if w.Match != "" {
		re, err := regexp.Compile(w.Match)
		if err != nil {
			return fmt.Errorf("match: %w", err)
		}
		w.re = re
	}
	return nil
}

func (c *Column) validate(table bool) error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !kpi.ValidName(c.Name) {
		add("name: use lowercase letters, digits and _")
	}
	if !slices.Contains(kinds, c.Kind) {
		add("kind %q: must be one of %s", c.Kind, strings.Join(kinds, ", "))
	}
	if !slices.Contains(formats, c.Format) {
		add("format %q: must be one of text, hex, mac, ip, number", c.Format)
	}
	var err error
	if c.OID, err = normOID(c.OID); err != nil {
		add("oid: %v", err)
	}
	if c.Fallback != "" {
		if c.Fallback, err = normOID(c.Fallback); err != nil {
			add("fallback: %v", err)
		}
	}
	if c.Scale < 0 || c.FallbackScale < 0 {
		add("scale: must be positive")
	}
	if c.FallbackScale != 0 && c.Fallback == "" {
		add("fallback_scale: only with fallback")
	}
	if c.Kind == KindUptime && table {
		add("kind uptime: only for scalars")
	}
	if c.Lookup && (c.Kind == KindCounter || c.Kind == KindUptime) {
		add("lookup: counters and uptimes change every run and cannot be cached")
	}
	if c.Inventory && c.Kind != KindGauge {
		add("inventory: only gauges need it (tags and info columns are in the component already)")
	}
	if err := c.validateTextStates(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (a *Attr) validate() error {
	var errs []error
	add := func(format string, x ...any) { errs = append(errs, fmt.Errorf(format, x...)) }
	if !kpi.ValidName(a.Name) {
		add("name: use lowercase letters, digits and _")
	}
	set := 0
	for _, s := range []string{a.OID, a.Column, a.Count, a.Value} {
		if s != "" {
			set++
		}
	}
	if set != 1 {
		add("set exactly one of oid, column, count and value")
	}
	var err error
	for _, o := range []*string{&a.OID, &a.Column, &a.Count} {
		if *o != "" {
			if *o, err = normOID(*o); err != nil {
				add("%v", err)
			}
		}
	}
	if a.Where != nil {
		if a.Column == "" {
			add("where: only with column")
		}
		if a.Where.Column, err = normOID(a.Where.Column); err != nil {
			add("where.column: %v", err)
		}
		if len(a.Where.In) == 0 {
			add("where.in: list the values that select the row")
		}
	}
	if a.Regex != "" {
		if a.re, err = regexp.Compile(a.Regex); err != nil {
			add("regex: %v", err)
		} else if a.re.NumSubexp() < 1 {
			add("regex %q: needs a capture group: the attribute is its first match", a.Regex)
		}
	}
	if !slices.Contains(formats, a.Format) {
		add("format %q: must be one of text, hex, mac, ip, number", a.Format)
	}
	return errors.Join(errs...)
}

func numericKind(k string) bool {
	return k == KindGauge || k == KindCounter || k == KindHelper || k == KindUptime
}

func validProfileName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// normOID checks a numeric OID and returns it with a leading dot, the form
// gosnmp returns.
func normOID(s string) (string, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), ".")
	if t == "" {
		return "", errors.New("OID missing")
	}
	parts := strings.Split(t, ".")
	if len(parts) < 2 || len(parts) > 128 {
		return "", fmt.Errorf("OID %q: must have 2 to 128 numeric parts", s)
	}
	for _, p := range parts {
		if p == "" || len(p) > 10 || strings.Trim(p, "0123456789") != "" {
			return "", fmt.Errorf("OID %q: only digits separated by dots (profiles use numeric OIDs, not MIB names)", s)
		}
	}
	return "." + t, nil
}

// Library is the set of profiles the collector can use, by name.
type Library struct {
	byName map[string]*Profile
	order  []string // sorted names
}

// LoadLibrary reads the *.yaml profiles of the built-in set, then of every
// extra directory; a profile in a later directory replaces a built-in one
// of the same name (how users fix or extend a shipped profile). The kpis
// sections are checked too: a built-in profile's strictly (English and
// German texts; together with configs/kpis, whose measurement names and
// shared fields it builds on), a user's as the server checks an agent's.
func LoadLibrary(builtin fs.FS, dirs ...string) (*Library, error) {
	lib := &Library{byName: map[string]*Profile{}}
	var errs []error
	shared, err := catalog.ReadFS(configs.KPIDefinitions(), "configs/kpis")
	if err != nil {
		errs = append(errs, err)
	}
	read := func(fsys fs.FS, label string, isBuiltin bool) {
		files, err := fs.Glob(fsys, "*.yaml")
		if err != nil {
			errs = append(errs, err)
			return
		}
		seen := map[string]string{}
		for _, f := range files {
			data, err := fs.ReadFile(fsys, f)
			if err != nil {
				errs = append(errs, fmt.Errorf("profile %s: %w", filepath.Join(label, f), err))
				continue
			}
			p, err := ParseProfile(data, filepath.Join(label, f))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			p.builtin = isBuiltin
			if err := p.checkKPIs(shared); err != nil {
				errs = append(errs, err)
				continue
			}
			if prev, dup := seen[p.Name]; dup {
				errs = append(errs, fmt.Errorf("profile %s: name %q is already used by %s", p.Source, p.Name, prev))
				continue
			}
			seen[p.Name] = p.Source
			lib.byName[p.Name] = p
		}
	}
	if builtin != nil {
		read(builtin, "builtin", true)
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); err != nil {
			errs = append(errs, fmt.Errorf("profiles_dir %s: %w", d, err))
			continue
		}
		read(os.DirFS(d), d, false)
	}
	for name := range lib.byName {
		lib.order = append(lib.order, name)
	}
	slices.Sort(lib.order)
	return lib, errors.Join(errs...)
}

// checkKPIs validates the profile's kpis section: a built-in one with
// catalog.Strict beside the shared definitions, a user's with catalog.User.
func (p *Profile) checkKPIs(shared []catalog.Section) error {
	var err error
	if p.builtin {
		_, err = catalog.New(catalog.Strict, append(slices.Clone(shared), p.KPIs)...)
	} else {
		_, err = catalog.New(catalog.User, p.KPIs)
	}
	if err != nil {
		return fmt.Errorf("profile %s: kpis: %w", p.Source, err)
	}
	return nil
}

// UserKPIs returns the kpis sections of the profiles read from a
// profiles_dir, in name order: the definitions the agent sends the server,
// which has the built-in ones already. A user's profile that replaces a
// built-in one counts as the user's.
func (l *Library) UserKPIs() []catalog.Section {
	var out []catalog.Section
	for _, name := range l.order {
		if p := l.byName[name]; !p.builtin && len(p.KPIs) > 0 {
			out = append(out, p.KPIs)
		}
	}
	return out
}

// Get returns the profile called name.
func (l *Library) Get(name string) (*Profile, bool) {
	p, ok := l.byName[name]
	return p, ok
}

// Names lists the profiles, sorted.
func (l *Library) Names() []string { return slices.Clone(l.order) }

// Auto selects the profiles for a device: those whose sysObjectID prefix
// matches, those whose sys_descr pattern matches sysDescr, those whose
// detect subtree holds a value (detected holds the subtrees that do), and
// those marked always, in this order, so that the inventory attributes of
// vendor profiles win over the generic ones.
func (l *Library) Auto(sysObjectID, sysDescr string, detected map[string]bool) []*Profile {
	var vendor, described, found, generic []*Profile
	for _, name := range l.order {
		p := l.byName[name]
		switch {
		case p.matchesSysObjectID(sysObjectID):
			vendor = append(vendor, p)
		case p.matchesSysDescr(sysDescr):
			described = append(described, p)
		case slices.ContainsFunc(p.Match.Detect, func(o string) bool { return detected[o] }):
			found = append(found, p)
		case p.Match.Always:
			generic = append(generic, p)
		}
	}
	return slices.Concat(vendor, described, found, generic)
}

// matchesSysDescr reports whether sysDescr matches a sys_descr pattern.
func (p *Profile) matchesSysDescr(sysDescr string) bool {
	if sysDescr == "" {
		return false
	}
	return slices.ContainsFunc(p.matchDescr, func(re *regexp.Regexp) bool { return re.MatchString(sysDescr) })
}

// DetectOIDs lists every detect subtree of the library, for one GetNext.
func (l *Library) DetectOIDs() []string {
	var out []string
	for _, name := range l.order {
		for _, o := range l.byName[name].Match.Detect {
			if !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	return out
}

func (p *Profile) matchesSysObjectID(id string) bool {
	if id == "" {
		return false
	}
	id = "." + strings.TrimPrefix(id, ".")
	for _, prefix := range p.matchOIDs {
		if id == prefix || strings.HasPrefix(id, prefix+".") {
			return true
		}
	}
	return false
}
