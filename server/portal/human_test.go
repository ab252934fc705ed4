package portal

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/server/checkup"
)

// A tagged line is named by the tag that names it, not by its tag set.
func TestSeriesLabel(t *testing.T) {
	for _, tt := range []struct {
		name string
		tags map[string]string
		want string
	}{
		{"no tags: the field's name", nil, "Temperature"},
		{"a sensor by its description", map[string]string{"descr": "CPU1 Temp", "index": "1"}, "CPU1 Temp"},
		{"an interface by its name", map[string]string{"ifname": "Gi1/0/1", "ifindex": "10101"}, "Gi1/0/1"},
		{"other tags: their values", map[string]string{"site": "A", "rack": "7"}, "7 · A"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, seriesLabel(series{Tags: tt.tags}, "Temperature"))
		})
	}
}

// The category's key figures come first, by rank; health codes and raw
// counters outside them are not drawn by default.
func TestKeyFiguresFirst(t *testing.T) {
	def := func(name string, unit catalog.Unit, kind catalog.Kind, key map[string]int) *definition {
		d := &definition{Name: catalog.Text{EN: name}, Unit: unit, Kind: kind, Key: key}
		if kind == catalog.State {
			d.States = map[int64]catalog.StateValue{1: {Name: catalog.Text{EN: "Up"}, Severity: catalog.OK}}
		}
		return d
	}
	latest := []series{
		seriesOf("cpu", "idle_seconds", def("Idle", catalog.Seconds, catalog.Counter, nil), 1e9),
		seriesOf("health", "code", def("Health code", "", catalog.State, nil), 1.0),
		seriesOf("fs", "used_percent", def("Used", catalog.Percent, catalog.Gauge, nil), 50.0),
		seriesOf("temperature", "celsius", def("Temperature", catalog.Celsius, catalog.Gauge, map[string]int{"server": 5}), 40.0),
		seriesOf("cpu", "load_percent", def("CPU load", catalog.Percent, catalog.Gauge, map[string]int{"server": 2}), 10.0),
		seriesOf("interface", "oper_status", def("Link", "", catalog.State, map[string]int{"network": 10}), 1.0),
	}
	var keys []string
	for _, f := range pickFields(chartable(latest, "en", "server", func(n string) string { return n })) {
		keys = append(keys, f.Key)
	}
	require.Equal(t, []string{"cpu.load_percent", "temperature.celsius", "fs.used_percent"}, keys)
	keys = nil
	for _, f := range pickFields(chartable(latest, "en", "network", func(n string) string { return n })) {
		keys = append(keys, f.Key)
	}
	require.Equal(t, []string{"interface.oper_status", "cpu.load_percent", "fs.used_percent"}, keys, "a state key figure is a timeline")
	keys = nil
	for _, f := range pickFields(chartable(latest, "en", "printer", func(n string) string { return n })) {
		keys = append(keys, f.Key)
	}
	require.Equal(t, []string{"cpu.load_percent", "fs.used_percent", "cpu.idle_seconds", "temperature.celsius"}, keys,
		"without key figures: the first charts, percentages first")
}

// A state's timeline: a stretch per state, named and coloured by the
// catalog, no data before the first value.
func TestTimeline(t *testing.T) {
	f := kpiField{Title: "Link", States: map[int64]catalog.StateValue{
		1: {Name: catalog.Text{EN: "Up", DE: "Verbunden"}, Severity: catalog.OK},
		2: {Name: catalog.Text{EN: "Down"}, Severity: catalog.Warning}}}
	s := seriesOf("interface", "oper_status", nil, 1.0, 1.0, 2.0, 7.0)
	s.Tags = map[string]string{"ifname": "eth0"}
	from := time.Unix(1_800_000_000, 0).Add(-2 * time.Minute)
	tl := toTimeline(f, []series{s}, from, from.Add(8*time.Minute), "de", "Keine Daten")
	require.Len(t, tl.Rows, 1)
	require.Equal(t, "eth0", tl.Rows[0].Label)
	type seg struct {
		name, sev string
		width     float64
	}
	var got []seg
	for _, x := range tl.Rows[0].Segs {
		got = append(got, seg{x.Name, x.Severity, x.Width})
	}
	require.Equal(t, []seg{{"Keine Daten", "none", 25}, {"Verbunden", "ok", 25}, {"Down", "warning", 12.5}, {"7", "unknown", 37.5}}, got)
}

