package redfish

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// decode decodes a Redfish document into v, a pointer to a gofish schema
// struct. BMCs do not always keep to the schema: "N/A" or "" where a number
// belongs, a number where text belongs, a string where an object belongs.
// Such a property is dropped and named in the returned list; everything
// else in the document is still decoded. Only a document that is not JSON
// at all, or one still refused after dropping, is an error.
func decode(body []byte, v any) (dropped []string, err error) {
	err = json.Unmarshal(body, v)
	if err == nil {
		return nil, nil
	}
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	var doc any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if derr := d.Decode(&doc); derr != nil {
		return nil, fmt.Errorf("not JSON: %w", derr)
	}
	doc, _ = scrub(reflect.TypeOf(v).Elem(), doc, "", &dropped)
	clean, merr := json.Marshal(doc)
	if merr != nil {
		return dropped, merr
	}
	reflect.ValueOf(v).Elem().SetZero()
	if err := json.Unmarshal(clean, v); err != nil {
		return dropped, fmt.Errorf("decoding after dropping %d mistyped properties: %w", len(dropped), err)
	}
	return dropped, nil
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	timeType        = reflect.TypeFor[time.Time]()
)

// scrub returns j with every value removed that cannot decode into t, and
// ok=false when j itself cannot. Properties t does not know are kept: the
// gofish type may read them through its own UnmarshalJSON.
func scrub(t reflect.Type, j any, at string, dropped *[]string) (any, bool) {
	if j == nil {
		return nil, true
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	custom := reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(unmarshalerType)
	bad := func(want string) (any, bool) {
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
			if nv, ok := scrub(ft, v, at+"."+k, dropped); ok {
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
			nv, ok := scrub(t.Elem(), v, fmt.Sprintf("%s[%d]", at, i), dropped)
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
			if nv, ok := scrub(t.Elem(), v, at+"."+k, dropped); ok {
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
