package exposition_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/server/exposition"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
	"github.com/kpilot/kpilot/server/visibility"
)

// kpis defines a KPI of every kind and unit, with field names as
// profiles spell them.
const kpis = `
kpis:
  - measurement: interface
    name: {en: Interface}
    fields:
      in_octets: {name: {en: Bytes received}, description: {en: Bytes received on the interface.}, unit: bytes, kind: counter}
      in_errors: {name: {en: Receive errors}, description: {en: Packets received with errors}, kind: counter}
      speed_bps: {name: {en: Speed}, description: {en: The nominal speed of the interface.}, unit: bits_per_second, kind: gauge}
      oper_status:
        name: {en: Operational status}
        description: {en: Whether the interface passes traffic.}
        kind: state
        states: {1: {name: {en: Up}, severity: ok}, 2: {name: {en: Down}, severity: critical}}
      mtu: {name: {en: MTU}, description: {en: Largest packet.}, unit: bytes, kind: info}
  - measurement: cpu
    name: {en: Processor}
    fields:
      time_idle: {name: {en: Idle time}, description: {en: Time the processors were idle.}, unit: seconds, kind: counter}
      usage_percent: {name: {en: CPU usage}, description: {en: Share of time the processors were busy.}, unit: percent, kind: gauge, thresholds: {warning: 90}}
      frequency_hz: {name: {en: Frequency}, description: {en: Clock frequency.}, unit: hertz, kind: gauge}
  - measurement: storage
    name: {en: Volume}
    fields:
      used_bytes: {name: {en: Used}, description: {en: Bytes in use.}, unit: bytes, kind: gauge}
      fill: {name: {en: Fill}, description: {en: Share of the volume in use.}, unit: ratio, kind: gauge}
  - measurement: ups_battery
    name: {en: UPS battery}
    fields:
      charge_percent: {name: {en: Charge}, description: {en: Remaining battery charge.}, unit: percent, kind: gauge, thresholds: {warning: 50, critical: 20, below: true}}
      runtime_seconds: {name: {en: Runtime}, description: {en: Runtime left on battery.}, unit: seconds, kind: gauge}
      temperature_celsius: {name: {en: Temperature}, description: {en: Battery temperature.}, unit: celsius, kind: gauge}
  - measurement: ups_output
    name: {en: UPS output}
    fields:
      power_watts: {name: {en: Power}, description: {en: Real power.}, unit: watts, kind: gauge}
      load_va: {name: {en: Apparent power}, description: {en: Apparent power.}, unit: volt_amperes, kind: gauge}
      voltage: {name: {en: Voltage}, description: {en: Output voltage.}, unit: volts, kind: gauge}
      current: {name: {en: Current}, description: {en: Output current.}, unit: amperes, kind: gauge}
  - measurement: fan
    name: {en: Fan}
    fields:
      speed: {name: {en: Speed}, description: {en: Fan speed.}, unit: rpm, kind: gauge}
  - measurement: transceiver
    name: {en: Transceiver}
    fields:
      rx_power: {name: {en: Receive power}, description: {en: Optical receive power.}, unit: dbm, kind: gauge}
  - measurement: pdu
    name: {en: PDU}
    fields:
      energy_kwh: {name: {en: Energy}, description: {en: Energy delivered.}, unit: joules, kind: counter}
  - measurement: backup_job
    name: {en: Backup job}
    fields:
      last_run_time: {name: {en: Last run}, description: {en: When the job last ran.}, unit: timestamp, kind: gauge}
  - measurement: disk
    name: {en: Disk}
    fields:
      read_bytes_per_second: {name: {en: Read throughput}, description: {en: Bytes read.}, unit: bytes_per_second, kind: gauge}
      read_ops: {name: {en: Read operations}, description: {en: Reads per second.}, unit: per_second, kind: gauge}
  - measurement: system
    name: {en: System}
    fields:
      interface_count: {name: {en: Interfaces}, description: {en: Number of interfaces.}, kind: gauge}
`

func testCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	sec, err := catalog.ReadSection([]byte(kpis), "test")
	require.NoError(t, err)
	c, err := catalog.New(catalog.User, sec)
	require.NoError(t, err)
	return c
}

// want is one family as the exposition must write it.
type want struct {
	name, typ, unit, help string
	value                 float64
}

