package redfish

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/stmcginnis/gofish/schemas"
)

// decode decodes a Redfish document into v, a pointer to a gofish schema
// struct. BMCs do not always keep to the schema: "N/A" or "" where a number
// belongs, a number where text belongs, a string where an object belongs.
// Such a property is dropped and named in the returned list; everything
// else in the document is still decoded. Only a document that is not JSON
// at all, or one still refused after dropping, is an error.
//
// Some gofish types read certain numbers leniently (see lenient): they
// turn text that is not a number into 0 instead of failing, so "N/A" W
// would read as 0 W. Documents of those types are checked for such values
// even when they decode.
func decode(body []byte, v any) (dropped []string, err error) {
	err = json.Unmarshal(body, v)
	t := reflect.TypeOf(v).Elem()
	if err == nil && !lenient[t] {
		return nil, nil
	}
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) && !json.Valid(body) { // gofish's own decoding may fail with a syntax error too
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	// A lenient type reads more than the plain types say (a number as
	// MemberId, one object for a list): drop only what it would make 0
	// of first, everything mistyped only if that is not enough.
	modes := []scrubMode{scrubAll}
	if lenient[t] {
		modes = []scrubMode{scrubNumbers, scrubAll}
	}
	for i, mode := range modes {
		var doc any
		d := json.NewDecoder(bytes.NewReader(body))
		d.UseNumber()
		if derr := d.Decode(&doc); derr != nil {
			return nil, fmt.Errorf("not JSON: %w", derr)
		}
		dropped = nil
		doc, _ = scrub(t, doc, "", mode, &dropped)
		if err == nil && len(dropped) == 0 {
			return nil, nil // decoded right the first time
		}
		if obj, ok := doc.(map[string]any); ok && t == powerType && obj["PowerControl"] == nil {
			// gofish's Power fails without PowerControl (it decodes the
			// missing list as JSON): a Power with power supplies only.
			obj["PowerControl"] = []any{}
		}
		clean, merr := json.Marshal(doc)
		if merr != nil {
			return dropped, merr
		}
		reflect.ValueOf(v).Elem().SetZero()
		uerr := json.Unmarshal(clean, v)
		if uerr == nil {
			return dropped, nil
		}
		if i == len(modes)-1 {
			return dropped, fmt.Errorf("decoding after dropping %d mistyped properties: %w", len(dropped), uerr)
		}
	}
	return dropped, nil
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	timeType        = reflect.TypeFor[time.Time]()
)

// lenient are the gofish types the collector reads whose UnmarshalJSON
// takes any JSON value for some numbers and makes 0 of what is not a
// number (gofish's toFloat32 and toInt, meant for vendors that write
// numbers as text): Power (PowerControl's and PowerSupply's watts and
// volts, PowerMetrics, Voltages) and Processor (MaxSpeedMHz). See
// stmcginnis/gofish#99 and #409.
var lenient = map[reflect.Type]bool{
	powerType:                            true,
	reflect.TypeFor[schemas.Processor](): true,
}

var powerType = reflect.TypeFor[schemas.Power]()

// scrubMode says what scrub drops.
type scrubMode int

const (
	// scrubAll drops every value of the wrong type (the document failed
	// to decode).
	scrubAll scrubMode = iota
	// scrubNumbers drops only values that are no number, nor text that
	// reads as one, where a number belongs (the document decoded, through
	// a lenient gofish type that turns them into 0). Other mismatches are
	// ones gofish reads right (a number as MemberId, one PowerControl
	// object instead of a list).
	scrubNumbers
)

