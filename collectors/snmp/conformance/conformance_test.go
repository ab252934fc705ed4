package conformance

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/internal/kpi"
)

func TestCompare(t *testing.T) {
	temp := func(descr string, v float64) Value { return Value{Class: "temperature", Descr: descr, Num: v} }
	for _, tc := range []struct {
		name      string
		want, got []Value
		found     int
		missed    []string // descriptions of the expected values not found
	}{
		{name: "within 1% or 0.5 unit", want: []Value{temp("a", 40), temp("b", 300)}, got: []Value{temp("x", 40.5), temp("y", 302.9)}, found: 2},
		{name: "beyond the tolerance", want: []Value{temp("a", 40)}, got: []Value{temp("a", 40.6)}, found: 0, missed: []string{"a"}},
		{name: "volts need 0.05", want: []Value{{Class: "voltage", Descr: "a", Num: 1.8}}, got: []Value{{Class: "voltage", Descr: "a", Num: 1.9}}, found: 0, missed: []string{"a"}},
		{name: "one to one", want: []Value{temp("a", 40), temp("b", 40)}, got: []Value{temp("x", 40)}, found: 1, missed: []string{"b"}},
		{name: "class must match", want: []Value{temp("a", 40)}, got: []Value{{Class: "fanspeed", Descr: "a", Num: 40}}, found: 0, missed: []string{"a"}},
		{
			name: "description first, case and punctuation aside",
			// Value-only matching would give "CPU1 Temp" the 40.2 and leave
			// "CPU2 Temp" without a partner.
			want:  []Value{temp("CPU1 Temp", 40), temp("CPU2 Temp", 40.6)},
			got:   []Value{temp("cpu2-temp", 40.2), temp("cpu1 temp", 39.6)},
			found: 2,
		},
		{
			name:  "closest value first without descriptions",
			want:  []Value{temp("a", 40), temp("b", 40.6)},
			got:   []Value{temp("x", 40.4), temp("y", 39.9)},
			found: 2,
		},
		{
			name: "as many pairs as can be",
			// Closest first alone would pair a with x and leave b alone.
			want:  []Value{temp("a", 40), temp("b", 40.8)},
			got:   []Value{temp("x", 40.4), temp("y", 39.5)},
			found: 2,
		},
		{
			name:  "states by severity",
			want:  []Value{{Class: ClassState, Descr: "PSU 1", Num: 3, Text: "ok"}, {Class: ClassState, Descr: "PSU 2", Num: 5, Text: "critical"}},
			got:   []Value{{Class: ClassState, Descr: "PSU 1", Num: 1, Text: "ok"}, {Class: ClassState, Descr: "PSU 2", Num: 1, Text: "ok"}},
			found: 1, missed: []string{"PSU 2"},
		},
		{
			name:  "identity normalised, either containing the other",
			want:  []Value{{Class: ClassModel, Text: "Color LaserJet Pro M252dw"}, {Class: ClassVersion, Text: "16.12.4"}, {Class: ClassSerial, Text: "ABC1"}},
			got:   []Value{{Class: ClassModel, Text: "HP Color LaserJet Pro M252dw"}, {Class: ClassVersion, Text: "16.12.4a"}, {Class: ClassSerial, Text: "ABC2"}},
			found: 2, missed: []string{""},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Compare("dev", Expected{Values: tc.want}, tc.got)
			var found, expected int
			for _, c := range r.Counts {
				found += c.Found
				expected += c.Expected
			}
			require.Equal(t, tc.found, found)
			require.Equal(t, len(tc.want), expected)
			var missed []string
			for _, m := range r.Missed {
				missed = append(missed, m.Descr)
			}
			require.Equal(t, tc.missed, missed)
		})
	}
}

const recording = `1.3.6.1.2.1.1.1.0|4|Cisco IOS Software, Version 16.12.4, RELEASE
1.3.6.1.2.1.47.1.1.1.1.11.1|4x|464f433132333441424344
1.3.6.1.4.1.9.9.13.1.3.1.3.1|66|25
1.3.6.1.4.1.9.9.13.1.3.1.6.1|2|1
1.3.6.1.4.1.9.9.109.1.1.1.1.7.1|66|7
`