// TestFamiliesFromCatalog renders one value of every KPI of the test
// catalog and checks each family's name, type, HELP, UNIT and value:
// counters end in _total, units are base units in the name, percentages
// are ratios, bits are bytes, info KPIs and a counter's rate are left
// out, and a field without a definition is still a gauge.
func TestFamiliesFromCatalog(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	value := func(m, f string, v any) tsdb.Series {
		return tsdb.Series{Measurement: m, Field: f, Tags: map[string]string{"index": "1"}, Points: []tsdb.Point{{Time: t0, Value: v}}}
	}
	series := []tsdb.Series{
		value("interface", "in_octets", int64(123456789)), value("interface", "in_octets_per_second", 1000.0),
		value("interface", "in_errors", int64(3)), value("interface", "speed_bps", int64(1e9)),
		value("interface", "oper_status", int64(2)), value("interface", "mtu", int64(1500)),
		value("cpu", "time_idle", 8123.5), value("cpu", "usage_percent", 42.5), value("cpu", "frequency_hz", 2.4e9),
		value("storage", "used_bytes", int64(1<<40)), value("storage", "fill", 0.25),
		value("ups_battery", "charge_percent", 97.0), value("ups_battery", "runtime_seconds", 1800.0),
		value("ups_battery", "temperature_celsius", 24.5),
		value("ups_output", "power_watts", 350.0), value("ups_output", "load_va", 420.0),
		value("ups_output", "voltage", 230.0), value("ups_output", "current", 1.5),
		value("fan", "speed", 5400.0), value("transceiver", "rx_power", -3.5), value("pdu", "energy_kwh", 3.6e6),
		value("backup_job", "last_run_time", int64(1796630400)),
		value("disk", "read_bytes_per_second", 2048.0), value("disk", "read_ops", 12.5),
		value("system", "interface_count", int64(48)),
		value("custom", "widgets", int64(7)), // the user's own, undefined
	}
	wants := []want{
		{"kpilot_asset_info", "gauge", "", "An asset the token may see, with its facts; always 1.", 1},
		{"kpilot_asset_last_sample_timestamp_seconds", "gauge", "seconds", "Time of the asset's newest sample within the lookback.", 1796630400},
		{"kpilot_backup_job_last_run_timestamp_seconds", "gauge", "seconds", "When the job last ran.", 1796630400},
		{"kpilot_cpu_frequency_hertz", "gauge", "hertz", "Clock frequency.", 2.4e9},
		{"kpilot_cpu_time_idle_seconds_total", "counter", "seconds", "Time the processors were idle.", 8123.5},
		{"kpilot_cpu_usage_ratio", "gauge", "ratio", "Share of time the processors were busy. As a ratio from 0 to 1.", 0.425},
		{"kpilot_custom_widgets", "gauge", "", "Latest custom.widgets of the asset (kpilot KPI).", 7},
		{"kpilot_disk_read_bytes_per_second", "gauge", "bytes_per_second", "Bytes read.", 2048},
		{"kpilot_disk_read_ops_per_second", "gauge", "", "Reads per second.", 12.5},
		{"kpilot_fan_speed_rpm", "gauge", "rpm", "Fan speed.", 5400},
		{"kpilot_interface_in_bytes_total", "counter", "bytes", "Bytes received on the interface.", 123456789},
		{"kpilot_interface_in_errors_total", "counter", "", "Packets received with errors.", 3},
		{"kpilot_interface_oper_status", "gauge", "", "Whether the interface passes traffic. Values: 1 Up (ok), 2 Down (critical).", 2},
		{"kpilot_interface_speed_bytes_per_second", "gauge", "bytes_per_second", "The nominal speed of the interface. In bytes per second.", 1.25e8},
		{"kpilot_pdu_energy_joules_total", "counter", "joules", "Energy delivered.", 3.6e6},
		{"kpilot_storage_fill_ratio", "gauge", "ratio", "Share of the volume in use.", 0.25},
		{"kpilot_storage_used_bytes", "gauge", "bytes", "Bytes in use.", 1 << 40},
		{"kpilot_system_interface_count_value", "gauge", "", "Number of interfaces.", 48},
		{"kpilot_transceiver_rx_power_dbm", "gauge", "dbm", "Optical receive power.", -3.5},
		{"kpilot_ups_battery_charge_ratio", "gauge", "ratio", "Remaining battery charge. As a ratio from 0 to 1.", 0.97},
		{"kpilot_ups_battery_runtime_seconds", "gauge", "seconds", "Runtime left on battery.", 1800},
		{"kpilot_ups_battery_temperature_celsius", "gauge", "celsius", "Battery temperature.", 24.5},
		{"kpilot_ups_output_current_amperes", "gauge", "amperes", "Output current.", 1.5},
		{"kpilot_ups_output_load_volt_amperes", "gauge", "volt_amperes", "Apparent power.", 420},
		{"kpilot_ups_output_power_watts", "gauge", "watts", "Real power.", 350},
		{"kpilot_ups_output_voltage_volts", "gauge", "volts", "Output voltage.", 230},
	}
	cat := testCatalog(t)
	assets := []exposition.Asset{{Asset: store.Asset{ID: "a1", OrgID: "acme", Name: "UPS"}, Customer: "Acme",
		Access: visibility.Access{Class: visibility.Owner}}}
	var asked []string
	fams := exposition.Families(assets, map[string][]tsdb.Series{"a1": series}, func(org string) *catalog.Catalog {
		asked = append(asked, org)
		return cat
	})
	require.Equal(t, []string{"acme"}, asked, "the asset's organization's catalog, once")

	var got []want
	for _, f := range fams {
		require.Len(t, f.Metric, 1, f.GetName())
		m := f.Metric[0]
		v := m.GetGauge().GetValue()
		if f.GetType() == dto.MetricType_COUNTER {
			require.Nil(t, m.Gauge, f.GetName())
			v = m.GetCounter().GetValue()
		}
		got = append(got, want{f.GetName(), strings.ToLower(f.GetType().String()), f.GetUnit(), f.GetHelp(), v})
	}
	require.Len(t, got, len(wants))
	for i := range wants {
		require.Equal(t, wants[i].name, got[i].name)
		require.Equal(t, wants[i].typ, got[i].typ, wants[i].name)
		require.Equal(t, wants[i].unit, got[i].unit, wants[i].name)
		require.Equal(t, wants[i].help, got[i].help, wants[i].name)
		require.InDelta(t, wants[i].value, got[i].value, 1e-9*max(1, wants[i].value), wants[i].name)
	}

	problems, err := promlint.NewWithMetricFamilies(fams).Lint()
	require.NoError(t, err)
	require.Empty(t, problems)

	t.Run("OpenMetrics has UNIT lines", func(t *testing.T) {
		var buf bytes.Buffer
		require.NoError(t, exposition.Write(&buf, expfmt.NewFormat(expfmt.TypeOpenMetrics), fams))
		out := buf.String()
		for _, w := range wants {
			name := strings.TrimSuffix(w.name, "_total")
			require.Contains(t, out, fmt.Sprintf("# TYPE %s %s\n", name, w.typ))
			if w.unit != "" {
				require.Contains(t, out, fmt.Sprintf("# UNIT %s %s\n", name, w.unit))
				require.True(t, strings.HasSuffix(name, "_"+w.unit), "OpenMetrics: the unit ends the name (%s)", name)
			} else {
				require.NotContains(t, out, "# UNIT "+name+" ")
			}
		}
		require.Contains(t, out, `kpilot_interface_in_bytes_total{asset="UPS",asset_id="a1",customer="Acme",customer_id="acme",index="1"} 1.23456789e+08`)
		require.True(t, strings.HasSuffix(out, "# EOF\n"))
	})
	t.Run("the text format has no UNIT lines", func(t *testing.T) {
		var buf bytes.Buffer
		require.NoError(t, exposition.Write(&buf, expfmt.NewFormat(expfmt.TypeTextPlain), fams))
		require.NotContains(t, buf.String(), "# UNIT")
		require.Contains(t, buf.String(), "# TYPE kpilot_interface_in_bytes_total counter\n")
	})
}

