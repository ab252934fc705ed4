package snmp

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/collectortest"
)

// TestRecordedStorageArrays polls recordings of storage arrays and RAID
// controllers, each with only the profile under test, and compares every
// sensor LibreNMS found in the columns the profile reads with ours, by
// row index: temperatures in °C, counts as read, and state sensors by
// their raw value.
func TestRecordedStorageArrays(t *testing.T) {
	shared := sharedRecordings(t)
	const (
		lsiAdp = ".1.3.6.1.4.1.3582.4.1.4.1.2.1."
		lsiBBU = ".1.3.6.1.4.1.3582.4.1.4.1.6.2.1."
		lsiPD  = ".1.3.6.1.4.1.3582.4.1.4.2.1.2.1."
		sc     = ".1.3.6.1.4.1.674.11000.2000.500.1.2."
		es     = ".1.3.6.1.4.1.14752.1.3.2."
		qs     = ".1.3.6.1.4.1.39324.1.1."
		fc     = ".1.3.6.1.3.94.1.8.1.6."
	)
	fields := map[string]powerField{
		lsiAdp + "4":  {"sensor_state", "lsi_alarm", nil},
		lsiAdp + "18": {"raid_controller", "virtual_disk_count", nil},
		lsiAdp + "19": {"raid_controller", "degraded_virtual_disk_count", nil},
		lsiAdp + "23": {"raid_controller", "critical_disk_count", nil},
		lsiAdp + "24": {"raid_controller", "failed_disk_count", nil},
		lsiAdp + "42": {"temperature", "celsius", map[string]string{"type": "raid_controller"}},
		lsiBBU + "16": {"temperature", "celsius", map[string]string{"type": "battery"}},
		lsiBBU + "20": {"sensor_state", "lsi_bbu_charger", nil},
		lsiBBU + "27": {"sensor_state", "lsi_bbu_replacement", nil},
		lsiPD + "7":   {"raid_disk", "media_error_count", nil},
		lsiPD + "8":   {"raid_disk", "other_error_count", nil},
		lsiPD + "9":   {"raid_disk", "predictive_failure_count", nil},
		lsiPD + "36":  {"temperature", "celsius", map[string]string{"type": "physical_disk"}},
		sc + "6.0":    {"sensor_state", "compellent_global_status", nil},
		sc + "14.1.3": {"sensor_state", "compellent_status", map[string]string{"type": "disk"}},
		sc + "14.1.5": {"sensor_state", "compellent_disk_health", nil},
		sc + "15.1.3": {"sensor_state", "compellent_status", map[string]string{"type": "enclosure"}},
		sc + "16.1.5": {"fan", "rpm", nil},
		sc + "17.1.3": {"sensor_state", "compellent_status", map[string]string{"type": "controller_power"}},
		sc + "18.1":   {"voltage", "volts", nil}, // LibreNMS leaves out the column (5) in its OID
		sc + "19.1.5": {"temperature", "celsius", map[string]string{"type": "controller"}},
		sc + "20.1.3": {"sensor_state", "compellent_status", map[string]string{"type": "enclosure_fan"}},
		sc + "21.1.3": {"sensor_state", "compellent_status", map[string]string{"type": "enclosure_power"}},
		sc + "22.1.3": {"sensor_state", "compellent_status", map[string]string{"type": "enclosure_io_module"}},
		sc + "23.1.3": {"sensor_state", "compellent_status", map[string]string{"type": "enclosure_temperature"}},
		sc + "23.1.5": {"temperature", "celsius", map[string]string{"type": "enclosure"}},
		sc + "25.1.3": {"sensor_state", "compellent_status", map[string]string{"type": "disk_folder"}},
		sc + "25.1.9": {}, // a disk folder's capacity in GB: not a count
		sc + "26.1.3": {"sensor_state", "compellent_status", map[string]string{"type": "volume"}},
		sc + "27.1.3": {"sensor_state", "compellent_status", map[string]string{"type": "server"}},
		sc + "27.1.5": {"sensor_state", "compellent_connectivity", nil},
		sc + "27.1.6": {"compellent_server", "path_count", nil},
		sc + "28.1.3": {"sensor_state", "compellent_cache_battery", nil},
		sc + "31.1.3": {"compellent_usage", "device_count", nil},
		sc + "31.1.4": {"compellent_usage", "replay_count", nil},
		sc + "31.1.5": {"compellent_usage", "disk_count", nil},
		sc + "31.1.6": {"compellent_usage", "server_count", nil},
		sc + "31.1.7": {"compellent_usage", "volume_count", nil},
	}
	enc := func(typ, n string) map[string]string { return map[string]string{"type": typ, "enclosure": n} }
	fields[es+"1.8.1.3"] = powerField{"voltage", "volts", nil}
	fields[es+"1.10.1.3"] = powerField{"temperature", "celsius", map[string]string{"type": "controller"}}
	fields[es+"2.9.1.3"] = powerField{"fan", "rpm", enc("enclosure", "1")}
	fields[es+"2.10.1.3"] = powerField{"temperature", "celsius", enc("enclosure", "1")}
	fields[es+"3.9.1.3"] = powerField{"fan", "rpm", enc("enclosure", "2")}
	fields[es+"3.10.1.3"] = powerField{"temperature", "celsius", enc("enclosure", "2")}
	typed := func(typ string) map[string]string { return map[string]string{"type": typ} }
	fields[qs+"48.1.1.30"] = powerField{"temperature", "celsius", nil}
	fields[qs+"48.1.1.5"] = powerField{"sensor_state", "quantastor_disk_status", nil}
	fields[qs+"49.1.1.5"] = powerField{"sensor_state", "quantastor_status", typed("hardware_unit")}
	fields[qs+"50.1.1.5"] = powerField{"sensor_state", "quantastor_status", typed("enclosure")}
	fields[qs+"50.1.1.20"] = powerField{"sensor_state", "quantastor_temperature_sensors", nil}
	fields[qs+"50.1.1.21"] = powerField{"sensor_state", "quantastor_psu_sensors", nil}
	fields[qs+"50.1.1.22"] = powerField{"sensor_state", "quantastor_alarms", nil}
	fields[qs+"21.1.1.5"] = powerField{"sensor_state", "quantastor_status", typed("license")}
	fields[qs+"7.1.1.5"] = powerField{"sensor_state", "quantastor_status", typed("storage_pool")}
	fields[qs+"3.1.1.5"] = powerField{"sensor_state", "quantastor_status", typed("storage_volume")}
	fields[qs+"68.1.1.5"] = powerField{"sensor_state", "quantastor_status", typed("fc_target")}
	fields[qs+"68.1.1.33"] = powerField{"sensor_state", "quantastor_enabled", nil}
	fields[".1.3.6.1.3.94.1.8.1.4"] = powerField{"sensor_state", "fcmgmt_status", map[string]string{"type": "fc_sensor"}}
	tests := []struct {
		recording, profile, oidPrefix string
		want                          int // sensors LibreNMS has under oidPrefix, that the MIB defines
	}{
		{"linux_lsi", "lsi-megaraid", ".1.3.6.1.4.1.3582.", 392},
		{"dell-compellent", "dell-compellent", sc, 110},
		{"dell-compellent_scv3020", "dell-compellent", sc, 189},
		{"eurostor_es-6642b", "eurostor-sensors", es, 68},
		{"quantastor", "quantastor-sensors", qs, 92},
		{"dell-powervault_me4084", "fcmgmt-sensors", fc, 48},
		{"exos", "fcmgmt-sensors", ".1.3.6.1.3.94.1.8.1.4.", 65},
	}
	pollRecordedProfiles(t, shared, len(tests), func(i int) (string, string) { return tests[i].recording, tests[i].profile },
		func(t *testing.T, i int, sink *collectortest.Sink, exp recordedExpected) {
			tt := tests[i]
			n := 0
			for _, e := range exp.Sensors.Discovery.Sensors {
				if !strings.HasPrefix(e.OID, tt.oidPrefix) {
					continue
				}
				where, idx, ok := powerColumn(fields, e.OID)
				if strings.HasPrefix(e.OID, fc) {
					// One message column for every kind of reading.
					where, idx, ok = fcSensor(e.Class), strings.TrimPrefix(e.OID, fc), e.Class != "state"
					if e.Class == "state" {
						continue // "Overall Unit Status: OK": not read
					}
				}
				require.True(t, ok, "%s %q: no column for %s", e.Class, e.Descr, e.OID)
				if where.measurement == "" {
					continue
				}
				n++
				got, ok := findArrayValue(sink, where, idx)
				require.True(t, ok, "%s %q (%s.%s index %q) not found", e.Class, e.Descr, where.measurement, where.field, idx)
				require.InDelta(t, e.Current, got, math.Max(0.01, math.Abs(e.Current)*1e-3),
					"%s %q (%s.%s index %q)", e.Class, e.Descr, where.measurement, where.field, idx)
			}
			require.Equal(t, tt.want, n, "sensors LibreNMS has in the tables")
		})
}

// findArrayValue returns the field of the sample of the measurement whose
// index tag is idx and whose other tags are where.tags.
func findArrayValue(sink *collectortest.Sink, where powerField, idx string) (float64, bool) {
next:
	for _, x := range sink.Find(where.measurement) {
		if x.Tags["index"] != idx {
			continue
		}
		for k, v := range where.tags {
			if x.Tags[k] != v {
				continue next
			}
		}
		if v, ok := x.Fields[where.field]; ok {
			if n, ok := asFloat(v); ok {
				return n, true
			}
		}
	}
	return 0, false
}

func asFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	}
	return 0, false
}

// fcSensor tells where fcmgmt-sensors stores a reading of a class.
func fcSensor(class string) powerField {
	return map[string]powerField{
		"temperature": {"temperature", "celsius", nil},
		"voltage":     {"voltage", "volts", nil},
		"current":     {"current", "amperes", nil},
		"charge":      {"capacitor", "charge_percent", nil},
	}[class]
}
