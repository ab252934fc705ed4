package catalog_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/catalog"
)

// section reads the kpis section of a YAML text, as a profile's.
func section(t *testing.T, text string) catalog.Section {
	t.Helper()
	sec, err := catalog.ReadSection([]byte(text), "test.yaml")
	require.NoError(t, err)
	return sec
}

// storage is one complete definition in both languages; the cases below
// change one line of it.
const storage = `
kpis:
  - measurement: storage
    name: {en: Volume, de: Volume}
    description: {en: A file system., de: Ein Dateisystem.}
    fields:
      used_percent:
        name: {en: Storage used, de: Speicher belegt}
        description: {en: Share in use., de: Anteil belegt.}
        unit: percent
        kind: gauge
        key: {server: 4, storage: 1}
        thresholds: {warning: 85, critical: 95}
`

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name   string
		strict catalog.Strictness
		old    string // a line of storage
		new    string // what replaces it
		want   string // in the error
	}{
		{"unknown unit", catalog.User, "unit: percent", "unit: furlongs", `unit "furlongs" unknown`},
		{"unknown kind", catalog.User, "kind: gauge", "kind: histogram", `kind "histogram" unknown`},
		{"unknown category", catalog.User, "key: {server: 4, storage: 1}", "key: {toaster: 1}", `category "toaster" unknown`},
		{"rank out of range", catalog.User, "key: {server: 4, storage: 1}", "key: {server: 0}", "rank 0 for server"},
		{"unknown class", catalog.User, "kind: gauge", "kind: gauge\n        class: secret", `class "secret" unknown`},
		{"unknown severity", catalog.User, "kind: gauge\n        key: {server: 4, storage: 1}\n        thresholds: {warning: 85, critical: 95}",
			"kind: state\n        states:\n          0: {name: {en: Off}, severity: dire}", `state 0: severity "dire" unknown`},
		{"state without states", catalog.User, "kind: gauge\n        key: {server: 4, storage: 1}\n        thresholds: {warning: 85, critical: 95}",
			"kind: state", "kind state needs states"},
		{"states on a gauge", catalog.User, "kind: gauge", "kind: gauge\n        states:\n          0: {name: {en: Off}, severity: ok}",
			"states given for kind gauge"},
		{"state without a name", catalog.User, "kind: gauge\n        key: {server: 4, storage: 1}\n        thresholds: {warning: 85, critical: 95}",
			"kind: state\n        states:\n          0: {severity: ok}", "state 0 name: English text (en) missing"},
		{"thresholds on a counter", catalog.User, "kind: gauge", "kind: counter", "thresholds on kind counter"},
		{"health on a gauge", catalog.User, "kind: gauge", "kind: gauge\n        health: false", "health on kind gauge; only kind state has it"},
		{"empty thresholds", catalog.User, "thresholds: {warning: 85, critical: 95}", "thresholds: {}", "neither warning nor critical"},
		{"critical below warning", catalog.User, "thresholds: {warning: 85, critical: 95}", "thresholds: {warning: 95, critical: 85}",
			"critical 85 below warning 95"},
		{"below: critical above warning", catalog.User, "thresholds: {warning: 85, critical: 95}",
			"thresholds: {warning: 20, critical: 30, below: true}", "with below, critical 30 above warning 20"},
		{"threshold not a number", catalog.User, "thresholds: {warning: 85, critical: 95}", "thresholds: {warning: .nan}",
			"thresholds: warning NaN or critical 0 is not a number"},
		{"missing English", catalog.User, "name: {en: Storage used, de: Speicher belegt}", "name: {de: Speicher belegt}",
			"name: English text (en) missing"},
		{"blank English", catalog.User, "name: {en: Storage used, de: Speicher belegt}", "name: {en: '  '}",
			"name: English text (en) missing"},
		{"missing German when strict", catalog.Strict, "name: {en: Storage used, de: Speicher belegt}", "name: {en: Storage used}",
			"name: German text (de) missing"},
		{"missing description when strict", catalog.Strict, "description: {en: Share in use., de: Anteil belegt.}", "",
			"description: English text (en) missing"},
		{"name too long", catalog.User, "name: {en: Storage used, de: Speicher belegt}", "name: {en: " + strings.Repeat("x", 121) + "}",
			"name: longer than 120 bytes"},
		{"German name too long", catalog.User, "name: {en: Storage used, de: Speicher belegt}",
			"name: {en: Storage used, de: " + strings.Repeat("x", 121) + "}", "name: longer than 120 bytes"},
		{"description too long", catalog.User, "description: {en: Share in use., de: Anteil belegt.}",
			"description: {en: " + strings.Repeat("x", 1001) + "}", "description: longer than 1000 bytes"},
		{"control characters", catalog.User, "name: {en: Storage used, de: Speicher belegt}", `name: {en: "Storage\u001b[31m used"}`,
			"name: control characters"},
		{"C1 control characters", catalog.User, "name: {en: Storage used, de: Speicher belegt}", `name: {en: "Storage\u009b used"}`,
			"name: control characters"},
		{"measurement description too long", catalog.User, "description: {en: A file system., de: Ein Dateisystem.}",
			"description: {en: " + strings.Repeat("x", 1001) + "}", "measurement storage: description: longer than 1000 bytes"},
		{"measurement description with control characters", catalog.User, "description: {en: A file system., de: Ein Dateisystem.}",
			`description: {en: "A\u0000file system."}`, "measurement storage: description: control characters"},
		{"measurement name missing German when strict", catalog.Strict, "name: {en: Volume, de: Volume}", "name: {en: Volume}",
			"measurement storage: name: German text (de) missing"},
		{"invalid measurement name", catalog.User, "measurement: storage", "measurement: Storage", `measurement "Storage": not a valid name`},
		{"invalid field name", catalog.User, "used_percent:", "used-percent:", "storage.used-percent: not a valid field name"},
		{"empty definition", catalog.User, "used_percent:", "free_percent:\n      used_percent:", "storage.free_percent: empty definition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Contains(t, storage, tt.old)
			text := strings.Replace(storage, tt.old, tt.new, 1)
			_, err := catalog.New(tt.strict, section(t, text))
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestNewAccepts(t *testing.T) {
	tests := []struct {
		name   string
		strict catalog.Strictness
		text   string
	}{
		{"complete, strict", catalog.Strict, storage},
		{"English only, user", catalog.User, `
kpis:
  - measurement: printer
    fields:
      pages:
        name: {en: Pages printed}
        kind: counter
      toner_state:
        name: {en: Toner}
        kind: state
        class: service
        states:
          0: {name: {en: Full}, severity: ok}
          1: {name: {en: Low}, severity: warning}
          2: {name: {en: Empty}, severity: critical}
      battery_percent:
        name: {en: Battery}
        unit: percent
        kind: gauge
        thresholds: {warning: 30, critical: 10, below: true}
      firmware:
        name: {en: Firmware}
        kind: info
`},
		{"only a critical threshold", catalog.User, strings.Replace(storage, "{warning: 85, critical: 95}", "{critical: 95}", 1)},
		{"equal thresholds", catalog.User, strings.Replace(storage, "{warning: 85, critical: 95}", "{warning: 90, critical: 90}", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := catalog.New(tt.strict, section(t, tt.text))
			require.NoError(t, err)
			require.Positive(t, c.Len())
		})
	}
}

func TestNewDefaultsClassAll(t *testing.T) {
	c, err := catalog.New(catalog.Strict, section(t, storage))
	require.NoError(t, err)
	d, ok := c.Lookup("storage", "used_percent")
	require.True(t, ok)
	require.Equal(t, catalog.ClassAll, d.Class)
	require.False(t, d.ServiceOnly())
}

func TestNewLimitsUserDefinitions(t *testing.T) {
	var b strings.Builder
	b.WriteString("kpis:\n  - measurement: many\n    fields:\n")
	for i := range catalog.MaxDefinitions + 1 {
		fmt.Fprintf(&b, "      f%d: {name: {en: F}, kind: gauge}\n", i)
	}
	sec := section(t, b.String())
	_, err := catalog.New(catalog.User, sec)
	require.ErrorContains(t, err, fmt.Sprintf("%d definitions; at most %d", catalog.MaxDefinitions+1, catalog.MaxDefinitions))

	sec[0].Fields = map[string]*catalog.Definition{"f0": sec[0].Fields["f0"]}
	c, err := catalog.New(catalog.User, sec)
	require.NoError(t, err)
	require.Equal(t, 1, c.Len())
}

func TestNewDuplicates(t *testing.T) {
	other := func(old, new string) string { return strings.Replace(storage, old, new, 1) }
	tests := []struct {
		name    string
		a, b    string
		wantErr string // "" when the two agree
	}{
		{"the same definition twice", storage, storage, ""},
		{"a second file without the measurement's description", storage, `
kpis:
  - measurement: storage
    name: {en: Volume, de: Volume}
    fields:
      used_percent:
        name: {en: Storage used, de: Speicher belegt}
        description: {en: Share in use., de: Anteil belegt.}
        unit: percent
        kind: gauge
        key: {server: 4, storage: 1}
        thresholds: {warning: 85, critical: 95}
`, ""},
		{"another unit", storage, other("unit: percent", "unit: ratio"), "storage.used_percent: defined twice, differently"},
		{"another threshold", storage, other("critical: 95", "critical: 99"), "storage.used_percent: defined twice, differently"},
		{"thresholds on one only", storage, other("        thresholds: {warning: 85, critical: 95}\n", ""), "storage.used_percent: defined twice, differently"},
		{"another rank", storage, other("storage: 1}", "storage: 2}"), "storage.used_percent: defined twice, differently"},
		{"another class", storage, other("kind: gauge", "kind: gauge\n        class: service"), "storage.used_percent: defined twice, differently"},
		{"another German name", storage, other("Speicher belegt", "Belegt"), "storage.used_percent: defined twice, differently"},
		{"a second file without the measurement's name", storage, other("    name: {en: Volume, de: Volume}\n", ""),
			""},
		{"another measurement description", storage, other("{en: A file system., de: Ein Dateisystem.}", "{en: A disk., de: Eine Platte.}"),
			"measurement storage: defined twice with different names or descriptions"},
		{"another measurement name", storage, other("name: {en: Volume, de: Volume}", "name: {en: Disk, de: Platte}"),
			"measurement storage: defined twice with different names"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := catalog.New(catalog.Strict, section(t, tt.a), section(t, tt.b))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, 1, c.Len())
			m, ok := c.MeasurementInfo("storage")
			require.True(t, ok)
			require.Equal(t, "Volume", m.Name.EN)
			require.Equal(t, "A file system.", m.Description.EN)
		})
	}
}

