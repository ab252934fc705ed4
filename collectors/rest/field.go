package rest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"go.yaml.in/yaml/v3"
)

// Field maps one value of a row to a KPI field or inventory attribute.
// In YAML it is a gjson path, or a mapping with path and conversion.
type Field struct {
	Path string `yaml:"path"`
	// Type is float (the default for samples), int, string (the default
	// for inventory), bool, time (Unix seconds) or age (seconds since the
	// time at Path).
	Type string `yaml:"type"`
	// Unit is the unit of the value at Path (B, KB, KiB, MB, MiB, GB, GiB,
	// TB, TiB, ns, us, ms, s, min, h, d, fraction, percent); To is the
	// unit of the field (by default bytes, seconds or percent).
	Unit string `yaml:"unit"`
	To   string `yaml:"to"`
	// Format of a time: rfc3339 (default), unix, unix_ms or a Go layout.
	Format string `yaml:"format"`
	// Map turns enumerated strings into numbers (Success: 0, Warning: 1,
	// Failed: 2); Default is used for a string the map lacks, else the
	// row's field is reported as an error.
	Map     map[string]float64 `yaml:"map"`
	Default *float64           `yaml:"default"`
	// Value is a constant instead of a path.
	Value string `yaml:"value"`

	from, to float64 // sizes of Unit and To in their dimension's base, set by validate
}

// UnmarshalYAML accepts a plain path as shorthand.
func (f *Field) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		f.Path = n.Value
		return nil
	}
	type plain Field
	return n.Decode((*plain)(f))
}

// units maps a unit to its dimension and its size in the dimension's base.
var units = map[string]struct {
	dim  string
	size float64
}{
	"B": {"bytes", 1}, "KB": {"bytes", 1e3}, "MB": {"bytes", 1e6}, "GB": {"bytes", 1e9}, "TB": {"bytes", 1e12},
	"KiB": {"bytes", 1 << 10}, "MiB": {"bytes", 1 << 20}, "GiB": {"bytes", 1 << 30}, "TiB": {"bytes", 1 << 40},
	"ns": {"time", 1}, "us": {"time", 1e3}, "ms": {"time", 1e6}, "s": {"time", 1e9},
	"min": {"time", 60e9}, "h": {"time", 3600e9}, "d": {"time", 86400e9},
	"fraction": {"ratio", 100}, "percent": {"ratio", 1},
}

var baseUnit = map[string]string{"bytes": "B", "time": "s", "ratio": "percent"}

func (f *Field) validate() error {
	var errs []error
	if f.Path == "" && f.Value == "" {
		errs = append(errs, errors.New("path missing"))
	}
	switch f.Type {
	case "", "float", "int", "string", "bool", "time", "age":
	default:
		errs = append(errs, fmt.Errorf("type %q: must be float, int, string, bool, time or age", f.Type))
	}
	f.from, f.to = 1, 1
	from, to := f.Unit, f.To
	if f.Type == "age" && from == "" {
		from = "s"
	}
	if from != "" || to != "" {
		fu, ok := units[from]
		if !ok && from != "" {
			errs = append(errs, fmt.Errorf("unit %q: not one of B KB KiB MB MiB GB GiB TB TiB ns us ms s min h d fraction percent", from))
		}
		if to == "" && ok {
			to = baseUnit[fu.dim]
		}
		if from == "" {
			errs = append(errs, errors.New("to needs unit (the unit of the value at path)"))
		}
		tu, ok2 := units[to]
		switch {
		case !ok2:
			errs = append(errs, fmt.Errorf("to %q: not a known unit", to))
		case ok && fu.dim != tu.dim:
			errs = append(errs, fmt.Errorf("unit %s cannot be converted to %s", from, to))
		case ok:
			f.from, f.to = fu.size, tu.size
		}
	}
	if f.Type == "time" && (f.Unit != "" || f.To != "") {
		errs = append(errs, errors.New("type time is Unix seconds; unit and to do not apply"))
	}
	if (f.Type == "string" || f.Type == "bool") && (f.Unit != "" || len(f.Map) > 0) {
		errs = append(errs, fmt.Errorf("type %s: unit and map do not apply", f.Type))
	}
	if f.Default != nil && len(f.Map) == 0 {
		errs = append(errs, errors.New("default belongs to map"))
	}
	return errors.Join(errs...)
}

// errMissing marks a path absent from a row (or null): the field is left
// out, which is normal (APIs omit what does not apply).
var errMissing = errors.New("missing")

