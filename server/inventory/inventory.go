// Package inventory derives what the server keeps from inventory documents:
// the identities that recognise a device whatever target name reports it,
// and the changes between two snapshots of one asset.
package inventory

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/google/uuid"

	"github.com/kpilot/kpilot/internal/kpi"
)

// placeholderSerials are values vendors put where no serial was set; they
// identify nothing.
var placeholderSerials = map[string]bool{
	"": true, "0": true, "00000000": true, "0123456789": true, "1234567890": true, "123456789": true,
	"NONE": true, "N/A": true, "NA": true, "UNKNOWN": true, "NOT SPECIFIED": true, "NOT AVAILABLE": true,
	"TO BE FILLED BY O.E.M.": true, "DEFAULT STRING": true, "SYSTEM SERIAL NUMBER": true, "XXXXXXXXXX": true,
	"CHASSIS SERIAL NUMBER": true, "SERIAL": true,
}

// UUIDIdentity returns the identity of a system UUID (SMBIOS, as Redfish
// reports it), or "" when u is not a usable UUID (unset, all zeros or all
// ones, which vendors use as placeholders).
func UUIDIdentity(u string) string {
	id, err := uuid.Parse(strings.TrimSpace(u))
	if err != nil || id == uuid.Nil || id == uuid.Max {
		return ""
	}
	return "uuid:" + id.String()
}

// SerialIdentity returns the identity of a manufacturer's serial number, or
// "" for an empty or placeholder serial. The manufacturer is reduced to its
// first word, lowercased ("Dell Inc." and "DELL" are one maker).
func SerialIdentity(manufacturer, serial string) string {
	s := strings.ToUpper(strings.TrimSpace(serial))
	if placeholderSerials[s] || len(s) > 128 {
		return ""
	}
	return "serial:" + maker(manufacturer) + ":" + s
}

func maker(m string) string {
	f := strings.FieldsFunc(strings.ToLower(m), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// Identities returns the identities a document states, strongest first:
// the system UUID, then manufacturer and serial.
func Identities(doc kpi.Inventory) []string {
	str := func(k string) string { s, _ := doc.Attributes[k].(string); return s }
	var out []string
	if id := UUIDIdentity(str("uuid")); id != "" {
		out = append(out, id)
	}
	if id := SerialIdentity(str("manufacturer"), str("serial")); id != "" {
		out = append(out, id)
	}
	return out
}

// Change is one difference between two snapshots. Path names the value:
// "attributes.firmware_version", or "components.interfaces[eth0].speed"
// where the part in brackets is the component's id, index, name or serial
// (its position when it has none of them).
type Change struct {
	Path   string `json:"path"`
	Op     string `json:"op"` // added, removed, changed
	Before any    `json:"before,omitempty"`
	After  any    `json:"after,omitempty"`
}

// Diff lists what changed from before to after, sorted by path.
func Diff(before, after kpi.Inventory) []Change {
	b, a := flatten(before), flatten(after)
	var out []Change
	for _, p := range slices.Sorted(maps.Keys(a)) {
		old, ok := b[p]
		switch {
		case !ok:
			out = append(out, Change{Path: p, Op: "added", After: a[p].v})
		case old.j != a[p].j:
			out = append(out, Change{Path: p, Op: "changed", Before: old.v, After: a[p].v})
		}
	}
	for _, p := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[p]; !ok {
			out = append(out, Change{Path: p, Op: "removed", Before: b[p].v})
		}
	}
	slices.SortStableFunc(out, func(x, y Change) int { return strings.Compare(x.Path, y.Path) })
	return out
}

// value is a leaf with its JSON form, which is what gets compared (a
// number read back from the store is a float64, a fresh one an int64).
type value struct {
	v any
	j string
}

func leaf(v any) value {
	j, err := json.Marshal(v)
	if err != nil {
		j = []byte(fmt.Sprint(v))
	}
	var norm any
	if json.Unmarshal(j, &norm) == nil {
		j, _ = json.Marshal(norm)
		v = norm
	}
	return value{v: v, j: string(j)}
}

// componentKeys name a component within its list, first present wins.
var componentKeys = []string{"id", "index", "name", "serial", "slot"}

func flatten(doc kpi.Inventory) map[string]value {
	out := map[string]value{}
	for k, v := range doc.Attributes {
		out["attributes."+k] = leaf(v)
	}
	for kind, list := range doc.Components {
		seen := map[string]int{}
		for i, c := range list {
			key := fmt.Sprintf("#%d", i)
			for _, ck := range componentKeys {
				if v, ok := c[ck]; ok && fmt.Sprint(v) != "" {
					key = fmt.Sprint(v)
					break
				}
			}
			if n := seen[key]; n > 0 {
				key = fmt.Sprintf("%s#%d", key, n) // two parts with one name
			}
			seen[key]++
			for f, v := range c {
				out[fmt.Sprintf("components.%s[%s].%s", kind, key, f)] = leaf(v)
			}
		}
	}
	return out
}
