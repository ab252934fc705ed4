package portal

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kpilot/kpilot/internal/catalog"
)

// invTable is one kind of inventory component as a table.
type invTable struct {
	Kind    string
	Columns []string
	Rows    [][]string
}

// inventoryView turns an inventory document into attribute pairs and a
// table per component kind, with readable names ("Memory", not
// "memory_bytes") and values in human units ("192 GiB", not
// "2.061584302e+11") in lang.
func inventoryView(doc json.RawMessage, lang string) (attrs [][2]string, tables []invTable) {
	var inv struct {
		Attributes map[string]any              `json:"attributes"`
		Components map[string][]map[string]any `json:"components"`
	}
	if len(doc) == 0 || json.Unmarshal(doc, &inv) != nil {
		return nil, nil
	}
	for k, v := range inv.Attributes {
		attrs = append(attrs, [2]string{humanKey(k), humanValue(k, v, lang)})
	}
	slices.SortFunc(attrs, func(a, b [2]string) int { return cmp.Compare(a[0], b[0]) })
	for kind, items := range inv.Components {
		t := invTable{Kind: humanKey(kind)}
		cols := map[string]bool{}
		for _, it := range items {
			for k := range it {
				cols[k] = true
			}
		}
		keys := make([]string, 0, len(cols))
		for k := range cols {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int {
			// names and ids first: they say which row is which
			ra, rb := colRank(a), colRank(b)
			if ra != rb {
				return cmp.Compare(ra, rb)
			}
			return cmp.Compare(a, b)
		})
		keys = keys[:min(len(keys), 8)]
		for _, k := range keys {
			t.Columns = append(t.Columns, humanKey(k))
		}
		for _, it := range items[:min(len(items), 200)] {
			row := make([]string, len(keys))
			for i, c := range keys {
				row[i] = humanValue(c, it[c], lang)
			}
			t.Rows = append(t.Rows, row)
		}
		tables = append(tables, t)
	}
	slices.SortFunc(tables, func(a, b invTable) int { return cmp.Compare(a.Kind, b.Kind) })
	return attrs, tables
}

func colRank(c string) int {
	switch c {
	case "name":
		return 0
	case "id", "index", "slot":
		return 1
	case "model", "serial":
		return 2
	}
	return 3
}

// unitSuffixes map how inventory keys end to the unit of their values
// (the collectors name them so: capacity_bytes, speed_bps).
var unitSuffixes = []struct {
	suffix string
	unit   catalog.Unit
	scale  float64
}{
	{"_bytes", catalog.Bytes, 1},
	{"_mib", catalog.Bytes, 1 << 20},
	{"_gib", catalog.Bytes, 1 << 30},
	{"_bps", catalog.BitsPerSecond, 1},
	{"_mbps", catalog.BitsPerSecond, 1e6},
	{"_hz", catalog.Hertz, 1},
	{"_mhz", catalog.Hertz, 1e6},
	{"_watts", catalog.Watts, 1},
	{"_volts", catalog.Volts, 1},
	{"_celsius", catalog.Celsius, 1},
	{"_seconds", catalog.Seconds, 1},
	{"_percent", catalog.Percent, 1},
	{"_rpm", catalog.RPM, 1},
}

// humanKey is an inventory key as a heading: its unit suffix dropped,
// words apart, the first capitalised ("memory_bytes" → "Memory").
func humanKey(k string) string {
	for _, u := range unitSuffixes {
		if strings.HasSuffix(k, u.suffix) && len(k) > len(u.suffix) {
			k = strings.TrimSuffix(k, u.suffix)
			break
		}
	}
	words := strings.Fields(strings.ReplaceAll(strings.ReplaceAll(k, "_", " "), ".", " › "))
	for i, w := range words {
		if acronyms[w] {
			words[i] = strings.ToUpper(w)
		}
	}
	k = strings.Join(words, " ")
	if k == "" {
		return k
	}
	return strings.ToUpper(k[:1]) + k[1:]
}

// acronyms are the words of inventory keys written in capitals.
var acronyms = map[string]bool{"cpu": true, "id": true, "ip": true, "mac": true, "uuid": true, "os": true, "bios": true,
	"bmc": true, "nic": true, "psu": true, "raid": true, "wwn": true, "sku": true, "url": true, "fc": true, "hba": true}

// humanValue writes an inventory value in lang: a number in the unit its
// key names, any other number in full (never in exponent notation).
func humanValue(key string, v any, lang string) string {
	if x, ok := v.(float64); ok {
		for _, u := range unitSuffixes {
			if strings.HasSuffix(key, u.suffix) {
				// sizes in an inventory are whole: 192 GiB, not 192.0 GiB
				f := catalog.Format(x*u.scale, u.unit, lang)
				return strings.Replace(strings.Replace(f, ".0 ", " ", 1), ",0 ", " ", 1)
			}
		}
	}
	return scalar(v, lang)
}

// scalar writes a value of a JSON document: numbers in full with the
// language's decimal mark, lists joined.
func scalar(v any, lang string) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return plainNumber(x, lang)
	case bool:
		return fmt.Sprint(x)
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, scalar(e, lang))
		}
		return strings.Join(parts, ", ")
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// plainNumber writes v without exponent and without grouping (a serial
// or a model number reads wrong as 1,234,567): at most 4 decimals, the
// German decimal comma in de.
func plainNumber(v float64, lang string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if i := strings.IndexByte(s, '.'); i >= 0 && len(s)-i-1 > 4 {
		s = strings.TrimRight(strings.TrimRight(strconv.FormatFloat(v, 'f', 4, 64), "0"), ".")
	}
	if strings.HasPrefix(lang, "de") {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// change is one difference between two inventory snapshots as the API
// answers it.
type change struct {
	Path   string `json:"path"`
	Op     string `json:"op"`
	Before any    `json:"before"`
	After  any    `json:"after"`
}

// historyEntry is one inventory snapshot with its changes as a person
// reads them.
type historyEntry struct {
	CollectedAt time.Time
	First       bool
	Changes     []readableChange
}

// readableChange is a change with a readable name and values
// ("Memory: 192 GiB → 256 GiB").
type readableChange struct {
	Path, Op, Before, After string
}

func readableChanges(cs []change, lang string) []readableChange {
	out := make([]readableChange, 0, len(cs))
	for _, c := range cs {
		// the value's unit comes from the last key of its path
		// ("attributes.memory_bytes", "components.dimm[2].capacity_bytes")
		last := c.Path[strings.LastIndexAny(c.Path, ".]")+1:]
		out = append(out, readableChange{Path: humanPath(c.Path), Op: c.Op,
			Before: humanValue(last, c.Before, lang), After: humanValue(last, c.After, lang)})
	}
	return out
}

// humanPath names a changed inventory value: "attributes.memory_bytes"
// is "Memory", "components.interfaces[eth0].speed_bps" is
// "Interfaces eth0 › Speed" (a component's id as it is).
func humanPath(p string) string {
	p = strings.TrimPrefix(strings.TrimPrefix(p, "attributes."), "components.")
	var parts []string
	for p != "" {
		seg := p
		if i := strings.IndexAny(p, ".["); i >= 0 {
			seg = p[:i]
		}
		p = strings.TrimPrefix(p[len(seg):], ".")
		name := humanKey(seg)
		if strings.HasPrefix(p, "[") {
			if j := strings.IndexByte(p, ']'); j > 0 {
				name += " " + p[1:j]
				p = strings.TrimPrefix(p[j+1:], ".")
			}
		}
		if name != "" {
			parts = append(parts, name)
		}
	}
	return strings.Join(parts, " › ")
}