// scrub returns j with every value removed that cannot decode into t (in
// mode scrubNumbers: that is not a number where one belongs), and
// ok=false when j itself cannot. Properties t does not know are kept: the
// gofish type may read them through its own UnmarshalJSON.
func scrub(t reflect.Type, j any, at string, mode scrubMode, dropped *[]string) (any, bool) {
	if j == nil {
		return nil, true
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	custom := reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(unmarshalerType)
	bad := func(want string) (any, bool) {
		if mode == scrubNumbers && !numeric(t.Kind()) {
			return j, true
		}
		*dropped = append(*dropped, fmt.Sprintf("%s: %s where %s belongs", strings.TrimPrefix(at, "."), describe(j), want))
		return nil, false
	}
	if t == timeType {
		if s, ok := j.(string); !ok || !validTime(s) {
			return bad("a date and time")
		}
		return j, true
	}
	switch t.Kind() {
	case reflect.Struct:
		// Even gofish structs with their own UnmarshalJSON want an object.
		obj, ok := j.(map[string]any)
		if !ok {
			return bad("an object")
		}
		for k, v := range obj {
			ft, found := fieldType(t, k)
			if !found {
				continue
			}
			if nv, ok := scrub(ft, v, at+"."+k, mode, dropped); ok {
				obj[k] = nv
			} else {
				delete(obj, k)
			}
		}
		return obj, true
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 { // []byte, json.RawMessage: anything goes
			return j, true
		}
		arr, ok := j.([]any)
		if !ok {
			if custom {
				return j, true
			}
			return bad("a list")
		}
		for i, v := range arr {
			nv, ok := scrub(t.Elem(), v, fmt.Sprintf("%s[%d]", at, i), mode, dropped)
			if !ok {
				nv = nil
			}
			arr[i] = nv
		}
		return arr, true
	case reflect.Map:
		obj, ok := j.(map[string]any)
		if !ok {
			return bad("an object")
		}
		for k, v := range obj {
			if nv, ok := scrub(t.Elem(), v, at+"."+k, mode, dropped); ok {
				obj[k] = nv
			} else {
				delete(obj, k)
			}
		}
		return obj, true
	case reflect.Interface:
		return j, true
	}
	if custom {
		return j, true // a gofish type with its own rules for scalars
	}
	if mode == scrubNumbers {
		if !numeric(t.Kind()) {
			return j, true
		}
		if str, ok := j.(string); ok {
			// gofish reads a number written as text as ParseFloat does.
			if f, err := strconv.ParseFloat(str, 32); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
				return j, true
			}
		}
	}
	switch t.Kind() {
	case reflect.String:
		if _, ok := j.(string); !ok {
			return bad("text")
		}
	case reflect.Bool:
		if _, ok := j.(bool); !ok {
			return bad("true or false")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := j.(json.Number)
		if _, err := strconv.ParseInt(string(n), 10, t.Bits()); !ok || err != nil {
			return bad("a whole number")
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := j.(json.Number)
		if _, err := strconv.ParseUint(string(n), 10, t.Bits()); !ok || err != nil {
			return bad("a whole number of at least 0")
		}
	case reflect.Float32, reflect.Float64:
		n, ok := j.(json.Number)
		if _, err := strconv.ParseFloat(string(n), t.Bits()); !ok || err != nil {
			return bad("a number")
		}
	}
	return j, true
}

// numeric reports whether k is a kind of number.
func numeric(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// fieldType finds the Go field a JSON key decodes into, the way
// encoding/json does: by tag or field name, exact match first, then
// case-insensitively, through embedded structs.
func fieldType(t reflect.Type, key string) (reflect.Type, bool) {
	var fold reflect.Type
	var walk func(t reflect.Type, depth int) reflect.Type
	walk = func(t reflect.Type, depth int) reflect.Type {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				et := f.Type
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if et.Kind() == reflect.Struct && depth < 5 {
					if ft := walk(et, depth+1); ft != nil {
						return ft
					}
				}
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if name == key {
				return f.Type
			}
			if fold == nil && strings.EqualFold(name, key) {
				fold = f.Type
			}
		}
		return nil
	}
	if ft := walk(t, 0); ft != nil {
		return ft, true
	}
	return fold, fold != nil
}

func validTime(s string) bool {
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}

// describe shows a JSON value briefly in an error message.
func describe(j any) string {
	switch v := j.(type) {
	case string:
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return strconv.Quote(v)
	case json.Number:
		return "number " + string(v)
	case bool:
		return strconv.FormatBool(v)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%v", j)
}
