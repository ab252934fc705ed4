package snmp

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/collectortest"
)

// TestRecordedNetworkDeviceSensors polls recordings of switches, routers
// and a storage array (FCMGMT-MIB), each with only the sensor profile
// under test, and compares every sensor LibreNMS found in the columns the
// profile reads with ours, by row index: readings in LibreNMS's units
// (°C, volts, amperes, watts, dBm) and state sensors by their raw value.
func TestRecordedNetworkDeviceSensors(t *testing.T) {
	shared := sharedRecordings(t)
	const (
		fc   = ".1.3.6.1.3.94.1."
		jnx  = ".1.3.6.1.4.1.2636.3."
		csb  = ".1.3.6.1.4.1.9.6.1.101."
		hw   = ".1.3.6.1.4.1.2011."
		hwOM = hw + "5.25.31.1.1.3.1."
		mtx  = ".1.3.6.1.4.1.14988.1.1."
	)
	tag := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	fields := map[string]powerField{
		fc + "8.1.4":              {"sensor_state", "fcmgmt_status", tag("type", "fc_sensor")},
		fc + "8.1.6":              {}, // readings only as text ("CPU Temperature-Ctlr B: 67 C 152.60F"): not read
		fc + "6.1.5":              {"sensor_state", "fcmgmt_unit_state", tag("descr", "Connectivity Unit State")},
		fc + "6.1.6":              {"sensor_state", "fcmgmt_status", tag("descr", "Connectivity Unit Status")},
		jnx + "1.15.1.8":          {"sensor_state", "juniper_fru_state", tag("type", "fru")},
		jnx + "4.2.3.1.0":         {"sensor_state", "juniper_alarm", tag("descr", "Red Alarm")},
		jnx + "4.2.2.1.0":         {"sensor_state", "juniper_alarm", tag("descr", "Yellow Alarm")},
		jnx + "1.13.1.7":          {}, // temperatures: juniper.yaml's operating table
		jnx + "39.1.12.1.1.1":     {}, // SPU flow counts: juniper-spu, netvendor_test.go
		csb + "43.1.1.24":         {"sensor_state", "ciscosb_suspended", tag("type", "port_suspended")},
		csb + "108.1.1.5":         {"power_sensor", "watts", tag("type", "poe_port")},
		hw + "5.25.31.1.1.1.1.11": {"temperature", "celsius", tag("type", "entity")},
		hw + "5.25.31.1.1.10.1.7": {"sensor_state", "huawei_fan_state", tag("descr", "Fan")},
		hwOM + "5":                {"transceiver", "temperature_celsius", tag("source", "huawei")},
		hwOM + "6":                {"transceiver", "supply_volts", tag("source", "huawei")},
		hwOM + "7":                {"transceiver", "bias_current_amperes", tag("source", "huawei")},
		hwOM + "8":                {"transceiver", "rx_power_dbm", tag("source", "huawei")},
		hwOM + "9":                {"transceiver", "tx_power_dbm", tag("source", "huawei")},
		hw + "6.157.1.3.0":        {"power_sensor", "watts", tag("descr", "Average Power Consumption")},
		hw + "6.157.1.6.0":        {"power_sensor", "watts", tag("descr", "Current Power Consumption")},
		mtx + "3.8.0":             {"voltage", "volts", tag("descr", "Voltage 0")},
		mtx + "15.1.1.3":          {"sensor_state", "mikrotik_poe_status", tag("type", "poe")},
		mtx + "15.1.1.4":          {"voltage", "volts", tag("type", "poe")},
		mtx + "15.1.1.5":          {"current", "amperes", tag("type", "poe")},
		mtx + "15.1.1.6":          {"power_sensor", "watts", tag("type", "poe")},
		mtx + "19.1.1.3":          {"sensor_state", "mikrotik_optical_fault", tag("type", "optical_rx_loss")},
		mtx + "19.1.1.4":          {"sensor_state", "mikrotik_optical_fault", tag("type", "optical_tx_fault")},
		mtx + "19.1.1.6":          {"transceiver", "temperature_celsius", tag("source", "mikrotik")},
		mtx + "19.1.1.7":          {"transceiver", "supply_volts", tag("source", "mikrotik")},
		mtx + "19.1.1.8":          {"transceiver", "bias_current_amperes", tag("source", "mikrotik")},
		mtx + "19.1.1.9":          {"transceiver", "tx_power_dbm", tag("source", "mikrotik")},
		mtx + "19.1.1.10":         {"transceiver", "rx_power_dbm", tag("source", "mikrotik")},
		mtx + "1.8.1.2":           {"sensor_state", "mikrotik_wl60g_mode", tag("descr", "Mode")},
		mtx + "1.8.1.4":           {"sensor_state", "mikrotik_wl60g_connected", tag("descr", "Station Connected")},
		mtx + "6.1.0":             {}, // DHCP leases and connection counts: netvendor_test.go
		mtx + "22.1":              {},
		mtx + "3.100.1.3":         {}, // mtxrGaugeTable: by class, below
	}
	// mtxrGaugeTable's rows go to the measurement of their unit.
	gauge := map[string]powerField{
		"temperature": {"temperature", "celsius", tag("type", "gauge")},
		"fanspeed":    {"fan", "rpm", tag("type", "gauge")},
		"voltage":     {"voltage", "volts", tag("type", "gauge")},
		"current":     {"current", "amperes", tag("type", "gauge")},
		"power":       {"power_sensor", "watts", tag("type", "gauge")},
	}
	tests := []struct {
		recording, profile, oidPrefix string
		want                          int // sensors LibreNMS has under oidPrefix that the profile reads
	}{
		{"exos", "fcmgmt-sensors", fc, 67},
		{"junos_srx3600", "juniper-sensors", jnx, 80},
		{"ciscosb_cbs350-4x", "ciscosb-sensors", csb, 72},
		{"vrp_5720-32x-ei", "huawei-sensors", hw, 54},
		{"routeros", "mikrotik-sensors", mtx, 14},
		{"routeros_rb5009upr+s+", "mikrotik-sensors", mtx, 37},
		{"routeros_rb750gr3", "mikrotik-sensors", mtx, 3},
	}
	pollRecordedProfiles(t, shared, len(tests), func(i int) (string, string) { return tests[i].recording, tests[i].profile },
		func(t *testing.T, i int, sink *collectortest.Sink, exp recordedExpected) {
			tt := tests[i]
			seen := map[string]int{}
			for _, e := range exp.Sensors.Discovery.Sensors {
				seen[e.OID]++
			}
			n := 0
			for _, e := range exp.Sensors.Discovery.Sensors {
				if !strings.HasPrefix(e.OID, tt.oidPrefix) {
					continue
				}
				if seen[e.OID] > 1 {
					// LibreNMS filed two ports' PoE readings under one OID
					// (RouterOS's mtxrPOETable index clash): no single value.
					continue
				}
				where, idx, ok := powerColumn(fields, e.OID)
				require.True(t, ok, "%s %q: no column for %s", e.Class, e.Descr, e.OID)
				if strings.HasPrefix(e.OID, mtx+"3.100.1.3.") {
					where, ok = gauge[e.Class]
					require.True(t, ok, "gauge class %s", e.Class)
				}
				if where.measurement == "" {
					continue
				}
				n++
				got, ok := findTaggedValue(sink, where, idx)
				require.True(t, ok, "%s %q (%s.%s index %q) not found", e.Class, e.Descr, where.measurement, where.field, idx)
				require.InDelta(t, e.Current, got, math.Max(0.01, math.Abs(e.Current)*1e-3),
					"%s %q (%s.%s index %q)", e.Class, e.Descr, where.measurement, where.field, idx)
			}
			require.Equal(t, tt.want, n, "sensors LibreNMS has in the tables")
		})
}

// findTaggedValue returns the field of the sample of the measurement that
// carries every tag of where and whose row index is idx ("" for a scalar).
func findTaggedValue(sink *collectortest.Sink, where powerField, idx string) (float64, bool) {
	for _, x := range sink.Find(where.measurement) {
		match := x.Tags["index"] == idx
		for k, v := range where.tags {
			match = match && x.Tags[k] == v
		}
		if !match {
			continue
		}
		switch n := x.Fields[where.field].(type) {
		case float64:
			return n, true
		case int64:
			return float64(n), true
		}
	}
	return 0, false
}
