package exposition

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"

	"github.com/kpilot/kpilot/internal/catalog"
)

// Family is how a defined KPI is exported.
type Family struct {
	Name  string         // kpilot_<measurement>_<field, unit suffix normalised>[_total]
	Type  dto.MetricType // COUNTER for counters, GAUGE for gauges and states
	Unit  string         // the OpenMetrics unit, a suffix of Name ("" for plain numbers)
	Help  string         // the catalog's English description
	Scale float64        // the stored value times Scale is the exported one
}

// promUnit is how one catalog unit is named in Prometheus: the suffix a
// family name ends in, the OpenMetrics unit, the factor from the stored
// value, and the words of a field name that already say the unit (so
// in_octets becomes in_bytes, not in_octets_bytes). Single letters are
// not among them (phase_a is a phase, not amperes), except the
// abbreviations of time units Prometheus' linter refuses (s, h, d).
type promUnit struct {
	suffix, unit string
	scale        float64
	aliases      []string
}

// promUnits follows Prometheus' naming conventions: base units (bytes,
// seconds, ratios), spelled out. Percentages become ratios from 0 to 1,
// bits per second bytes per second.
var promUnits = map[catalog.Unit]promUnit{
	catalog.None:           {scale: 1},
	catalog.Bytes:          {"bytes", "bytes", 1, []string{"bytes", "byte", "octets", "kib", "mib", "gib", "kb", "mb", "gb"}},
	catalog.BytesPerSecond: {"bytes_per_second", "bytes_per_second", 1, []string{"bytes_per_second", "octets_per_second", "per_second", "bps"}},
	catalog.BitsPerSecond:  {"bytes_per_second", "bytes_per_second", 1.0 / 8, []string{"bits_per_second", "per_second", "bps", "bits"}},
	catalog.PerSecond:      {"per_second", "", 1, []string{"per_second", "per_sec", "ps", "rate"}},
	catalog.Seconds:        {"seconds", "seconds", 1, []string{"seconds", "second", "secs", "sec", "s", "ms", "minutes", "min", "hours", "days"}},
	"hours":                {"seconds", "seconds", 3600, []string{"hours", "hour", "h"}}, // values collected in hours or days
	"days":                 {"seconds", "seconds", 86400, []string{"days", "day", "d"}},  // are exported in seconds
	catalog.Timestamp:      {"timestamp_seconds", "seconds", 1, []string{"timestamp_seconds", "timestamp", "time", "ts", "seconds", "at"}},
	catalog.Percent:        {"ratio", "ratio", 0.01, []string{"percent", "percentage", "pct", "ratio"}},
	catalog.Ratio:          {"ratio", "ratio", 1, []string{"ratio", "fraction"}},
	catalog.Celsius:        {"celsius", "celsius", 1, []string{"celsius", "degrees_celsius", "degc"}},
	catalog.Watts:          {"watts", "watts", 1, []string{"watts", "watt"}},
	catalog.VoltAmperes:    {"volt_amperes", "volt_amperes", 1, []string{"volt_amperes", "va"}},
	catalog.Volts:          {"volts", "volts", 1, []string{"volts", "volt"}},
	catalog.Amperes:        {"amperes", "amperes", 1, []string{"amperes", "ampere", "amps"}},
	catalog.Hertz:          {"hertz", "hertz", 1, []string{"hertz", "hz"}},
	catalog.RPM:            {"rpm", "rpm", 1, []string{"rpm"}},
	catalog.DBm:            {"dbm", "dbm", 1, []string{"dbm"}},
	catalog.Joules:         {"joules", "joules", 1, []string{"joules", "joule", "kwh", "wh"}},
}

// reserved are the name endings Prometheus and OpenMetrics keep for other
// types (counters, histograms, summaries, info): a gauge whose name would
// end in one gets _value appended.
var reserved = []string{"_total", "_count", "_sum", "_bucket", "_created", "_info"}

// FamilyOf returns how d is exported. The name is kpilot_<measurement>_
// <field>: a word at the end (or else the start) of the field that names
// its unit (octets, percent, pct, hz, time, hours…) is dropped and the
// Prometheus base unit (bytes, ratio, hertz, timestamp_seconds,
// seconds…) ends every name with a unit; a counter ends in _total. ok is false for what
// is not exported as a number: info KPIs and a counter's derived
// <field>_per_second rate (Prometheus computes rates itself).
func FamilyOf(d catalog.Definition) (Family, bool) {
	if d.Kind == catalog.Info || d.Rate != "" {
		return Family{}, false
	}
	pu, ok := promUnits[d.Unit]
	if !ok {
		pu = promUnit{suffix: string(d.Unit), unit: string(d.Unit), scale: 1}
	}
	base := d.Field
	if d.Kind == catalog.Counter {
		base = strings.TrimSuffix(base, "_total")
	}
	aliases := slices.Clone(pu.aliases)
	slices.SortStableFunc(aliases, func(a, b string) int { return cmp.Compare(len(b), len(a)) }) // longest first
	base = dropUnitWord(base, aliases)
	name := "kpilot_" + d.Measurement
	for _, part := range []string{base, pu.suffix} {
		if part != "" {
			name += "_" + part
		}
	}
	typ := dto.MetricType_GAUGE
	if d.Kind == catalog.Counter {
		typ = dto.MetricType_COUNTER
		name += "_total"
	} else if slices.ContainsFunc(reserved, func(s string) bool { return strings.HasSuffix(name, s) }) {
		name += "_value"
	}
	return Family{Name: name, Type: typ, Unit: pu.unit, Help: help(d), Scale: pu.scale}, true
}

// dropUnitWord removes the word of base that names its unit, at its end
// or else at its start (hours_since_last_run, seconds_on_battery), so
// the name says its unit once, in base units, at the end.
func dropUnitWord(base string, aliases []string) string {
	for _, a := range aliases {
		if base == a {
			return ""
		}
		if s, ok := strings.CutSuffix(base, "_"+a); ok {
			return s
		}
	}
	for _, a := range aliases {
		if s, ok := strings.CutPrefix(base, a+"_"); ok {
			return s
		}
	}
	return base
}

// help is the catalog's English description (or name), with what the
// exported value means where it differs from the stored one, and a
// state's values.
func help(d catalog.Definition) string {
	h := strings.TrimSpace(cmp.Or(d.Description.EN, d.Name.EN))
	if h != "" && !strings.HasSuffix(h, ".") {
		h += "."
	}
	switch d.Unit {
	case catalog.Percent:
		h += " As a ratio from 0 to 1."
	case catalog.BitsPerSecond:
		h += " In bytes per second."
	}
	if d.Kind == catalog.State {
		var vals []string
		for _, v := range slices.Sorted(maps.Keys(d.States)) {
			vals = append(vals, fmt.Sprintf("%d %s (%s)", v, d.States[v].Name.EN, d.States[v].Severity))
		}
		h += " Values: " + strings.Join(vals, ", ") + "."
	}
	return strings.TrimSpace(h)
}