// Inventory values in human units, never in exponent notation; changes
// read as "Memory: 192 GiB → 256 GiB".
func TestInventoryInHumanUnits(t *testing.T) {
	doc := json.RawMessage(`{"attributes":{"memory_bytes":206158430208,"cpu_count":2,"serial_number":12345678901234567},
		"components":{"drives":[{"name":"Drive 1","capacity_bytes":960197124096,"speed_bps":12000000000}]}}`)
	attrs, tables := inventoryView(doc, "de")
	require.Equal(t, [][2]string{{"CPU count", "2"}, {"Memory", "192 GiB"}, {"Serial number", "12345678901234568"}}, attrs)
	require.Equal(t, []invTable{{Kind: "Drives", Columns: []string{"Name", "Capacity", "Speed"},
		Rows: [][]string{{"Drive 1", "894,3 GiB", "12 Gbit/s"}}}}, tables)
	got := readableChanges([]change{
		{Path: "attributes.memory_bytes", Op: "changed", Before: float64(192 << 30), After: float64(256 << 30)},
		{Path: "components.interfaces[Gi1/0/1].speed_bps", Op: "changed", Before: 1e9, After: 1e10},
	}, "en")
	require.Equal(t, []readableChange{{"Memory", "changed", "192 GiB", "256 GiB"},
		{"Interfaces Gi1/0/1 › Speed", "changed", "1 Gbit/s", "10 Gbit/s"}}, got)
	require.Equal(t, "206158430200", plainNumber(2.061584302e+11, "en"), "in full, not 2.061584302e+11")
	require.Equal(t, "0,1235", plainNumber(0.123456, "de"))
}

// A message with plural forms agrees with its count; an empty value's
// key is its prefix's "none" message.
func TestPluralAndEmptyValue(t *testing.T) {
	txt, err := loadTexts()
	require.NoError(t, err)
	for _, tt := range []struct {
		lang, id string
		args     []any
		want     string
	}{
		{"en", "asset.outages", []any{"Count", 1}, "1 outage"},
		{"en", "asset.outages", []any{"Count", 3}, "3 outages"},
		{"de", "asset.reboots", []any{"Count", 1}, "1 Neustart"},
		{"en", "dashboard.count", []any{"Count", 1, "Down", 0}, "1 asset, 0 need attention"},
		{"en", "dashboard.summary", []any{"Total", 1, "Up", 1, "Down", 0, "Stale", 0, "Problem", 0}, "1 asset: 1 up, 0 down, 0 without recent data, 0 with a monitoring problem."},
		{"en", "asset.all_kpis", []any{"Count", 1}, "All KPIs (1)"},
		{"en", "category.", nil, "Uncategorised"},
		{"de", "category.", nil, "Ohne Kategorie"},
	} {
		t.Run(tt.lang+" "+tt.id, func(t *testing.T) {
			v := &view{Lang: tt.lang, loc: i18n.NewLocalizer(txt.bundle, tt.lang), log: func(string, ...any) { t.Error("missing translation") }}
			require.Equal(t, tt.want, v.T(tt.id, tt.args...))
		})
	}
}

// A rule's scope selects assets as the check-ups do: ids, categories,
// OUs with the OUs below them, exclusions.
func TestRuleScope(t *testing.T) {
	b := &ruleBook{parent: map[string]string{"root": "", "eu": "root", "de": "eu"}}
	a := asset{ID: "a1", Category: "server", OUID: "de"}
	for _, tt := range []struct {
		name  string
		scope checkup.Scope
		want  bool
	}{
		{"every asset", checkup.Scope{}, true},
		{"its id", checkup.Scope{IDs: []string{"a1"}}, true},
		{"another id", checkup.Scope{IDs: []string{"a2"}}, false},
		{"its category", checkup.Scope{Categories: []string{"server", "storage"}}, true},
		{"another category", checkup.Scope{Categories: []string{"network"}}, false},
		{"an OU above", checkup.Scope{OUs: []string{"eu"}}, true},
		{"another OU", checkup.Scope{OUs: []string{"us"}}, false},
		{"excluded", checkup.Scope{Categories: []string{"server"}, Exclude: []string{"a1"}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, b.holds(tt.scope, a))
		})
	}
}