// TestMeasurementDescriptionFromLaterSection: a measurement first named
// without a description takes the description a later section gives.
func TestMeasurementDescriptionFromLaterSection(t *testing.T) {
	first := section(t, "kpis:\n  - measurement: storage\n    name: {en: Volume, de: Volume}\n    fields: {}\n")
	c, err := catalog.New(catalog.User, first, section(t, storage))
	require.NoError(t, err)
	m, ok := c.MeasurementInfo("storage")
	require.True(t, ok)
	require.Equal(t, catalog.Text{EN: "A file system.", DE: "Ein Dateisystem."}, m.Description)
}

const counters = `
kpis:
  - measurement: interface
    name: {en: Interface, de: Schnittstelle}
    fields:
      in_octets:
        name: {en: Received, de: Empfangen}
        unit: bytes
        kind: counter
        key: {network: 1}
      in_packets:
        name: {en: Packets received}
        kind: counter
      cpu_time:
        name: {en: CPU time, de: CPU-Zeit}
        unit: seconds
        kind: counter
      energy:
        name: {en: Energy, de: Energie}
        unit: joules
        kind: counter
      oper_status:
        name: {en: Status, de: Status}
        kind: state
        states:
          1: {name: {en: Up, de: Aktiv}, severity: ok}
          2: {name: {en: Down, de: Inaktiv}, severity: critical}
      speed:
        name: {en: Speed, de: Geschwindigkeit}
        unit: bits_per_second
        kind: gauge
`

