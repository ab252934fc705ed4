// Package catalog gives every KPI kpilot stores a meaning: a display name
// and description in English and German, a unit, a kind (gauge, counter,
// state, info), the asset categories it is a key figure of, default
// thresholds and a data class. Definitions live beside what produces the
// values (SNMP profiles, REST templates, the Redfish mapping in
// configs/kpis), in a `kpis:` section of the same YAML file; the agent and
// the server read the same built-in files, and a user's own profiles add
// theirs. See docs/kpi-catalog.md.
package catalog

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"unicode"

	"github.com/kpilot/kpilot/internal/kpi"
)

// Kind says how a value behaves and so how it is shown.
type Kind string

// Kinds.
const (
	Gauge   Kind = "gauge"   // a level read as it is (temperature, percent used)
	Counter Kind = "counter" // a running total; shown as its rate
	State   Kind = "state"   // a code whose values have meanings and severities
	Info    Kind = "info"    // a fact (a text, a version, a timestamp), not charted
)

// Unit is the unit of a value. kpilot stores base units (docs/kpi-catalog.md):
// bytes rather than KiB, seconds rather than ticks, degrees Celsius.
type Unit string

// Units. None is a plain number (a count, a code).
const (
	None           Unit = ""
	Bytes          Unit = "bytes"
	BytesPerSecond Unit = "bytes_per_second"
	BitsPerSecond  Unit = "bits_per_second"
	PerSecond      Unit = "per_second" // operations, packets, events per second
	Seconds        Unit = "seconds"
	Hours          Unit = "hours"     // only for values collected in hours (a REST template's hours since the last backup)
	Days           Unit = "days"      // only for values collected in days (a backup repository's days until full)
	Timestamp      Unit = "timestamp" // seconds since 1970-01-01 UTC
	Percent        Unit = "percent"   // 0 to 100
	Ratio          Unit = "ratio"     // 0 to 1
	Celsius        Unit = "celsius"
	Watts          Unit = "watts"
	VoltAmperes    Unit = "volt_amperes"
	Volts          Unit = "volts"
	Amperes        Unit = "amperes"
	Hertz          Unit = "hertz"
	RPM            Unit = "rpm"
	DBm            Unit = "dbm" // optical power, decibel-milliwatts
	Joules         Unit = "joules"
)

var units = []Unit{None, Bytes, BytesPerSecond, BitsPerSecond, PerSecond, Seconds, Hours, Days, Timestamp, Percent, Ratio,
	Celsius, Watts, VoltAmperes, Volts, Amperes, Hertz, RPM, DBm, Joules}

// Units returns every unit a definition may have.
func Units() []Unit { return slices.Clone(units) }

// Class says who may read a value besides the asset's own organization.
type Class string

// Data classes (DESIGN.md, visibility): ClassAll values are seen by
// everyone who may see the asset; ClassService values (health readings,
// events) only by its service partners, never by a reseller.
const (
	ClassAll     Class = "all"
	ClassService Class = "service"
)

// Severity ranks a state value.
type Severity string

// Severities, from good to bad; Unknown is a value that says nothing.
const (
	OK       Severity = "ok"
	Unknown  Severity = "unknown"
	Warning  Severity = "warning"
	Critical Severity = "critical"
)

// Categories are the asset categories a definition may rank itself a key
// figure of (DESIGN.md, "Domain model").
var categories = []string{"server", "storage", "backup", "network", "power", "printer", "software", "licence"}

// Categories returns the asset categories.
func Categories() []string { return slices.Clone(categories) }

// Text is a display text in English and German. English is required; a
// missing German text shows the English one.
type Text struct {
	EN string `yaml:"en" json:"en"`
	DE string `yaml:"de,omitempty" json:"de,omitempty"`
}

// In returns the text in lang ("de" or anything else for English).
func (t Text) In(lang string) string {
	if strings.HasPrefix(lang, "de") && t.DE != "" {
		return t.DE
	}
	return t.EN
}

// StateValue is the meaning of one value of a state KPI.
type StateValue struct {
	Name     Text     `yaml:"name" json:"name"`
	Severity Severity `yaml:"severity" json:"severity"`
}

// Thresholds are a gauge's default warning and critical levels; check-up
// rules override them. Below marks values that are bad when low (a UPS
// battery's charge).
type Thresholds struct {
	Warning  *float64 `yaml:"warning,omitempty" json:"warning,omitempty"`
	Critical *float64 `yaml:"critical,omitempty" json:"critical,omitempty"`
	Below    bool     `yaml:"below,omitempty" json:"below,omitempty"`
}