const result = `{
 "os": {"discovery": {"devices": [{"hardware": "Generic x86 64-bit", "serial": "FOC1234ABCD", "version": "16.12.4"}]}},
 "sensors": {
  "discovery": {
   "sensors": [
    {"sensor_class": "temperature", "sensor_descr": "Inlet", "sensor_oid": ".1.3.6.1.4.1.9.9.13.1.3.1.3.1", "sensor_current": 20, "state_name": null},
    {"sensor_class": "temperature", "sensor_descr": "Gone", "sensor_oid": ".1.3.6.1.4.1.9.9.13.1.3.1.3.9", "sensor_current": 30, "state_name": null},
    {"sensor_class": "state", "sensor_descr": "Inlet", "sensor_oid": ".1.3.6.1.4.1.9.9.13.1.3.1.6.1", "sensor_current": 1, "state_name": "ciscoEnvMonTemperatureState"}
   ],
   "state_indexes": [{"state_name": "ciscoEnvMonTemperatureState", "state_value": 1, "state_generic_value": 0}]
  },
  "poller": {
   "sensors": [
    {"sensor_class": "temperature", "sensor_descr": "Inlet", "sensor_oid": ".1.3.6.1.4.1.9.9.13.1.3.1.3.1", "sensor_current": 25, "state_name": null},
    {"sensor_class": "temperature", "sensor_descr": "Gone", "sensor_oid": ".1.3.6.1.4.1.9.9.13.1.3.1.3.9", "sensor_current": 30, "state_name": null},
    {"sensor_class": "state", "sensor_descr": "Inlet", "sensor_oid": ".1.3.6.1.4.1.9.9.13.1.3.1.6.1", "sensor_current": 1, "state_name": "ciscoEnvMonTemperatureState"},
    {"sensor_class": "humidity", "sensor_descr": "Probe 2", "sensor_oid": ".1.3.6.1.4.1.9.9.13.1.3.1.3.1", "sensor_current": -1, "state_name": null},
    {"sensor_class": "voltage", "sensor_descr": "Bus", "sensor_oid": ".1.3.6.1.4.1.9.9.13.1.3.1.3.1", "sensor_current": -1, "state_name": null}
   ]
  }
 },
 "processors": {"discovery": {"processors": [
   {"processor_oid": ".1.3.6.1.4.1.9.9.109.1.1.1.1.7.1", "processor_usage": 7, "processor_descr": "CPU"},
   {"processor_oid": ".1.3.6.1.4.1.2021.11.11.0", "processor_usage": 3, "processor_descr": "ucd"}]}, "poller": "matches discovery"},
 "mempools": {"discovery": {"mempools": [
   {"mempool_descr": "Processor", "mempool_total": 1000, "mempool_used": 400},
   {"mempool_descr": "Empty", "mempool_total": 0, "mempool_used": 0}]}, "poller": "matches discovery"},
 "storage": {"discovery": [], "poller": []}
}`

func TestReadExpected(t *testing.T) {
	e, err := ReadExpected([]byte(result), ReadRecording([]byte(recording)))
	require.NoError(t, err)
	require.ElementsMatch(t, []Value{
		{Class: "temperature", Descr: "Inlet", Num: 25}, // the poller's reading
		{Class: ClassState, Descr: "Inlet", Num: 1, Text: "ok"},
		{Class: "voltage", Descr: "Bus", Num: -1}, // a voltage may be negative
		{Class: ClassProcessor, Descr: "CPU", Num: 7},
		{Class: ClassMempoolTotal, Descr: "Processor", Num: 1000},
		{Class: ClassMempoolUsed, Descr: "Processor", Num: 400},
		{Class: ClassSerial, Descr: ClassSerial, Text: "FOC1234ABCD"}, // from hex
		{Class: ClassVersion, Descr: ClassVersion, Text: "16.12.4"},
	}, e.Values)
	require.Equal(t, map[string]int{
		"temperature":     1, // its OID is not in the recording
		"humidity":        1, // -1: no reading
		ClassProcessor:    1,
		ClassMempoolTotal: 1, // size 0
		ClassMempoolUsed:  1,
		ClassModel:        1, // LibreNMS's own text
	}, e.NotComparable)
}

const kpis = `
kpis:
  - measurement: temperature
    name: {en: Temperature}
    fields:
      celsius: {name: {en: T}, unit: celsius, kind: gauge}
      threshold_celsius: {name: {en: T}, unit: celsius, kind: gauge}
      state:
        name: {en: S}
        kind: state
        states:
          1: {name: {en: Normal}, severity: ok}
          3: {name: {en: Critical}, severity: critical}
  - measurement: ups_battery
    name: {en: Battery}
    fields:
      runtime_seconds: {name: {en: R}, unit: seconds, kind: gauge}
      charge_percent: {name: {en: C}, unit: percent, kind: gauge}
  - measurement: memory
    name: {en: Memory}
    fields:
      size_bytes: {name: {en: S}, unit: bytes, kind: gauge}
      used_bytes: {name: {en: U}, unit: bytes, kind: gauge}
      used_percent: {name: {en: P}, unit: percent, kind: gauge}
  - measurement: storage
    name: {en: Storage}
    fields:
      size_bytes: {name: {en: S}, unit: bytes, kind: gauge}
      used_bytes: {name: {en: U}, unit: bytes, kind: gauge}
  - measurement: cpu
    name: {en: CPU}
    fields:
      load_percent: {name: {en: L}, unit: percent, kind: gauge}
  - measurement: interface
    name: {en: Interface}
    fields:
      in_octets: {name: {en: I}, unit: bytes, kind: counter}
`

