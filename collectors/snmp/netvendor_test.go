package snmp

import (
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/collectortest"
	"github.com/kpilot/kpilot/internal/kpi"
)

// TestRecordedNetworkVendorTables polls recordings of switches, firewalls
// and load balancers, each with only the vendor profile under test, and
// compares every sensor LibreNMS found in the tables the profile reads
// with ours, by row index: readings in LibreNMS's units, counts, and
// state sensors by their raw value. Where the profile names rows by
// their index (index_tags), the name must be LibreNMS's too.
func TestRecordedNetworkVendorTables(t *testing.T) {
	shared := sharedRecordings(t)
	const (
		ns   = ".1.3.6.1.4.1.5951.4.1.1."
		hp   = ".1.3.6.1.4.1.11.2.14.11."
		xcvr = hp + "5.1.82.1.1.1.1."
		pan  = ".1.3.6.1.4.1.25461.2.1.2."
		spu  = ".1.3.6.1.4.1.2636.3.39.1.12.1.1.1."
		box  = ".1.3.6.1.4.1.4413.1.1.43.1."
		xos  = ".1.3.6.1.4.1.1916.1.1.1."
		os10 = ".1.3.6.1.4.1.674.11000.5000.100.4.1."
		cx   = ".1.3.6.1.4.1.47196.4.1.1.3.11."
		h3c  = ".1.3.6.1.4.1.25506."
		ai   = ".1.3.6.1.4.1.14823.2.3.3.1.2."
		f5   = ".1.3.6.1.4.1.3375.2.1."
		sma  = ".1.3.6.1.4.1.8741.6."
		vc   = ".1.3.6.1.4.1.2636.3.40.1.4.1.1.1."
		mtx  = ".1.3.6.1.4.1.14988.1.1."
		sdw  = ".1.3.6.1.4.1.12356.101.4.9.2.1."
		fips = ".1.3.6.1.4.1.12356.101.9.2.1.1."
		fwf  = ".1.3.6.1.4.1.12356.101.10.1.2.1.1."
	)
	tag := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	fields := map[string]powerField{
		ns + "41.7.1.2":            {}, // health counters: by class, below
		ns + "23.23.0":             {"sensor_state", "netscaler_ha_configured", nil},
		ns + "23.24.0":             {"sensor_state", "netscaler_ha_state", nil},
		ns + "6.0":                 {"sensor_state", "netscaler_ha_mode", tag("descr", "Current HA mode")},
		ns + "23.3.0":              {"sensor_state", "netscaler_ha_mode", tag("descr", "Peer HA mode")},
		ns + "46.12.0":             {"netscaler_traffic", "client_connections_count", nil},
		ns + "46.10.0":             {"netscaler_traffic", "server_connections_count", nil},
		ns + "48.76.0":             {"netscaler_traffic", "http_requests_rate", nil},
		ns + "47.333.0":            {"netscaler_traffic", "ssl_transactions_rate", nil},
		hp + "5.1.55.1.1.1.2":      {"sensor_state", "hp_psu_state", nil},
		hp + "5.1.55.1.1.1.4":      {"temperature", "celsius", tag("type", "power_supply")},
		hp + "5.1.55.1.1.1.6":      {"power_sensor", "watts", tag("type", "power_supply")},
		hp + "5.1.54.2.1.1.4":      {"sensor_state", "hp_fan_state", nil},
		hp + "1.2.6.1.4":           {"sensor_state", "hp_sensor_status", nil},
		hp + "5.1.69.1.1.2.0":      {"sensor_state", "hp_stack_status", nil},
		hp + "1.9.1.6.1.5":         {"power_sensor", "watts", tag("type", "poe")},
		xcvr + "11":                {"transceiver", "temperature_celsius", nil},
		xcvr + "12":                {"transceiver", "supply_volts", nil},
		xcvr + "13":                {"transceiver", "bias_current_amperes", nil},
		xcvr + "14":                {"transceiver", "tx_power_dbm", nil},
		xcvr + "15":                {"transceiver", "rx_power_dbm", nil},
		".1.3.6.1.2.1.131.1.1.1.3": {"sensor_state", "entity_oper_state", nil},
		pan + "3.1.0":              {"firewall_sessions", "table_load_percent", nil},
		pan + "3.3.0":              {"firewall_sessions", "active_count", nil},
		pan + "3.4.0":              {"firewall_sessions", "tcp_count", nil},
		pan + "3.5.0":              {"firewall_sessions", "udp_count", nil},
		pan + "3.7.0":              {"firewall_sessions", "ssl_proxy_count", nil},
		pan + "3.8.0":              {"firewall_sessions", "ssl_proxy_table_load_percent", nil},
		pan + "5.1.3.0":            {"firewall_sessions", "globalprotect_tunnels_count", nil},
		pan + "3.9.1.3":            {"firewall_vsys", "table_load_percent", nil},
		pan + "3.9.1.4":            {"firewall_vsys", "active_count", nil},
		pan + "3.9.1.6":            {"firewall_vsys", "tcp_setup_rate", nil},
		pan + "3.9.1.7":            {"firewall_vsys", "udp_setup_rate", nil},
		pan + "3.9.1.8":            {"firewall_vsys", "other_setup_rate", nil},
		pan + "1":                  {}, // HA and Panorama states: text, not read
		pan + "4":                  {},
		spu + "6":                  {"juniper_spu", "flow_sessions_count", nil},
		spu + "8":                  {"juniper_spu", "cp_sessions_count", nil},
		box + "6.1.4":              {"fan", "rpm", nil},
		box + "6.1.3":              {"sensor_state", "fastpath_fan_state", nil},
		box + "8.1.5":              {"temperature", "celsius", nil},
		box + "8.1.4":              {"sensor_state", "fastpath_temp_state", nil},
		box + "15":                 {}, // chassis state: not read
		xos + "8.0":                {"temperature", "celsius", tag("type", "chassis")},
		xos + "9.1.4":              {"fan", "rpm", nil},
		xos + "40.1.0":             {"power_sensor", "watts", tag("type", "system")},
		os10 + "1.3.1.11":          {"temperature", "celsius", tag("type", "chassis")},
		os10 + "1.4.1.5":           {"temperature", "celsius", tag("type", "card")},
		os10 + "2.1.1.4":           {"sensor_state", "os10_oper_status", tag("type", "power_supply")},
		os10 + "2.2.1.4":           {"sensor_state", "os10_oper_status", tag("type", "fan_tray")},
		os10 + "2.3.1.7":           {"sensor_state", "os10_oper_status", tag("type", "fan")},
		cx + "3.1.1.7":             {"temperature", "celsius", tag("type", "arubaos_cx")},
		cx + "2.1.1.7":             {"power_sensor", "watts", tag("type", "power_supply")},
		cx + "2.1.1.11":            {"sensor_state", "arubacx_psu_state", nil},
		cx + "7.2.1.1.0":           {"sensor_state", "arubacx_isl_state", nil},
		h3c + "2.6.1.1.1.1.12":     {"temperature", "celsius", tag("type", "entity")},
		h3c + "2.6.1.3.1.1.3":      {"power_sensor", "watts", tag("type", "entity")},
		h3c + "8.35.9.1.1.1.2":     {"sensor_state", "comware_device_status", tag("type", "fan")},
		h3c + "8.35.9.1.2.1.2":     {"sensor_state", "comware_device_status", tag("type", "power_supply")},
		ai + "1.1.11":              {"sensor_state", "aruba_ap_status", nil},
		ai + "2.1.20":              {"sensor_state", "aruba_radio_status", nil},
		f5 + "14.3.1.0":            {"sensor_state", "f5_failover_status", nil},
		f5 + "14.3.3.0":            {"sensor_state", "f5_status_color", nil},
		f5 + "14.1.1.0":            {"sensor_state", "f5_sync_status", nil},
		f5 + "1.2.1.8.0":           {"f5_connections", "client_count", nil},
		f5 + "1.2.1.15.0":          {"f5_connections", "server_count", nil},
		f5 + "1.2.1.79.0":          {"f5_connections", "client_1m_count", nil},
		f5 + "1.2.1.86.0":          {"f5_connections", "server_1m_count", nil},
		sma + "2.1.9.0":            {"firewall_ssl_vpn", "users_count", nil},
		vc + "3":                   {"sensor_state", "juniper_vc_member_role", nil},
		mtx + "6.1.0":              {"mikrotik_connections", "dhcp_leases_count", nil},
		mtx + "22.1.1.0":           {"mikrotik_connections", "connections_count", nil},
		mtx + "22.1.2.0":           {"mikrotik_connections", "ipv4_connections_count", nil},
		mtx + "22.1.3.0":           {"mikrotik_connections", "ipv6_connections_count", nil},
		sdw + "4":                  {"sensor_state", "fortigate_sdwan_link_state", nil},
		sdw + "5":                  {"sdwan_link", "latency_seconds", nil},
		sdw + "6":                  {"sdwan_link", "jitter_seconds", nil},
		sdw + "9":                  {"sdwan_link", "packet_loss_percent", nil},
		fips + "1":                 {"firewall_ips", "intrusions_detected", nil},
		fips + "2":                 {"firewall_ips", "intrusions_blocked", nil},
		fips + "3":                 {"firewall_ips", "critical_detections", nil},
		fips + "4":                 {"firewall_ips", "high_detections", nil},
		fips + "5":                 {"firewall_ips", "medium_detections", nil},
		fips + "6":                 {"firewall_ips", "low_detections", nil},
		fips + "7":                 {"firewall_ips", "info_detections", nil},
		fips + "8":                 {"firewall_ips", "signature_detections", nil},
		fips + "9":                 {"firewall_ips", "anomaly_detections", nil},
		fwf + "1":                  {"firewall_webfilter", "http_blocked", nil},
		fwf + "2":                  {"firewall_webfilter", "https_blocked", nil},
		fwf + "3":                  {"firewall_webfilter", "http_urls_blocked", nil},
		fwf + "4":                  {"firewall_webfilter", "https_urls_blocked", nil},
		fwf + "5":                  {"firewall_webfilter", "activex_blocked", nil},
		fwf + "6":                  {"firewall_webfilter", "cookies_blocked", nil},
		fwf + "7":                  {"firewall_webfilter", "applets_blocked", nil},
	}
	// LibreNMS keeps these in milliseconds, we in seconds.
	inMillis := []string{sdw + "5", sdw + "6"}
	// NS-ROOT-MIB's health counters go to the measurement their name
	// says. LibreNMS files a counter its name does not class (PowerSupply1Status,
	// AuxiliaryMisc0) under the class of the row before it: not compared.
	health := map[string]powerField{
		"temperature": {"temperature", "celsius", tag("type", "health")},
		"fanspeed":    {"fan", "rpm", tag("type", "health")},
		"voltage":     {"voltage", "volts", tag("type", "health")},
	}
	// Columns whose rows the profiles name by their index (index_tags),
	// as LibreNMS does.
	named := []string{ns + "41.7.1.2", box + "6.1.4", box + "6.1.3", box + "8.1.5", box + "8.1.4",
		os10 + "1.3.1.11", os10 + "1.4.1.5", os10 + "2.1.1.4", os10 + "2.2.1.4", os10 + "2.3.1.7"}
	unclassed := regexp.MustCompile(`^(PowerSupply\dStatus|AuxiliaryMisc\d)$`)
	tests := []struct {
		recording, profile, oidPrefix string
		want                          int // sensors LibreNMS has under oidPrefix that the profile reads
	}{
		{"netscaler", "netscaler-sensors", ns, 44},
		{"procurve", "hpe-switch-sensors", hp, 30},
		{"procurve_2520", "hpe-switch-sensors", hp, 18},
		{"procurve", "entity-state", ".1.3.6.1.2.1.131.", 6},
		{"panos_vsys", "panos-sessions", pan, 12},
		{"panos_440", "panos-sessions", pan, 12},
		{"junos_srx3600", "juniper-spu", spu, 14},
		{"edgeswitch_es-24-250w", "fastpath-boxservices", box, 24},
		{"xos_sfp", "extreme-sensors", xos, 14},
		{"dell-os10", "dell-os10-sensors", os10, 14},
		{"arubaos-cx_8360", "arubaos-cx-sensors", cx, 16},
		{"comware_hpe5900", "comware-sensors", h3c, 10},
		{"aruba-instant", "aruba-instant-sensors", ai, 11},
		{"f5_ve", "f5-status", f5, 7},
		{"sonicwall_sma-400", "sonicwall-sma", sma, 1},
		{"fortigate_60f", "fortigate-sdwan", sdw, 4},
		{"fortigate_60f", "fortigate-security", fips, 9},
		{"fortigate_60f", "fortigate-security", fwf, 7},
		{"junos", "juniper-virtual-chassis", vc, 2},
		{"routeros_rb750gr3", "mikrotik-sensors", mtx + "22.", 3},
		{"routeros_rb750gr3", "mikrotik-sensors", mtx + "6.", 1},
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
				require.True(t, ok, "%s %q: no column for %s", e.Class, e.Descr, e.OID)
				if strings.HasPrefix(e.OID, ns+"41.7.1.2.") {
					if unclassed.MatchString(e.Descr) {
						continue
					}
					where, ok = health[e.Class]
					require.True(t, ok, "health counter class %s", e.Class)
				}
				if where.measurement == "" {
					continue
				}
				n++
				x, ok := findTaggedSample(sink, where, idx)
				require.True(t, ok, "%s %q (%s.%s index %q) not found", e.Class, e.Descr, where.measurement, where.field, idx)
				got, ok := asFloat(x.Fields[where.field])
				require.True(t, ok, "%s %q: %s.%s", e.Class, e.Descr, where.measurement, where.field)
				if slices.Contains(inMillis, strings.TrimSuffix(e.OID, "."+idx)) {
					got *= 1000
				}
				require.InDelta(t, e.Current, got, math.Max(0.01, math.Abs(e.Current)*1e-3),
					"%s %q (%s.%s index %q)", e.Class, e.Descr, where.measurement, where.field, idx)
				if slices.Contains(named, strings.TrimSuffix(e.OID, "."+idx)) {
					require.Equal(t, e.Descr, x.Tags["descr"], "%s.%s index %q", where.measurement, where.field, idx)
				}
			}
			require.Equal(t, tt.want, n, "sensors LibreNMS has in the tables")
		})
}

// findTaggedSample returns the sample of the measurement that carries
// every tag of where and whose row index is idx ("" for a scalar) and has
// where's field.
func findTaggedSample(sink *collectortest.Sink, where powerField, idx string) (kpi.Sample, bool) {
	for _, x := range sink.Find(where.measurement) {
		match := x.Tags["index"] == idx
		for k, v := range where.tags {
			match = match && x.Tags[k] == v
		}
		if _, ok := x.Fields[where.field]; match && ok {
			return x, true
		}
	}
	return kpi.Sample{}, false
}