func TestLookup(t *testing.T) {
	c, err := catalog.New(catalog.User, section(t, counters))
	require.NoError(t, err)
	tests := []struct {
		name        string
		field       string
		ok          bool
		wantName    catalog.Text
		wantUnit    catalog.Unit
		wantKind    catalog.Kind
		wantRateOf  string
		wantStates  int
		wantKeyRank int
	}{
		{"a counter itself", "in_octets", true, catalog.Text{EN: "Received", DE: "Empfangen"}, catalog.Bytes, catalog.Counter, "", 0, 1},
		{"a byte counter's rate", "in_octets_per_second", true,
			catalog.Text{EN: "Received per second", DE: "Empfangen pro Sekunde"}, catalog.BytesPerSecond, catalog.Gauge, "in_octets", 0, 0},
		{"a plain counter's rate, no German", "in_packets_per_second", true,
			catalog.Text{EN: "Packets received per second"}, catalog.PerSecond, catalog.Gauge, "in_packets", 0, 0},
		{"a time counter's rate is a ratio", "cpu_time_per_second", true,
			catalog.Text{EN: "CPU time per second", DE: "CPU-Zeit pro Sekunde"}, catalog.Ratio, catalog.Gauge, "cpu_time", 0, 0},
		{"an energy counter's rate is power", "energy_per_second", true,
			catalog.Text{EN: "Energy per second", DE: "Energie pro Sekunde"}, catalog.Watts, catalog.Gauge, "energy", 0, 0},
		{"a state", "oper_status", true, catalog.Text{EN: "Status", DE: "Status"}, catalog.None, catalog.State, "", 2, 0},
		{"no rate of a state", "oper_status_per_second", false, catalog.Text{}, "", "", "", 0, 0},
		{"no rate of a gauge", "speed_per_second", false, catalog.Text{}, "", "", "", 0, 0},
		{"undefined", "out_octets", false, catalog.Text{}, "", "", "", 0, 0},
		{"the rate of an undefined counter", "out_octets_per_second", false, catalog.Text{}, "", "", "", 0, 0},
		{"only the suffix", "_per_second", false, catalog.Text{}, "", "", "", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := c.Lookup("interface", tt.field)
			require.Equal(t, tt.ok, ok)
			if !ok {
				require.Zero(t, d)
				return
			}
			require.Equal(t, "interface", d.Measurement)
			require.Equal(t, tt.field, d.Field)
			require.Equal(t, tt.wantName, d.Name)
			require.Equal(t, tt.wantUnit, d.Unit)
			require.Equal(t, tt.wantKind, d.Kind)
			require.Equal(t, tt.wantRateOf, d.Rate)
			require.Len(t, d.States, tt.wantStates)
			require.Equal(t, tt.wantKeyRank, d.Key["network"])
			require.Nil(t, d.Thresholds)
		})
	}
	_, ok := c.Lookup("storage", "in_octets")
	require.False(t, ok, "another measurement's field")

	var none *catalog.Catalog
	_, ok = none.Lookup("interface", "in_octets")
	require.False(t, ok, "a nil catalog defines nothing")
}