func TestRead(t *testing.T) {
	sec, err := catalog.ReadSection([]byte(kpis), "test")
	require.NoError(t, err)
	cat, err := catalog.New(catalog.User, sec)
	require.NoError(t, err)
	samples := []kpi.Sample{
		{Measurement: "temperature", Tags: map[string]string{"descr": "Inlet", "index": "1"}, Fields: map[string]any{"celsius": 25.0, "threshold_celsius": 60.0, "state": int64(3)}},
		{Measurement: "ups_battery", Fields: map[string]any{"runtime_seconds": 600.0, "charge_percent": 98.0}},
		{Measurement: "memory", Tags: map[string]string{"descr": "Processor"}, Fields: map[string]any{"size_bytes": 1000.0, "used_bytes": 400.0, "used_percent": 40.0}},
		{Measurement: "storage", Tags: map[string]string{"descr": "/"}, Fields: map[string]any{"size_bytes": 5000.0, "used_bytes": 100.0}},
		{Measurement: "cpu", Tags: map[string]string{"index": "1"}, Fields: map[string]any{"load_percent": 7.0}},
		{Measurement: "interface", Tags: map[string]string{"ifindex": "1"}, Fields: map[string]any{"in_octets": 7.0}},
		{Measurement: "undefined", Fields: map[string]any{"celsius": 7.0}},
	}
	inv := kpi.Inventory{Attributes: map[string]any{"model": "C9200L", "serial": "FOC1", "os_version": "", "manufacturer": "Cisco"}}
	require.ElementsMatch(t, []Value{
		{Class: "temperature", Descr: "Inlet", Num: 25},
		{Class: ClassState, Descr: "Inlet", Num: 3, Text: "critical"},
		{Class: "runtime", Descr: "ups battery runtime seconds", Num: 10},
		{Class: "delay", Descr: "ups battery runtime seconds", Num: 600}, // the same reading, as LibreNMS files MGE's remaining time
		{Class: "charge", Descr: "ups battery charge percent", Num: 98},
		{Class: ClassMempoolTotal, Descr: "Processor", Num: 1000},
		{Class: ClassMempoolUsed, Descr: "Processor", Num: 400},
		{Class: ClassStorageSize, Descr: "/", Num: 5000},
		{Class: ClassStorageUsed, Descr: "/", Num: 100},
		{Class: ClassProcessor, Descr: "cpu load percent", Num: 7},
		{Class: ClassModel, Descr: ClassModel, Text: "C9200L"},
		{Class: ClassSerial, Descr: ClassSerial, Text: "FOC1"},
	}, Read(samples, inv, cat))
}

func TestReport(t *testing.T) {
	r := Report{Devices: []Result{
		{Device: "a", Counts: map[string]Count{"temperature": {3, 4}, ClassModel: {1, 1}}, NotComparable: map[string]int{"loss": 2}},
		{Device: "b", Counts: map[string]Count{"temperature": {1, 4}, ClassProcessor: {2, 2}}},
	}}
	totals := r.Totals()
	require.Equal(t, Count{4, 8}, totals["temperature"])
	require.Equal(t, Count{4, 8}, totals["sensors (all)"])
	require.Equal(t, Count{1, 1}, totals["identity (all)"])
	require.Equal(t, Count{7, 11}, totals[Overall])
	require.Equal(t, []string{"loss", "temperature", "sensors (all)", "processor", "processors (all)", "model", "identity (all)", Overall}, r.Keys())
	var b strings.Builder
	require.NoError(t, r.WriteTable(&b, map[string]float64{"temperature": 50}))
	require.Contains(t, b.String(), "\nloss                    0 / 0            -      -     90% 2\n", "nothing comparable: no percentage")
	require.Contains(t, b.String(), "\ntemperature             4 / 8        50.0%    50%     90%\n")
	require.Contains(t, b.String(), "\nidentity (all)          1 / 1       100.0%      -     95%\n")
	require.Equal(t, 90.0, Target("temperature"))
	require.Equal(t, 0.0, Target(ClassProcessor))
}