// Level returns the severity of v against t: OK, Warning or Critical.
func (t Thresholds) Level(v float64) Severity {
	past := func(limit *float64) bool {
		if limit == nil {
			return false
		}
		if t.Below {
			return v <= *limit
		}
		return v >= *limit
	}
	switch {
	case past(t.Critical):
		return Critical
	case past(t.Warning):
		return Warning
	}
	return OK
}

// Definition is the meaning of one field of one measurement.
type Definition struct {
	Measurement string               `yaml:"-" json:"measurement"`
	Field       string               `yaml:"-" json:"field"`
	Name        Text                 `yaml:"name" json:"name"`
	Description Text                 `yaml:"description" json:"description"`
	Unit        Unit                 `yaml:"unit,omitempty" json:"unit"`
	Kind        Kind                 `yaml:"kind" json:"kind"`
	States      map[int64]StateValue `yaml:"states,omitempty" json:"states,omitempty"`
	// Key ranks the KPI among the key figures of asset categories: 1
	// first. A category it is not listed for does not show it up front.
	Key        map[string]int `yaml:"key,omitempty" json:"key,omitempty"`
	Thresholds *Thresholds    `yaml:"thresholds,omitempty" json:"thresholds,omitempty"`
	Class      Class          `yaml:"class,omitempty" json:"class"`
	// Health false says a state KPI is not its device's health (a link
	// down, a poll's outcome, a power state an operator chose): the
	// health check-up and an asset's overall health leave it out. Unset,
	// every state with a warning or critical value counts (Health).
	Health *bool `yaml:"health,omitempty" json:"health,omitempty"`
	// Rate is set on the definition Lookup derives for a counter's
	// <field>_per_second: the field the rate is of.
	Rate string `yaml:"-" json:"rate_of,omitempty"`
}

// IsHealth reports whether d is a state of its device's health: a state
// KPI with a warning or critical value, not marked health: false.
func (d Definition) IsHealth() bool {
	if d.Kind != State || (d.Health != nil && !*d.Health) {
		return false
	}
	for _, s := range d.States {
		if s.Severity == Warning || s.Severity == Critical {
			return true
		}
	}
	return false
}

// StateOf returns the meaning of value v of a state KPI; ok is false for
// a value the definition does not name (or one that is not a whole
// number), which says nothing.
func (d Definition) StateOf(v float64) (StateValue, bool) {
	if d.Kind != State || v != math.Trunc(v) || math.Abs(v) > 1<<53 {
		return StateValue{}, false
	}
	s, ok := d.States[int64(v)]
	return s, ok
}

// ServiceOnly reports whether the value is service data.
func (d Definition) ServiceOnly() bool { return d.Class == ClassService }

// Measurement is what one series of a measurement stands for ("Interface",
// "Storage volume") and its fields' definitions.
type Measurement struct {
	Measurement string                 `yaml:"measurement" json:"measurement"`
	Name        Text                   `yaml:"name" json:"name"`
	Description Text                   `yaml:"description,omitempty" json:"description"`
	Fields      map[string]*Definition `yaml:"fields" json:"fields,omitempty"`
}

// Section is the `kpis:` list of a profile, template or definitions file.
type Section []Measurement

// Limits bound a catalog that comes from outside (an agent's definitions).
const (
	MaxDefinitions = 4096
	maxName        = 120
	maxDescription = 1000
	maxStates      = 64
	maxRank        = 100
)

// Catalog is a set of definitions, looked up by measurement and field.
// A Catalog is not changed after it is built, so it may be shared.
type Catalog struct {
	measurements map[string]Measurement // without Fields
	defs         map[key]Definition
}

type key struct{ measurement, field string }

// Strictness of validation: built-in definitions must be complete in both
// languages; a user's own need an English name.
type Strictness int

// Strictness levels.
const (
	User Strictness = iota
	Strict
)