// TestLookupDoesNotChangeTheCounter: the derived rate is a copy.
func TestLookupDoesNotChangeTheCounter(t *testing.T) {
	c, err := catalog.New(catalog.User, section(t, counters))
	require.NoError(t, err)
	_, ok := c.Lookup("interface", "in_octets_per_second")
	require.True(t, ok)
	d, ok := c.Lookup("interface", "in_octets")
	require.True(t, ok)
	require.Equal(t, catalog.Counter, d.Kind)
	require.Equal(t, map[string]int{"network": 1}, d.Key)
}

func TestOverlay(t *testing.T) {
	builtin, err := catalog.New(catalog.Strict, section(t, storage))
	require.NoError(t, err)
	agent, err := catalog.New(catalog.User, section(t, `
kpis:
  - measurement: storage
    name: {en: Agent volume}
    fields:
      used_percent:
        name: {en: Agent's storage used}
        unit: ratio
        kind: gauge
        class: service
      inode_percent:
        name: {en: Inodes used}
        unit: percent
        kind: gauge
  - measurement: ups
    name: {en: UPS}
    fields:
      load_percent:
        name: {en: Load}
        unit: percent
        kind: gauge
`))
	require.NoError(t, err)

	c := builtin.Overlay(agent)
	require.Equal(t, 3, c.Len())
	d, ok := c.Lookup("storage", "used_percent")
	require.True(t, ok)
	require.Equal(t, "Storage used", d.Name.EN, "the built-in definition wins")
	require.Equal(t, catalog.Percent, d.Unit)
	require.Equal(t, catalog.ClassAll, d.Class)
	d, ok = c.Lookup("storage", "inode_percent")
	require.True(t, ok, "the agent adds what the built-in catalog lacks")
	require.Equal(t, "Inodes used", d.Name.EN)
	m, _ := c.MeasurementInfo("storage")
	require.Equal(t, "Volume", m.Name.EN, "the built-in measurement name wins")
	m, ok = c.MeasurementInfo("ups")
	require.True(t, ok)
	require.Equal(t, "UPS", m.Name.EN)

	require.Equal(t, 1, builtin.Len(), "Overlay leaves its receiver alone")
	require.Equal(t, 3, agent.Len())

	require.Equal(t, 1, builtin.Overlay(nil).Len())
	var none *catalog.Catalog
	require.Equal(t, 3, none.Overlay(agent).Len(), "a nil catalog overlaid is the extra one")
	require.Zero(t, none.Overlay(nil).Len())
}