// Two fields that come out under one name and label set (a defined
// used_percent and the user's own used_ratio) give one metric, the
// defined one's; a field whose raw name is a defined counter's family is
// left out rather than make the family a gauge.
func TestFamiliesCollisions(t *testing.T) {
	t0 := time.Now()
	series := []tsdb.Series{
		{Measurement: "cpu", Field: "usage_ratio", Points: []tsdb.Point{{Time: t0, Value: 0.9}}},
		{Measurement: "cpu", Field: "usage_percent", Points: []tsdb.Point{{Time: t0, Value: 50.0}}},
		{Measurement: "interface", Field: "in_bytes_total", Points: []tsdb.Point{{Time: t0, Value: 1.0}}},
		{Measurement: "interface", Field: "in_octets", Points: []tsdb.Point{{Time: t0, Value: 99.0}}},
	}
	assets := []exposition.Asset{{Asset: store.Asset{ID: "a1", OrgID: "acme"}, Access: visibility.Access{Class: visibility.Owner}}}
	cat := testCatalog(t)
	fams := exposition.Families(assets, map[string][]tsdb.Series{"a1": series}, func(string) *catalog.Catalog { return cat })
	byName := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		byName[f.GetName()] = f
	}
	require.Len(t, byName["kpilot_cpu_usage_ratio"].Metric, 1)
	require.Equal(t, 0.5, byName["kpilot_cpu_usage_ratio"].Metric[0].GetGauge().GetValue(), "the defined KPI wins")
	require.Len(t, byName["kpilot_interface_in_bytes_total"].Metric, 1)
	require.Equal(t, 99.0, byName["kpilot_interface_in_bytes_total"].Metric[0].GetCounter().GetValue())
	problems, err := promlint.NewWithMetricFamilies(fams).Lint()
	require.NoError(t, err)
	require.Empty(t, problems)
}

