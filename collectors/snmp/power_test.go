package snmp

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/collectortest"
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// powerField says where a power device's profile stores the value of
// one MIB column (or scalar, ending in .0): measurement and field.
type powerField struct{ measurement, field string }

// TestRecordedPowerDevices polls recordings of UPSs and PDUs that answer
// a vendor MIB, each with only the profile under test, and compares every
// sensor LibreNMS found in the columns the profile reads with ours, by
// row index: values in LibreNMS's units (amperes, volts, watts, hertz,
// percent, °C; runtime in minutes) and state sensors by their raw value.
func TestRecordedPowerDevices(t *testing.T) {
	shared, ok := devenv.SharedTestdata()
	if !ok {
		t.Skip("SKIPPED: ../shared/testdata is absent; the GPL recordings are not part of the project")
	}
	const (
		xups   = ".1.3.6.1.4.1.534.1."
		st3    = ".1.3.6.1.4.1.1718.3.2."
		st4    = ".1.3.6.1.4.1.1718.4.1."
		apc    = ".1.3.6.1.4.1.318.1.1."
		hpe    = ".1.3.6.1.4.1.232.165.11."
		epdu   = ".1.3.6.1.4.1.534.6.6.7."
		lgp    = ".1.3.6.1.4.1.476.1.42.3.8."
		upsMIB = ".1.3.6.1.2.1.33.1."
		mge    = ".1.3.6.1.4.1.705.1."
		akcp   = ".1.3.6.1.4.1.3854.1."
		minute = 60.0
	)
	xupsFields := map[string]powerField{
		xups + "2.1.0":         {"ups_battery", "runtime_seconds"},
		xups + "2.2.0":         {"ups_battery", "voltage"},
		xups + "2.3.0":         {"ups_battery", "current"},
		xups + "2.4.0":         {"ups_battery", "charge_percent"},
		xups + "2.5.0":         {"ups_battery", "abm_status"},
		xups + "8.2.0":         {"ups_battery", "test_result"},
		xups + "3.1.0":         {"ups_input", "frequency_hz"},
		xups + "3.4.1.2":       {"ups_input_line", "voltage"},
		xups + "3.4.1.3":       {"ups_input_line", "current"},
		xups + "4.1.0":         {"ups_output", "load_percent"},
		xups + "4.2.0":         {"ups_output", "frequency_hz"},
		xups + "4.4.1.2":       {"ups_output_line", "voltage"},
		xups + "4.4.1.3":       {"ups_output_line", "current"},
		xups + "4.4.1.4":       {"ups_output_line", "power_watts"},
		xups + "5.1.0":         {"ups_bypass", "frequency_hz"},
		xups + "5.3.1.2":       {"ups_bypass_line", "voltage"},
		xups + "6.1.0":         {"temperature", "celsius"},
		xups + "8.2.0.0":       {}, // LibreNMS reads a row the MIB does not have
		xups + "8.2.0.0.0":     {},
		st3 + "2.1.7":          {"pdu_phase", "current"},
		st3 + "2.1.11":         {"pdu_phase", "voltage"},
		st3 + "3.1.7":          {"pdu_outlet", "current"},
		st4 + "2.3.1.1":        {"pdu", "status"},
		st4 + "3.3.1.1":        {"pdu_cord", "state"},
		st4 + "3.3.1.2":        {"pdu_cord", "status"},
		st4 + "3.3.1.3":        {"pdu_cord", "power_watts"},
		st4 + "3.3.1.4":        {"pdu_cord", "active_power_status"},
		st4 + "3.3.1.6":        {"pdu_cord", "apparent_power_status"},
		st4 + "3.3.1.9":        {"pdu_cord", "power_factor_status"},
		st4 + "3.3.1.11":       {"pdu_cord", "frequency_hz"},
		st4 + "3.3.1.12":       {"pdu_cord", "out_of_balance_percent"},
		st4 + "3.3.1.13":       {"pdu_cord", "out_of_balance_status"},
		st4 + "4.3.1.1":        {"pdu_line", "state"},
		st4 + "4.3.1.2":        {"pdu_line", "status"},
		st4 + "4.3.1.3":        {"pdu_line", "current"},
		st4 + "5.3.1.1":        {"pdu_phase", "state"},
		st4 + "5.3.1.2":        {"pdu_phase", "status"},
		st4 + "5.3.1.3":        {"pdu_phase", "voltage"},
		st4 + "5.3.1.4":        {"pdu_phase", "voltage_status"},
		st4 + "5.3.1.6":        {"pdu_phase", "current"},
		st4 + "5.3.1.8":        {"pdu_phase", "power_watts"},
		st4 + "5.3.1.11":       {"pdu_phase", "power_factor_status"},
		st4 + "6.3.1.1":        {"pdu_breaker", "status"},
		st4 + "7.3.1.1":        {"pdu_branch", "state"},
		st4 + "7.3.1.2":        {"pdu_branch", "status"},
		st4 + "7.3.1.4":        {"pdu_branch", "current_status"},
		apc + "32.2.4.1.3":     {"pdu", "load_alarm"},
		apc + "32.2.4.1.4":     {"pdu", "power_watts"},
		apc + "32.2.4.1.6":     {"pdu", "peak_power_watts"},
		apc + "32.2.4.1.13":    {"pdu", "power_factor"},
		apc + "32.5.9.1.4":     {"pdu_outlet", "load_alarm"},
		apc + "32.5.9.1.5":     {"pdu_outlet", "current"},
		apc + "32.5.9.1.6":     {"pdu_outlet", "power_watts"},
		apc + "32.5.9.1.7":     {"pdu_outlet", "power_factor"},
		apc + "32.5.4.1.4":     {"pdu_outlet", "switch_state"},
		apc + "25.1.2.1.6":     {"temperature", "celsius"},
		apc + "25.1.2.1.7":     {"humidity", "percent"},
		apc + "10.4.2.3.1.5":   {"temperature", "celsius"},
		apc + "10.4.2.3.1.6":   {"humidity", "percent"},
		apc + "10.4.2.3.1.7":   {"environment_probe", "comm_status"},
		apc + "10.4.2.3.1.8":   {"environment_probe", "alarm_status"},
		hpe + "2.1.1.1":        {}, // the PDU's input type: no health state
		hpe + "2.1.1.2":        {"pdu", "frequency_hz"},
		hpe + "2.1.1.5":        {"pdu", "power_watts"},
		hpe + "2.1.1.9":        {"pdu", "power_factor"},
		hpe + "2.2.1.3":        {"pdu_phase", "voltage"},
		hpe + "2.2.1.11":       {"pdu_phase", "current"},
		hpe + "2.2.1.17":       {"pdu_phase", "load_percent"},
		hpe + "2.2.1.20":       {"pdu_phase", "power_watts"},
		hpe + "5.1.1.5":        {"pdu_outlet", "current"},
		hpe + "5.1.1.11":       {"pdu_outlet", "load_percent"},
		hpe + "5.1.1.13":       {"pdu_outlet", "power_watts"},
		hpe + "5.1.1.16":       {"pdu_outlet", "power_factor"},
		hpe + "5.2.1.1":        {"pdu_outlet", "control_status"},
		epdu + "3.2.1.3":       {"pdu_phase", "voltage"},
		epdu + "3.3.1.4":       {"pdu_phase", "current"},
		epdu + "3.4.1.4":       {"pdu_phase", "power_watts"},
		epdu + "6.4.1.3":       {"pdu_outlet", "current"},
		epdu + "6.5.1.3":       {"pdu_outlet", "power_watts"},
		lgp + "20.1.25":        {"pdu", "system_status"},
		lgp + "30.20.1.65":     {"pdu_module", "power_watts"},
		lgp + "30.20.1.70":     {"pdu_module", "neutral_current"},
		lgp + "30.20.1.90":     {"pdu_module", "apparent_power_va"},
		lgp + "30.20.1.95":     {"pdu_module", "power_factor"},
		lgp + "30.40.1.19":     {"pdu_phase", "voltage"},
		lgp + "30.40.1.22":     {"pdu_phase", "current"},
		lgp + "40.20.1.130":    {"pdu_branch", "current"},
		lgp + "40.20.1.150":    {"pdu_branch", "current_margin"},
		lgp + "40.20.1.160":    {"pdu_branch", "load_percent"},
		lgp + "50.20.1.55":     {"pdu_outlet", "voltage"},
		lgp + "50.20.1.60":     {"pdu_outlet", "current"},
		lgp + "50.20.1.65":     {"pdu_outlet", "power_watts"},
		lgp + "50.20.1.70":     {"pdu_outlet", "apparent_power_va"},
		lgp + "50.20.1.75":     {"pdu_outlet", "power_factor"},
		lgp + "50.20.1.95":     {"pdu_outlet", "power_state"},
		upsMIB + "2.1.0":       {"ups_battery", "status"},
		upsMIB + "2.2.0":       {"ups_battery", "seconds_on_battery"},
		upsMIB + "2.3.0":       {"ups_battery", "runtime_seconds"},
		upsMIB + "2.4.0":       {"ups_battery", "charge_percent"},
		upsMIB + "2.5.0":       {"ups_battery", "voltage"},
		upsMIB + "2.6.0":       {"ups_battery", "current"},
		upsMIB + "2.7.0":       {"ups_battery", "temperature_celsius"},
		upsMIB + "3.3.1.2":     {"ups_input_line", "frequency_hz"},
		upsMIB + "3.3.1.3":     {"ups_input_line", "voltage"},
		upsMIB + "3.3.1.4":     {"ups_input_line", "current"},
		upsMIB + "3.3.1.5":     {"ups_input_line", "power_watts"},
		upsMIB + "4.1.0":       {"ups_output", "source"},
		upsMIB + "4.2.0":       {"ups_output", "frequency_hz"},
		upsMIB + "4.4.1.2":     {"ups_output_line", "voltage"},
		upsMIB + "4.4.1.3":     {"ups_output_line", "current"},
		upsMIB + "4.4.1.4":     {"ups_output_line", "power_watts"},
		upsMIB + "4.4.1.5":     {"ups_output_line", "load_percent"},
		upsMIB + "5.1.0":       {"ups_bypass", "frequency_hz"},
		upsMIB + "5.3.1.2":     {"ups_bypass_line", "voltage"},
		upsMIB + "5.3.1.3":     {"ups_bypass_line", "current"},
		upsMIB + "5.3.1.4":     {"ups_bypass_line", "power_watts"},
		upsMIB + "6.1.0":       {"ups_alarm", "alarm_count"},
		upsMIB + "7.3.0":       {"ups_battery", "self_test_result"},
		mge + "5.1.0":          {}, // remaining time: LibreNMS's delay class
		mge + "5.2.0":          {"ups_battery", "charge_percent"},
		mge + "5.5.0":          {"ups_battery", "voltage"},
		mge + "5.6.0":          {"ups_battery", "current"},
		mge + "5.7.0":          {"ups_battery", "temperature_celsius"},
		mge + "6.2.1.2":        {"ups_input_line", "voltage"},
		mge + "6.2.1.3":        {"ups_input_line", "frequency_hz"},
		mge + "6.2.1.6":        {"ups_input_line", "current"},
		mge + "7.2.1.2":        {"ups_output_line", "voltage"},
		mge + "7.2.1.3":        {"ups_output_line", "frequency_hz"},
		mge + "7.2.1.4":        {}, // apparent power (VA), which LibreNMS counts as power
		mge + "7.2.1.5":        {"ups_output_line", "current"},
		mge + "5.9.0":          {"ups_alarm", "battery_fault"},
		mge + "5.11.0":         {"ups_alarm", "battery_replace"},
		mge + "5.14.0":         {"ups_alarm", "battery_low"},
		mge + "5.15.0":         {"ups_alarm", "charger_fault"},
		mge + "5.16.0":         {"ups_alarm", "battery_low_condition"},
		mge + "6.3.0":          {"ups_alarm", "input_bad"},
		mge + "6.4.0":          {"ups_alarm", "input_fail_cause"},
		mge + "7.3.0":          {"ups_alarm", "on_battery"},
		mge + "7.4.0":          {"ups_alarm", "on_bypass"},
		mge + "7.7.0":          {"ups_alarm", "utility_off"},
		mge + "7.9.0":          {"ups_alarm", "inverter_off"},
		mge + "7.10.0":         {"ups_alarm", "overload"},
		mge + "7.11.0":         {"ups_alarm", "over_temperature"},
		akcp + "1.2.0":         {"sensor_probe", "status"},
		akcp + "2.2.1.16.1.14": {"temperature", "celsius"},
		akcp + "2.2.1.17.1.13": {"humidity", "percent"},
		akcp + "2.2.1.18.1.3":  {"dry_contact", "status"},
	}
	// LibreNMS keeps these Liebert currents as read, without the MIB's
	// divisor (242 A on a line that carries 514 W at 238 V); ours are
	// in amperes, so compare ours times the divisor.
	undivided := map[string]float64{
		lgp + "30.40.1.22":  100,
		lgp + "30.20.1.70":  10,
		lgp + "40.20.1.130": 100,
	}
	tests := []struct {
		recording, profile, oidPrefix string
		want                          int // sensors LibreNMS has under oidPrefix, that the MIB defines
	}{
		{"eatonups", "eaton-xups", xups, 28},
		{"eatonups_eaton-connectups", "eaton-xups", xups, 14},
		{"sentry3_switched", "servertech-sentry", st3, 36},
		{"sentry4", "servertech-sentry", st4, 104},
		{"apc-cpdu", "apc-cpdu", apc + "32.", 204},
		{"apc_smtl1000-nmc3", "apc-environment", apc + "25.", 3},
		{"apc_environmental-manager", "apc-environment", apc + "10.", 12},
		{"hpe-mapdu_pdu3", "hpe-pdu3", hpe, 129},
		{"eatonpdu_2", "eaton-epdu", epdu, 51},
		{"liebert_mph2rg", "liebert-pdu", lgp, 106},
		{"eaton-mgeups_9pxle", "ups-mib", upsMIB, 23},
		{"dell-ups_tower1000w", "ups-mib", upsMIB, 21},
		{"apc-mgeups_galaxy7000", "mge-ups", mge, 35},
		{"eaton-mgeups_9pxle", "mge-ups", mge, 13},
		{"akcp_serverprobe8", "akcp-sensorprobe", akcp, 72},
	}
	var files []string
	for _, tt := range tests {
		files = append(files, filepath.Join(shared, "snmp", "data", tt.recording+".snmprec"))
	}
	s := devenv.SNMPSim(t, files...)
	for _, tt := range tests {
		t.Run(tt.recording+"/"+tt.profile, func(t *testing.T) {
			cfg := testConfig(func(c *Config) {
				c.Community = yamlconf.Secret(tt.recording)
				c.MaxRepetitions = 25
				c.Profiles = []string{"system", tt.profile}
			})
			sink, err := collectortest.CollectOnce(t, newCollector(t, cfg, s.Addr()))
			require.NoError(t, err)
			require.Empty(t, sink.Errors)
			raw, err := os.ReadFile(filepath.Join(shared, "snmp", "expected", tt.recording+".json"))
			require.NoError(t, err)
			var exp struct {
				Sensors struct {
					Discovery struct{ Sensors []expectedSensor }
				}
			}
			require.NoError(t, json.Unmarshal(raw, &exp))
			n := 0
			for _, e := range exp.Sensors.Discovery.Sensors {
				if !strings.HasPrefix(e.OID, tt.oidPrefix) {
					continue
				}
				where, idx, ok := powerColumn(xupsFields, e.OID)
				require.True(t, ok, "%s %q: no column for %s", e.Class, e.Descr, e.OID)
				if where.measurement == "" {
					continue
				}
				n++
				got, ok := findPowerValue(sink, where, idx)
				if e.Class == "humidity" && e.Current < 0 {
					// LibreNMS keeps what a probe without the sensor sends.
					require.False(t, ok, "%q (%s): %v%% is not a reading", e.Descr, e.OID, e.Current)
					continue
				}
				require.True(t, ok, "%s %q (%s.%s index %q) not found", e.Class, e.Descr, where.measurement, where.field, idx)
				if e.Class == "runtime" {
					got /= minute
				}
				if f, ok := undivided[strings.TrimSuffix(e.OID, "."+idx)]; ok {
					got *= f
				}
				require.InDelta(t, e.Current, got, math.Max(0.01, math.Abs(e.Current)*1e-3),
					"%s %q (%s.%s index %q)", e.Class, e.Descr, where.measurement, where.field, idx)
			}
			require.Equal(t, tt.want, n, "sensors LibreNMS has in the tables")
		})
	}
}

// powerColumn finds the longest column (or scalar) of fields that oid
// lies in and returns it with the row index ("" for a scalar).
func powerColumn(fields map[string]powerField, oid string) (powerField, string, bool) {
	best := ""
	for col := range fields {
		if (oid == col || strings.HasPrefix(oid, col+".")) && len(col) > len(best) {
			best = col
		}
	}
	if best == "" {
		return powerField{}, "", false
	}
	return fields[best], strings.TrimPrefix(strings.TrimPrefix(oid, best), "."), true
}

// findPowerValue returns the field of the sample of the measurement whose
// row index is idx (any index tag; none for a scalar).
func findPowerValue(sink *collectortest.Sink, where powerField, idx string) (float64, bool) {
	for _, x := range sink.Find(where.measurement) {
		row := ""
		for _, k := range []string{"index", "line", "phase"} {
			if v := x.Tags[k]; v != "" {
				row = v
			}
		}
		if row != idx {
			continue
		}
		if v, ok := x.Fields[where.field]; ok {
			switch n := v.(type) {
			case float64:
				return n, true
			case int64:
				return float64(n), true
			}
		}
	}
	return 0, false
}