func ptr(f float64) *float64 { return &f }

func TestThresholdsLevel(t *testing.T) {
	tests := []struct {
		name string
		th   catalog.Thresholds
		v    float64
		want catalog.Severity
	}{
		{"below warning", catalog.Thresholds{Warning: ptr(85), Critical: ptr(95)}, 50, catalog.OK},
		{"at warning", catalog.Thresholds{Warning: ptr(85), Critical: ptr(95)}, 85, catalog.Warning},
		{"between", catalog.Thresholds{Warning: ptr(85), Critical: ptr(95)}, 90, catalog.Warning},
		{"at critical", catalog.Thresholds{Warning: ptr(85), Critical: ptr(95)}, 95, catalog.Critical},
		{"above critical", catalog.Thresholds{Warning: ptr(85), Critical: ptr(95)}, 140, catalog.Critical},
		{"only warning, far above", catalog.Thresholds{Warning: ptr(85)}, 1000, catalog.Warning},
		{"only critical, between", catalog.Thresholds{Critical: ptr(95)}, 90, catalog.OK},
		{"none", catalog.Thresholds{}, 1e9, catalog.OK},
		{"below: high is fine", catalog.Thresholds{Warning: ptr(30), Critical: ptr(10), Below: true}, 80, catalog.OK},
		{"below: at warning", catalog.Thresholds{Warning: ptr(30), Critical: ptr(10), Below: true}, 30, catalog.Warning},
		{"below: between", catalog.Thresholds{Warning: ptr(30), Critical: ptr(10), Below: true}, 20, catalog.Warning},
		{"below: at critical", catalog.Thresholds{Warning: ptr(30), Critical: ptr(10), Below: true}, 10, catalog.Critical},
		{"below: under critical", catalog.Thresholds{Warning: ptr(30), Critical: ptr(10), Below: true}, 0, catalog.Critical},
		{"below: only critical, above it", catalog.Thresholds{Critical: ptr(10), Below: true}, 11, catalog.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.th.Level(tt.v))
		})
	}
}

func TestKeyFigures(t *testing.T) {
	c, err := catalog.New(catalog.User, section(t, `
kpis:
  - measurement: server
    fields:
      temperature:
        name: {en: Temperature}
        unit: celsius
        kind: gauge
        key: {server: 5}
      cpu_percent:
        name: {en: CPU}
        unit: percent
        kind: gauge
        key: {server: 2, storage: 9}
      memory_percent:
        name: {en: Memory}
        unit: percent
        kind: gauge
        key: {server: 3}
      power:
        name: {en: Power}
        unit: watts
        kind: gauge
  - measurement: agent
    fields:
      up:
        name: {en: Up}
        kind: state
        states: {0: {name: {en: Down}, severity: critical}, 1: {name: {en: Up}, severity: ok}}
        key: {server: 1, storage: 1}
      cores:
        name: {en: Cores}
        kind: gauge
        key: {server: 3}
`))
	require.NoError(t, err)
	names := func(defs []catalog.Definition) []string {
		var out []string
		for _, d := range defs {
			out = append(out, d.Measurement+"."+d.Field)
		}
		return out
	}
	require.Equal(t, []string{"agent.up", "server.cpu_percent", "agent.cores", "server.memory_percent", "server.temperature"},
		names(c.KeyFigures("server")), "by rank; equal ranks by measurement and field")
	require.Equal(t, []string{"agent.up", "server.cpu_percent"}, names(c.KeyFigures("storage")))
	require.Empty(t, c.KeyFigures("printer"))
	var none *catalog.Catalog
	require.Empty(t, none.KeyFigures("server"))
}

// TestSectionRoundTrip: what an agent sends (a catalog as a section, in
// JSON) builds the same catalog on the server.
func TestSectionRoundTrip(t *testing.T) {
	c, err := catalog.New(catalog.User, section(t, counters), section(t, storage))
	require.NoError(t, err)
	body, err := json.Marshal(c.Section())
	require.NoError(t, err)
	var sec catalog.Section
	require.NoError(t, json.Unmarshal(body, &sec))
	back, err := catalog.New(catalog.User, sec)
	require.NoError(t, err)
	require.Equal(t, c.Definitions(), back.Definitions())
	require.Equal(t, c.Measurements(), back.Measurements())
}

