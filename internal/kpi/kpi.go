// Package kpi defines the shapes that collectors produce and the server
// stores: a Sample is one timestamped set of KPI fields of one asset, an
// Inventory is one configuration snapshot of one asset.
package kpi

import (
	"fmt"
	"time"

	"github.com/kpilot/kpilot/internal/lineproto"
)

// Sample is one reading of an asset at one time. Measurement, tag keys and
// field keys are snake_case names (see ValidName). Field values are int64,
// uint64, float64, bool or string. Time is the moment of collection, never
// the moment of sending: a replayed sample then overwrites its earlier copy
// in InfluxDB instead of adding a second point.
type Sample struct {
	Asset       string            // the agent-side asset id of the target
	Measurement string            // for example "interface"
	Tags        map[string]string // series identity within the asset, for example ifindex
	Fields      map[string]any
	Time        time.Time
}

// Inventory is the configuration of one asset as read at Time. Attributes
// holds scalar facts (manufacturer, model, serial, firmware, cpu_count, …);
// Components holds lists of parts (interfaces, volumes, DIMMs, …).
type Inventory struct {
	Asset      string                      `json:"asset"`
	Time       time.Time                   `json:"time"`
	Attributes map[string]any              `json:"attributes,omitempty"`
	Components map[string][]map[string]any `json:"components,omitempty"`
}

// ValidName reports whether s may be used as a measurement, tag key or field
// key: lowercase snake_case, starting with a letter, at most 63 bytes
// (^[a-z][a-z0-9_]{0,62}$). The server builds InfluxQL queries only from names
// that pass this check. It runs for every field of every sample, so it is a
// loop rather than a regexp.
func ValidName[T string | []byte](s T) bool {
	if len(s) == 0 || len(s) > 63 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !nameByte[s[i]] {
			return false
		}
	}
	return true
}

// ValidTagValue reports whether line protocol can carry v as a tag value:
// no control characters, valid UTF-8 and no trailing backslash (which
// would escape the separator after it). The server refuses the rest.
func ValidTagValue(v string) bool {
	ok, _ := lineproto.CheckTagValue(v)
	return ok
}

// nameByte marks the bytes a name may have after its first: [a-z0-9_].
var nameByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
	}
	return t
}()

// Validate checks a sample before it is spooled, so that a collector bug is
// reported where it happens instead of being refused by the server later.
func (s Sample) Validate() error {
	if s.Asset == "" {
		return fmt.Errorf("sample %s: empty asset", s.Measurement)
	}
	if !ValidTagValue(s.Asset) {
		return fmt.Errorf("sample %s: asset %q has control characters, invalid UTF-8 or a trailing backslash", s.Measurement, s.Asset)
	}
	if !ValidName(s.Measurement) {
		return fmt.Errorf("sample of asset %s: invalid measurement name %q", s.Asset, s.Measurement)
	}
	if len(s.Fields) == 0 {
		return fmt.Errorf("sample %s of asset %s: no fields", s.Measurement, s.Asset)
	}
	for k, v := range s.Tags {
		if !ValidName(k) {
			return fmt.Errorf("sample %s of asset %s: invalid tag key %q", s.Measurement, s.Asset, k)
		}
		if !ValidTagValue(v) {
			return fmt.Errorf("sample %s of asset %s: tag %s: value %q has control characters, invalid UTF-8 or a trailing backslash", s.Measurement, s.Asset, k, v)
		}
	}
	for k, v := range s.Fields {
		if !ValidName(k) {
			return fmt.Errorf("sample %s of asset %s: invalid field key %q", s.Measurement, s.Asset, k)
		}
		switch v.(type) {
		case int64, uint64, float64, bool, string:
		default:
			return fmt.Errorf("sample %s of asset %s: field %s has unsupported type %T", s.Measurement, s.Asset, k, v)
		}
	}
	if s.Time.IsZero() {
		return fmt.Errorf("sample %s of asset %s: zero time", s.Measurement, s.Asset)
	}
	return nil
}

// Numeric returns a field value as a metric sample: numbers as they are,
// booleans as 1 or 0. Strings and other types are not numeric.
func Numeric(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint32:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}