// TestBuiltinFamiliesLint renders a value of every KPI the built-in
// catalog defines (and every counter's rate, which is left out) and lints
// the families with client_golang's promlint.
func TestBuiltinFamiliesLint(t *testing.T) {
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	var series []tsdb.Series
	for _, d := range cat.Definitions() {
		series = append(series, tsdb.Series{Measurement: d.Measurement, Field: d.Field, Tags: map[string]string{"index": "1"},
			Points: []tsdb.Point{{Time: time.Now(), Value: 1.0}}})
		if d.Kind == catalog.Counter {
			series = append(series, tsdb.Series{Measurement: d.Measurement, Field: d.Field + "_per_second",
				Points: []tsdb.Point{{Time: time.Now(), Value: 1.0}}})
		}
	}
	assets := []exposition.Asset{{Asset: store.Asset{ID: "a1", OrgID: "acme"}, Access: visibility.Access{Class: visibility.Service}}}
	fams := exposition.Families(assets, map[string][]tsdb.Series{"a1": series}, func(string) *catalog.Catalog { return cat })
	require.Greater(t, len(fams), 2, "the built-in KPIs are exported")
	names := map[string]string{}
	for _, d := range cat.Definitions() {
		f, ok := exposition.FamilyOf(d)
		if !ok {
			continue
		}
		if other, taken := names[f.Name]; taken {
			t.Errorf("%s.%s and %s are both exported as %s", d.Measurement, d.Field, other, f.Name)
		}
		names[f.Name] = d.Measurement + "." + d.Field
	}
	for _, f := range fams {
		require.NotContains(t, f.GetName(), "_per_second_total", "rates are not exported")
	}
	problems, err := promlint.NewWithMetricFamilies(fams).Lint()
	require.NoError(t, err)
	require.Empty(t, problems)
}

// CatalogsFor asks once per organization of the assets, and a lookup
// that fails is an error rather than metrics named without definitions.
func TestCatalogsFor(t *testing.T) {
	cat := testCatalog(t)
	assets := []exposition.Asset{{Asset: store.Asset{ID: "a1", OrgID: "acme"}}, {Asset: store.Asset{ID: "a2", OrgID: "acme"}},
		{Asset: store.Asset{ID: "g1", OrgID: "globex"}}}
	var asked []string
	cats, err := exposition.CatalogsFor(t.Context(), assets, func(_ context.Context, org string) (*catalog.Catalog, error) {
		asked = append(asked, org)
		if org == "globex" {
			return nil, nil // no definitions of its own
		}
		return cat, nil
	})
	require.NoError(t, err)
	require.Equal(t, []string{"acme", "globex"}, asked)
	require.Same(t, cat, cats("acme"))
	require.Nil(t, cats("globex"))

	_, err = exposition.CatalogsFor(t.Context(), assets, func(context.Context, string) (*catalog.Catalog, error) {
		return nil, errors.New("store away")
	})
	require.ErrorContains(t, err, "KPI catalog of organization acme: store away")

	cats, err = exposition.CatalogsFor(t.Context(), assets, nil)
	require.NoError(t, err)
	require.Nil(t, cats("acme"), "no lookup: nothing defined")
}

// Values a template collects in hours or days are exported in seconds.
func TestFamilyOfHoursAndDays(t *testing.T) {
	for _, tt := range []struct {
		field string
		unit  catalog.Unit
		name  string
		scale float64
	}{
		{"hours_since_last_run", "hours", "kpilot_backup_job_since_last_run_seconds", 3600},
		{"age_hours", "hours", "kpilot_backup_job_age_seconds", 3600},
		{"days_until_full", "days", "kpilot_backup_job_until_full_seconds", 86400},
		{"retention_days", "days", "kpilot_backup_job_retention_seconds", 86400},
	} {
		t.Run(tt.field, func(t *testing.T) {
			f, ok := exposition.FamilyOf(catalog.Definition{Measurement: "backup_job", Field: tt.field, Unit: tt.unit, Kind: catalog.Gauge,
				Name: catalog.Text{EN: "x"}})
			require.True(t, ok)
			require.Equal(t, tt.name, f.Name)
			require.Equal(t, "seconds", f.Unit)
			require.Equal(t, tt.scale, f.Scale)
			fam := &dto.MetricFamily{Name: &f.Name, Help: &f.Help, Type: f.Type.Enum(), Metric: []*dto.Metric{{Gauge: &dto.Gauge{}}}}
			problems, err := promlint.NewWithMetricFamilies([]*dto.MetricFamily{fam}).Lint()
			require.NoError(t, err)
			require.Empty(t, problems)
		})
	}
}