// TestSectionFromJSONKeepsItsPlace: a definition in JSON (an agent's)
// names its measurement, field and rate in keys of its own; the section
// decides them.
func TestSectionFromJSONKeepsItsPlace(t *testing.T) {
	var sec catalog.Section
	require.NoError(t, json.Unmarshal([]byte(`[{"measurement": "ups", "fields": {"load": {"measurement": "cpu", "field": "other",
		"rate_of": "x", "name": {"en": "Load"}, "kind": "gauge"}}}]`), &sec))
	c, err := catalog.New(catalog.User, sec)
	require.NoError(t, err)
	d, ok := c.Lookup("ups", "load")
	require.True(t, ok)
	require.Equal(t, "ups", d.Measurement)
	require.Equal(t, "load", d.Field)
	require.Empty(t, d.Rate)
	_, ok = c.Lookup("cpu", "other")
	require.False(t, ok)
}

func TestTextIn(t *testing.T) {
	both := catalog.Text{EN: "Storage used", DE: "Speicher belegt"}
	require.Equal(t, "Speicher belegt", both.In("de"))
	require.Equal(t, "Speicher belegt", both.In("de-AT"))
	require.Equal(t, "Storage used", both.In("en"))
	require.Equal(t, "Storage used", both.In(""))
	require.Equal(t, "Pages", catalog.Text{EN: "Pages"}.In("de"), "no German: the English text")
}

// TestNewStrictNeedsANamedMeasurement: a shipped file may add fields to a
// measurement another file names, but some file must name it.
func TestNewStrictNeedsANamedMeasurement(t *testing.T) {
	unnamed := strings.Replace(storage, "    name: {en: Volume, de: Volume}\n", "", 1)
	_, err := catalog.New(catalog.Strict, section(t, unnamed))
	require.ErrorContains(t, err, "measurement storage: no section names it")
	_, err = catalog.New(catalog.Strict, section(t, unnamed), section(t, storage))
	require.NoError(t, err)
}

// TestHealth: every state with a warning or critical value is its
// device's health unless marked health: false; a value the states do not
// name says nothing; two files must agree on the marker.
func TestHealth(t *testing.T) {
	c, err := catalog.New(catalog.User, section(t, `
kpis:
  - measurement: ups_battery
    fields:
      status:
        name: {en: Battery status}
        kind: state
        states:
          2: {name: {en: Normal}, severity: ok}
          3: {name: {en: Low}, severity: critical}
      calibrating:
        name: {en: Calibrating}
        kind: state
        states:
          0: {name: {en: 'No'}, severity: ok}
          1: {name: {en: 'Yes'}, severity: unknown}
      charge_percent: {name: {en: Battery charge}, unit: percent, kind: gauge}
  - measurement: interface
    fields:
      oper_status:
        name: {en: Link status}
        kind: state
        health: false
        states:
          1: {name: {en: Up}, severity: ok}
          2: {name: {en: Down}, severity: warning}
`))
	require.NoError(t, err)
	tests := []struct {
		name, measurement, field string
		want                     bool
	}{
		{"a state with a critical value", "ups_battery", "status", true},
		{"a state with only ok and unknown values", "ups_battery", "calibrating", false},
		{"a gauge", "ups_battery", "charge_percent", false},
		{"marked health: false", "interface", "oper_status", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := c.Lookup(tt.measurement, tt.field)
			require.True(t, ok)
			require.Equal(t, tt.want, d.IsHealth())
		})
	}

	d, _ := c.Lookup("ups_battery", "status")
	s, ok := d.StateOf(3)
	require.True(t, ok)
	require.Equal(t, catalog.StateValue{Name: catalog.Text{EN: "Low"}, Severity: catalog.Critical}, s)
	for _, v := range []float64{7, 3.5, -1} {
		_, ok := d.StateOf(v)
		require.False(t, ok, "value %g", v)
	}

	// A second file must agree on the marker.
	unmarked := `
kpis:
  - measurement: interface
    fields:
      oper_status:
        name: {en: Link status}
        kind: state
        states:
          1: {name: {en: Up}, severity: ok}
          2: {name: {en: Down}, severity: warning}
`
	_, err = catalog.New(catalog.User, section(t, unmarked), section(t, strings.Replace(unmarked, "kind: state", "kind: state\n        health: false", 1)))
	require.ErrorContains(t, err, "interface.oper_status: defined twice, differently")
}