// New builds a catalog from sections, checking every definition. A field
// defined twice must be defined the same way both times (so two profiles
// that read the same KPI agree on its meaning); so must a measurement's
// name. A section may leave a measurement's name out where another one
// gives it (configs/kpis/common.yaml names the measurements several
// sources share); with Strict, some section must.
func New(strict Strictness, sections ...Section) (*Catalog, error) {
	c := &Catalog{measurements: map[string]Measurement{}, defs: map[key]Definition{}}
	var errs []error
	for _, sec := range sections {
		for _, m := range sec {
			if err := c.add(m, strict); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if strict == Strict {
		for _, name := range slices.Sorted(maps.Keys(c.measurements)) {
			if c.measurements[name].Name.EN == "" {
				errs = append(errs, fmt.Errorf("measurement %s: no section names it (name: {en, de})", name))
			}
		}
	}
	if len(c.defs) > MaxDefinitions && strict == User {
		errs = append(errs, fmt.Errorf("%d definitions; at most %d", len(c.defs), MaxDefinitions))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Catalog) add(m Measurement, strict Strictness) error {
	if !kpi.ValidName(m.Measurement) {
		return fmt.Errorf("measurement %q: not a valid name (^[a-z][a-z0-9_]{0,62}$)", m.Measurement)
	}
	var errs []error
	// A section may add fields to a measurement another section names
	// (a profile's own fields of the shared temperature); New checks that
	// one does.
	if err := checkText(m.Name, "name", maxName, strict, m.Name.EN != ""); err != nil {
		errs = append(errs, fmt.Errorf("measurement %s: %w", m.Measurement, err))
	}
	if err := checkText(m.Description, "description", maxDescription, strict, false); err != nil {
		errs = append(errs, fmt.Errorf("measurement %s: %w", m.Measurement, err))
	}
	head := Measurement{Measurement: m.Measurement, Name: m.Name, Description: m.Description}
	if have, ok := c.measurements[m.Measurement]; ok && head.Name.EN != "" {
		switch {
		case have.Name.EN == "":
			c.measurements[m.Measurement] = head
		case have.Name != head.Name || (head.Description.EN != "" && have.Description.EN != "" && have.Description != head.Description):
			errs = append(errs, fmt.Errorf("measurement %s: defined twice with different names or descriptions", m.Measurement))
		case have.Description.EN == "":
			// A later file may describe what an earlier one only named.
			c.measurements[m.Measurement] = head
		}
	} else if !ok {
		c.measurements[m.Measurement] = head
	}
	for _, f := range slices.Sorted(maps.Keys(m.Fields)) {
		d := m.Fields[f]
		if d == nil {
			errs = append(errs, fmt.Errorf("%s.%s: empty definition", m.Measurement, f))
			continue
		}
		def := *d
		def.Measurement, def.Field, def.Rate = m.Measurement, f, "" // from the section, whatever JSON said
		if def.Class == "" {
			def.Class = ClassAll
		}
		if err := def.validate(strict); err != nil {
			errs = append(errs, fmt.Errorf("%s.%s: %w", m.Measurement, f, err))
			continue
		}
		k := key{m.Measurement, f}
		if have, ok := c.defs[k]; ok && !have.equal(def) {
			errs = append(errs, fmt.Errorf("%s.%s: defined twice, differently", m.Measurement, f))
			continue
		}
		c.defs[k] = def
	}
	return errors.Join(errs...)
}

func checkText(t Text, what string, limit int, strict Strictness, required bool) error {
	switch {
	case required && strings.TrimSpace(t.EN) == "":
		return fmt.Errorf("%s: English text (en) missing", what)
	case strict == Strict && required && strings.TrimSpace(t.DE) == "":
		return fmt.Errorf("%s: German text (de) missing", what)
	case len(t.EN) > limit || len(t.DE) > limit:
		return fmt.Errorf("%s: longer than %d bytes", what, limit)
	}
	for _, s := range []string{t.EN, t.DE} {
		// C1 controls too: a terminal takes U+009B for an escape sequence.
		if strings.ContainsFunc(s, unicode.IsControl) {
			return fmt.Errorf("%s: control characters", what)
		}
	}
	return nil
}

func (d Definition) validate(strict Strictness) error {
	if !kpi.ValidName(d.Field) {
		return fmt.Errorf("not a valid field name (^[a-z][a-z0-9_]{0,62}$)")
	}
	var errs []error
	if err := checkText(d.Name, "name", maxName, strict, true); err != nil {
		errs = append(errs, err)
	}
	if err := checkText(d.Description, "description", maxDescription, strict, strict == Strict); err != nil {
		errs = append(errs, err)
	}
	if !slices.Contains(units, d.Unit) {
		errs = append(errs, fmt.Errorf("unit %q unknown; one of %s", d.Unit, joinUnits()))
	}
	switch d.Kind {
	case Gauge, Counter, Info:
		if len(d.States) > 0 {
			errs = append(errs, fmt.Errorf("states given for kind %s; only kind state has them", d.Kind))
		}
	case State:
		if len(d.States) == 0 {
			errs = append(errs, fmt.Errorf("kind state needs states (value: {name, severity})"))
		}
	default:
		errs = append(errs, fmt.Errorf("kind %q unknown; one of gauge, counter, state, info", d.Kind))
	}
	if len(d.States) > maxStates {
		errs = append(errs, fmt.Errorf("%d states; at most %d", len(d.States), maxStates))
	}
	for _, v := range slices.Sorted(maps.Keys(d.States)) {
		s := d.States[v]
		if err := checkText(s.Name, fmt.Sprintf("state %d name", v), maxName, strict, true); err != nil {
			errs = append(errs, err)
		}
		if !slices.Contains([]Severity{OK, Unknown, Warning, Critical}, s.Severity) {
			errs = append(errs, fmt.Errorf("state %d: severity %q unknown; one of ok, unknown, warning, critical", v, s.Severity))
		}
	}
	for _, cat := range slices.Sorted(maps.Keys(d.Key)) {
		if !slices.Contains(categories, cat) {
			errs = append(errs, fmt.Errorf("key: category %q unknown; one of %s", cat, strings.Join(categories, ", ")))
		}
		if r := d.Key[cat]; r < 1 || r > maxRank {
			errs = append(errs, fmt.Errorf("key: rank %d for %s; ranks are 1 (first) to %d", r, cat, maxRank))
		}
	}
	if t := d.Thresholds; t != nil {
		switch {
		case d.Kind != Gauge:
			errs = append(errs, fmt.Errorf("thresholds on kind %s; only gauges have them", d.Kind))
		case t.Warning == nil && t.Critical == nil:
			errs = append(errs, fmt.Errorf("thresholds: neither warning nor critical"))
		case !finite(t.Warning) || !finite(t.Critical):
			errs = append(errs, fmt.Errorf("thresholds: warning %g or critical %g is not a number", deref(t.Warning), deref(t.Critical)))
		case t.Warning != nil && t.Critical != nil && !t.Below && *t.Critical < *t.Warning:
			errs = append(errs, fmt.Errorf("thresholds: critical %g below warning %g (set below: true for values bad when low)", *t.Critical, *t.Warning))
		case t.Warning != nil && t.Critical != nil && t.Below && *t.Critical > *t.Warning:
			errs = append(errs, fmt.Errorf("thresholds: with below, critical %g above warning %g", *t.Critical, *t.Warning))
		}
	}
	if d.Health != nil && d.Kind != State {
		errs = append(errs, fmt.Errorf("health on kind %s; only kind state has it", d.Kind))
	}
	if d.Class != ClassAll && d.Class != ClassService {
		errs = append(errs, fmt.Errorf("class %q unknown; all or service", d.Class))
	}
	return errors.Join(errs...)
}

// finite reports whether a threshold is absent or a finite number: YAML
// reads .nan and .inf, against which every comparison says "fine".
func finite(v *float64) bool { return v == nil || (!math.IsNaN(*v) && !math.IsInf(*v, 0)) }

func deref(v *float64) float64 {
	if v == nil {
		return 0
	}
	return *v
}

func joinUnits() string {
	s := make([]string, len(units))
	for i, u := range units {
		s[i] = cmp.Or(string(u), `"" (a plain number)`)
	}
	return strings.Join(s, ", ")
}

func (d Definition) equal(o Definition) bool {
	return d.Name == o.Name && d.Description == o.Description && d.Unit == o.Unit && d.Kind == o.Kind &&
		maps.Equal(d.States, o.States) && maps.Equal(d.Key, o.Key) && d.Class == o.Class && d.IsHealth() == o.IsHealth() &&
		thresholdsEqual(d.Thresholds, o.Thresholds)
}

func thresholdsEqual(a, b *Thresholds) bool {
	if a == nil || b == nil {
		return a == b
	}
	eq := func(x, y *float64) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	return a.Below == b.Below && eq(a.Warning, b.Warning) && eq(a.Critical, b.Critical)
}

// rateSuffix is what the agent appends to a counter's name for its rate.
const rateSuffix = "_per_second"

// Lookup returns the definition of measurement.field. A counter's rate
// (<field>_per_second, which the SNMP collector computes) is defined by
// its counter: a gauge in the counter's unit per second.
func (c *Catalog) Lookup(measurement, field string) (Definition, bool) {
	if c == nil {
		return Definition{}, false
	}
	if d, ok := c.defs[key{measurement, field}]; ok {
		return d, true
	}
	base, ok := strings.CutSuffix(field, rateSuffix)
	if !ok {
		return Definition{}, false
	}
	d, ok := c.defs[key{measurement, base}]
	if !ok || d.Kind != Counter {
		return Definition{}, false
	}
	d.Field, d.Rate, d.Kind = field, base, Gauge
	d.Unit = RateUnit(d.Unit)
	d.Name = Text{EN: d.Name.EN + " per second", DE: d.Name.DE + " pro Sekunde"}
	if d.Name.DE == " pro Sekunde" {
		d.Name.DE = ""
	}
	d.Key, d.Thresholds = nil, nil
	return d, true
}

// RateUnit is the unit of a counter's rate.
func RateUnit(u Unit) Unit {
	switch u {
	case Bytes:
		return BytesPerSecond
	case Seconds:
		return Ratio // seconds of busy time per second
	case Joules:
		return Watts
	}
	return PerSecond
}

// MeasurementInfo returns what a series of measurement stands for.
func (c *Catalog) MeasurementInfo(measurement string) (Measurement, bool) {
	if c == nil {
		return Measurement{}, false
	}
	m, ok := c.measurements[measurement]
	return m, ok
}

// Definitions returns every definition, sorted by measurement and field.
func (c *Catalog) Definitions() []Definition {
	if c == nil {
		return nil
	}
	out := slices.Collect(maps.Values(c.defs))
	slices.SortFunc(out, func(a, b Definition) int {
		return cmp.Or(cmp.Compare(a.Measurement, b.Measurement), cmp.Compare(a.Field, b.Field))
	})
	return out
}

// Measurements returns every measurement's name and description, sorted.
func (c *Catalog) Measurements() []Measurement {
	if c == nil {
		return nil
	}
	out := slices.Collect(maps.Values(c.measurements))
	slices.SortFunc(out, func(a, b Measurement) int { return cmp.Compare(a.Measurement, b.Measurement) })
	return out
}

// Len returns the number of definitions.
func (c *Catalog) Len() int {
	if c == nil {
		return 0
	}
	return len(c.defs)
}

// Overlay returns a catalog with c's definitions and, for every
// measurement and field c does not define, extra's. The built-in catalog
// is c on the server, so an agent's definitions add meanings but never
// change a built-in one.
func (c *Catalog) Overlay(extra *Catalog) *Catalog {
	out := &Catalog{measurements: map[string]Measurement{}, defs: map[key]Definition{}}
	if c != nil {
		maps.Copy(out.measurements, c.measurements)
		maps.Copy(out.defs, c.defs)
	}
	if extra == nil {
		return out
	}
	for k, m := range extra.measurements {
		if _, ok := out.measurements[k]; !ok {
			out.measurements[k] = m
		}
	}
	for k, d := range extra.defs {
		if _, ok := out.defs[k]; !ok {
			out.defs[k] = d
		}
	}
	return out
}

// KeyFigures returns the definitions that are key figures of category,
// by rank.
func (c *Catalog) KeyFigures(category string) []Definition {
	var out []Definition
	for _, d := range c.Definitions() {
		if _, ok := d.Key[category]; ok {
			out = append(out, d)
		}
	}
	slices.SortStableFunc(out, func(a, b Definition) int { return cmp.Compare(a.Key[category], b.Key[category]) })
	return out
}

// Section returns the catalog as a section (for sending or writing out).
func (c *Catalog) Section() Section {
	var out Section
	byM := map[string]*Measurement{}
	for _, m := range c.Measurements() {
		mm := m
		mm.Fields = map[string]*Definition{}
		byM[m.Measurement] = &mm
	}
	for _, d := range c.Definitions() {
		m := byM[d.Measurement]
		if m == nil {
			m = &Measurement{Measurement: d.Measurement, Fields: map[string]*Definition{}}
			byM[d.Measurement] = m
		}
		dd := d
		m.Fields[d.Field] = &dd
	}
	for _, k := range slices.Sorted(maps.Keys(byM)) {
		out = append(out, *byM[k])
	}
	return out
}