// extract reads the field from row. kind is the default type: float for
// samples, string for inventory.
func (f *Field) extract(row gjson.Result, kind string, now time.Time) (any, error) {
	var v gjson.Result
	if f.Value != "" {
		v = gjson.Result{Type: gjson.String, Str: f.Value, Raw: strconv.Quote(f.Value)}
		if n, err := strconv.ParseFloat(f.Value, 64); err == nil {
			v = gjson.Result{Type: gjson.Number, Num: n, Raw: f.Value}
		}
	} else {
		v = row.Get(f.Path)
	}
	if !v.Exists() || v.Type == gjson.Null {
		return nil, errMissing
	}
	typ := f.Type
	if typ == "" {
		typ = kind
		if len(f.Map) > 0 {
			typ = "float"
		}
	}
	if v.IsArray() || v.IsObject() {
		if typ == "int" && v.IsArray() && f.Path != "" && strings.HasSuffix(f.Path, "#") {
			return int64(v.Int()), nil // a count: path ending in .#
		}
		return nil, fmt.Errorf("%s where a %s belongs", shorten(v.Raw), typ)
	}
	switch typ {
	case "string":
		return v.String(), nil
	case "bool":
		switch {
		case v.Type == gjson.True || v.Type == gjson.False:
			return v.Bool(), nil
		case v.Type == gjson.String:
			b, err := strconv.ParseBool(strings.ToLower(v.Str))
			if err != nil {
				return nil, fmt.Errorf("%q where a bool belongs", v.Str)
			}
			return b, nil
		}
		return nil, fmt.Errorf("%s where a bool belongs", shorten(v.Raw))
	case "time":
		t, err := f.parseTime(v)
		if err != nil {
			return nil, err
		}
		return t.Unix(), nil
	case "age":
		t, err := f.parseTime(v)
		if err != nil {
			return nil, err
		}
		return f.convert(math.Max(0, now.Sub(t).Seconds())), nil
	}
	n, err := f.number(v)
	if err != nil {
		return nil, err
	}
	n = f.convert(n)
	if math.IsInf(n, 0) || math.IsNaN(n) {
		return nil, fmt.Errorf("%s is not a finite number", shorten(v.Raw))
	}
	if typ == "int" {
		if math.IsNaN(n) || math.Abs(n) > 1<<63-1 {
			return nil, fmt.Errorf("%s does not fit an integer", v.Raw)
		}
		return int64(math.Round(n)), nil
	}
	return n, nil
}

// convert changes n from Unit to To: multiplying by the integral size
// first and dividing last keeps 456 us at exactly 0.000456 s.
func (f *Field) convert(n float64) float64 {
	if f.from == f.to {
		return n
	}
	return n * f.from / f.to
}

// number reads a numeric value: a JSON number, a numeric string ("132"),
// a bool (1 or 0), or a string from Map.
func (f *Field) number(v gjson.Result) (float64, error) {
	switch v.Type {
	case gjson.Number:
		return v.Num, nil
	case gjson.True:
		return 1, nil
	case gjson.False:
		return 0, nil
	case gjson.String:
		if len(f.Map) > 0 {
			if n, ok := f.Map[v.Str]; ok {
				return n, nil
			}
			if f.Default != nil {
				return *f.Default, nil
			}
			return 0, fmt.Errorf("%q is not in the map (%s)", v.Str, mapKeys(f.Map))
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(v.Str), 64)
		if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return 0, fmt.Errorf("%q where a number belongs", shorten(v.Str))
		}
		return n, nil
	}
	return 0, fmt.Errorf("%s where a number belongs", shorten(v.Raw))
}

func (f *Field) parseTime(v gjson.Result) (time.Time, error) {
	switch f.Format {
	case "unix", "unix_ms":
		if v.Type != gjson.Number {
			n, err := strconv.ParseFloat(v.String(), 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("%s where a Unix time belongs", shorten(v.Raw))
			}
			v.Num = n
		}
		if v.Num <= 0 {
			return time.Time{}, errMissing // 0 means never in most APIs
		}
		if f.Format == "unix_ms" {
			return time.UnixMilli(int64(v.Num)), nil
		}
		sec, frac := math.Modf(v.Num)
		return time.Unix(int64(sec), int64(frac*1e9)), nil
	case "", "rfc3339":
		t, err := time.Parse(time.RFC3339Nano, v.String())
		if err != nil {
			return time.Time{}, fmt.Errorf("%s is not an RFC 3339 time", shorten(v.Raw))
		}
		return t, nil
	default:
		t, err := time.Parse(f.Format, v.String())
		if err != nil {
			return time.Time{}, fmt.Errorf("%s does not match the time format %q", shorten(v.Raw), f.Format)
		}
		return t, nil
	}
}

func mapKeys(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

// shorten keeps error messages readable when a value is a whole document.
func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
