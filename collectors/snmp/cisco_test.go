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
	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// TestRecordedCiscoSensors polls recordings of Cisco switches, routers and
// a UCS server (CIMC), each with only the profile under test, and compares
// every sensor LibreNMS found in the tables the profile reads with ours,
// by row index: readings in LibreNMS's units and states by their raw
// value.
func TestRecordedCiscoSensors(t *testing.T) {
	shared := sharedRecordings(t)
	const (
		cefc = ".1.3.6.1.4.1.9.9.117.1."
		rf   = ".1.3.6.1.4.1.9.9.176.1."
		csw  = ".1.3.6.1.4.1.9.9.500.1."
		ucs  = ".1.3.6.1.4.1.9.9.719.1."
		peth = ".1.3.6.1.2.1.105.1.3.1.1."
		cpe  = ".1.3.6.1.4.1.9.9.402.1."
		cfw  = ".1.3.6.1.4.1.9.9.147.1.2."
		cras = ".1.3.6.1.4.1.9.9.392.1.3."
		wan  = ".1.3.6.1.4.1.9.9.661.1."
		cvc  = ".1.3.6.1.4.1.9.9.63.1.3.8.1.1.2."
	)
	tag := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	fwSessions := func(field, source string) powerField {
		return powerField{"firewall_sessions", field, tag("source", source)}
	}
	state := func(field string, kv ...string) powerField { return powerField{"sensor_state", field, tag(kv...)} }
	fields := map[string]powerField{
		cefc + "1.2.1.2":     state("cisco_fru_power", "type", "fru_power"),
		cefc + "2.1.1.2":     state("cisco_module_status", "type", "module"),
		cefc + "4.1.1.1":     state("cisco_fan_tray", "type", "fan_tray"),
		rf + "1.2.0":         state("cisco_rf_unit_state", "descr", "Redundancy unit state"),
		rf + "1.4.0":         state("cisco_rf_unit_state", "descr", "Redundancy peer state"),
		rf + "2.16.0":        state("cisco_rf_mode", "descr", "Redundancy mode"),
		csw + "1.3.0":        state("cisco_stack_ring_redundant", "type", "stack_ring"),
		csw + "2.1.1.3":      state("cisco_stack_role", "type", "stack_member"),
		csw + "2.1.1.6":      state("cisco_stack_switch_state", "type", "stack_member"),
		csw + "2.2.1.1":      state("cisco_stack_port", "type", "stack_port"),
		peth + "2":           {"poe", "budget_watts", nil},
		peth + "4":           {"poe", "consumed_watts", nil},
		cpe + "3.1.4":        {"poe", "used_watts", nil},
		cpe + "3.1.5":        {"poe", "remaining_watts", nil},
		cpe + "4.1.0":        {"poe", "powered_device_count", tag("descr", "Powered devices")},
		cfw + "1.1.1.3":      state("cisco_firewall_hw_status", "type", "firewall_unit"),
		cfw + "2.2.1.5.40.6": fwSessions("active_count", "cisco_firewall_mib"),
		cfw + "2.2.1.5.40.7": fwSessions("peak_count", "cisco_firewall_mib"),
		cras + "26.0":        fwSessions("vpn_ipsec_count", "cisco_remote_access_monitor_mib"),
		cras + "29.0":        fwSessions("vpn_lan_to_lan_count", "cisco_remote_access_monitor_mib"),
		cras + "32.0":        fwSessions("vpn_load_balancing_count", "cisco_remote_access_monitor_mib"),
		cras + "35.0":        fwSessions("vpn_svc_count", "cisco_remote_access_monitor_mib"),
		cras + "38.0":        fwSessions("vpn_webvpn_count", "cisco_remote_access_monitor_mib"),
		wan + "1.1.12":       {"temperature", "celsius", tag("type", "cellular_modem")},
		wan + "3.1.1.6":      state("cisco_modem_status", "type", "cellular_modem"),
		wan + "3.5.1.1.2":    state("cisco_sim_status", "type", "cellular_sim"),
		wan + "3.4.1.1.3":    state("cisco_gsm_band", "type", "cellular_band"),
		wan + "3.2.1.5":      state("cisco_gsm_packet_service", "type", "cellular_service"),
		wan + "3.2.1.6":      state("cisco_gsm_roaming", "type", "cellular_service"),
		cvc + "2":            {"voice_connections", "sip_count", nil},
		ucs + "9.14.1.4":     {"power_sensor", "watts", tag("descr", "Motherboard input power")},
		ucs + "9.14.1.8":     {"current", "amperes", tag("descr", "Motherboard input current")},
		ucs + "9.14.1.12":    {"voltage", "volts", tag("descr", "Motherboard input voltage")},
		ucs + "9.44.1.4":     {"temperature", "celsius", tag("descr", "Ambient temperature")},
		ucs + "9.44.1.8":     {"temperature", "celsius", tag("descr", "Front temperature")},
		ucs + "9.44.1.13":    {"temperature", "celsius", tag("descr", "IO hub 1 temperature")},
		ucs + "9.44.1.17":    {"temperature", "celsius", tag("descr", "IO hub 2 temperature")},
		ucs + "9.44.1.21":    {"temperature", "celsius", tag("descr", "Rear temperature")},
		ucs + "41.2.1.10":    {"temperature", "celsius", tag("type", "cpu")},
		ucs + "30.12.1.6":    {"temperature", "celsius", tag("type", "dimm")},
		ucs + "15.12.1.10":   state("cisco_ucs_operability", "type", "fan"),
		ucs + "15.56.1.8":    state("cisco_ucs_operability", "type", "power_supply"),
		ucs + "41.9.1.10":    state("cisco_ucs_operability", "type", "cpu"),
		ucs + "30.11.1.14":   state("cisco_ucs_operability", "type", "dimm"),
		ucs + "45.1.1.7":     state("cisco_ucs_operability", "type", "storage_controller"),
		ucs + "45.35.1.11":   state("cisco_ucs_operability", "type", "flexflash_controller"),
		ucs + "45.4.1.9":     state("cisco_ucs_operability", "type", "physical_disk"),
		ucs + "45.8.1.9":     state("cisco_ucs_operability", "type", "virtual_disk"),
		ucs + "45.11.1.9":    state("cisco_ucs_operability", "type", "raid_battery"),
	}
	tests := []struct {
		recording, profile string
		oidPrefixes        []string
		want               int // sensors LibreNMS has under the prefixes that the profile reads
	}{
		{"ios_4506", "cisco-health", []string{cefc, rf}, 16},
		{"iosxe_c9400", "cisco-health", []string{cefc, rf}, 11},
		{"iosxe_c9200l", "cisco-health", []string{cefc, rf, csw}, 29},
		{"ios_2960x", "cisco-health", []string{csw}, 13},
		{"nxos_n9k-c93180yc-fx3", "cisco-health", []string{cefc, rf}, 11},
		{"cimc", "cisco-ucs", []string{ucs}, 45},
		{"iosxe_c9200l", "cisco-poe", []string{peth, cpe}, 10},
		{"ios_2960x", "cisco-poe", []string{peth, cpe}, 3},
		{"ftd_ftd1150", "cisco-asa", []string{cfw, cras}, 10},
		{"iosxe_ir1101", "cisco-cellular", []string{wan}, 6},
		{"iosxe_isr4321", "cisco-voice", []string{cvc}, 1},
	}
	pollRecordedProfiles(t, shared, len(tests), func(i int) (string, string) { return tests[i].recording, tests[i].profile },
		func(t *testing.T, i int, sink *collectortest.Sink, exp recordedExpected) {
			tt := tests[i]
			n := 0
			for _, e := range exp.Sensors.Discovery.Sensors {
				if !hasAnyPrefix(e.OID, tt.oidPrefixes) {
					continue
				}
				if e.Class == "count" && strings.HasPrefix(e.OID, wan) {
					// LibreNMS's "Nearby cells" reads the roaming state's OID.
					continue
				}
				where, idx, ok := powerColumn(fields, e.OID)
				require.True(t, ok, "%s %q: no column for %s", e.Class, e.Descr, e.OID)
				n++
				got, ok := findTaggedValue(sink, where, idx)
				require.True(t, ok, "%s %q (%s.%s index %q) not found", e.Class, e.Descr, where.measurement, where.field, idx)
				require.InDelta(t, e.Current, got, math.Max(0.01, math.Abs(e.Current)*1e-3),
					"%s %q (%s.%s index %q)", e.Class, e.Descr, where.measurement, where.field, idx)
			}
			require.Equal(t, tt.want, n, "sensors LibreNMS has in the tables")
		})
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// TestRecordedCiscoCPUCores polls a Catalyst 9400 (IOS XE, two CPUs of
// eight cores) with the cisco profile and finds the 5-minute load of
// every core LibreNMS lists as a processor (cpmCoreTable), by row index.
func TestRecordedCiscoCPUCores(t *testing.T) {
	shared := sharedRecordings(t)
	const core = ".1.3.6.1.4.1.9.9.109.1.1.2.1.5."
	pollRecordedProfiles(t, shared, 1, func(int) (string, string) { return "iosxe_c9400", "cisco" },
		func(t *testing.T, _ int, sink *collectortest.Sink, _ recordedExpected) {
			raw, err := os.ReadFile(filepath.Join(shared, "snmp", "expected", "iosxe_c9400.json"))
			require.NoError(t, err)
			var exp struct {
				Processors struct {
					Discovery struct {
						Processors []struct {
							OID   string  `json:"processor_oid"`
							Usage float64 `json:"processor_usage"`
						}
					}
				}
			}
			require.NoError(t, json.Unmarshal(raw, &exp))
			n := 0
			for _, p := range exp.Processors.Discovery.Processors {
				idx, ok := strings.CutPrefix(p.OID, core)
				if !ok {
					continue
				}
				n++
				got, ok := findTaggedValue(sink, powerField{"cpu", "load_5min_percent", map[string]string{"source": "cisco_process_mib_core"}}, idx)
				require.True(t, ok, "core %s not found", idx)
				require.InDelta(t, p.Usage, got, 0.01, "core %s", idx)
			}
			require.Equal(t, 16, n, "cores LibreNMS lists")
		})
}

// TestCiscoHealthHSRPAndREP serves a router answering CISCO-HSRP-MIB and
// CISCO-RESILIENT-ETHERNET-PROTOCOL-MIB through snmpsim and polls it with
// cisco-health: each HSRP group's state is named by its virtual address,
// each REP segment's completeness is kept, with the severity the catalog
// gives it; a group without a virtual address is left out.
func TestCiscoHealthHSRPAndREP(t *testing.T) {
	const (
		hsrp = "1.3.6.1.4.1.9.9.106.1.2.1.1."
		rep  = "1.3.6.1.4.1.9.9.601.1.3.1.1.4."
	)
	rec := strings.Join([]string{
		"1.3.6.1.2.1.1.1.0|4|Cisco IOS Software, Version 15.2(4)M",
		"1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.9.1.1041",
		hsrp + "11.10.1|64|10.0.0.1",
		hsrp + "11.11.2|64|10.0.1.1",
		hsrp + "11.12.3|64|0.0.0.0",
		hsrp + "15.10.1|2|6",
		hsrp + "15.11.2|2|1",
		hsrp + "15.12.3|2|1",
		rep + "7|2|2",
	}, "\n") + "\n"
	sink := pollWritten(t, "cisco-hsrp", rec, "system", "cisco-health")
	require.Empty(t, sink.Errors)
	cat := builtinCatalog(t)
	tests := []struct {
		name, field, index, descr string
		want                      float64
		severity                  catalog.Severity
	}{
		{"active group", "cisco_hsrp_state", "10.1", "10.0.0.1", 6, catalog.OK},
		{"group not running", "cisco_hsrp_state", "11.2", "10.0.1.1", 1, catalog.Warning},
		{"incomplete segment", "cisco_rep_segment", "7", "", 2, catalog.Critical},
	}
	_, ok := findTaggedValue(sink, powerField{"sensor_state", "cisco_hsrp_state", nil}, "12.3")
	require.False(t, ok, "a group without a virtual address")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			where := powerField{"sensor_state", tt.field, nil}
			if tt.descr != "" {
				where.tags = map[string]string{"descr": tt.descr}
			}
			got, ok := findTaggedValue(sink, where, tt.index)
			require.True(t, ok)
			require.InDelta(t, tt.want, got, 0)
			d, ok := cat.Lookup("sensor_state", tt.field)
			require.True(t, ok)
			require.Equal(t, tt.severity, d.States[int64(got)].Severity)
		})
	}
}

// TestCiscoASAWithoutFailover serves an ASA that runs without failover
// (its failover link and units down, "not Configured", "Failover Off")
// and one whose pair is up: cisco-asa reports the pair's units and the
// link, and no state for a failover that is not set up.
func TestCiscoASAWithoutFailover(t *testing.T) {
	const hw = "1.3.6.1.4.1.9.9.147.1.2.1.1.1."
	recs := map[string][]string{
		"asa-single": {
			hw + "2.4|4|Failover LAN Interface", hw + "2.6|4|Primary unit", hw + "2.7|4|Secondary unit",
			hw + "3.4|2|3", hw + "3.6|2|3", hw + "3.7|2|3",
			hw + "4.4|4|not Configured", hw + "4.6|4|Failover Off", hw + "4.7|4|Failover Off",
		},
		"asa-pair": {
			hw + "2.4|4|Failover LAN Interface", hw + "2.6|4|Primary unit", hw + "2.7|4|Secondary unit (this device)",
			hw + "3.4|2|2", hw + "3.6|2|9", hw + "3.7|2|10",
			hw + "4.4|4|FAILOVER GigabitEthernet0/3", hw + "4.6|4|Active unit", hw + "4.7|4|Standby unit",
		},
	}
	dir := t.TempDir()
	var files []string
	for name, lines := range recs {
		lines = append([]string{
			"1.3.6.1.2.1.1.1.0|4|Cisco Adaptive Security Appliance Version 9.8(4)",
			"1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.9.1.2114",
		}, lines...)
		f := filepath.Join(dir, name+".snmprec")
		require.NoError(t, os.WriteFile(f, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
		files = append(files, f)
	}
	s := devenv.SNMPSim(t, files...)
	tests := []struct {
		name string
		want map[string]float64 // index → state
	}{
		{"asa-single", map[string]float64{}},
		{"asa-pair", map[string]float64{"4": 2, "6": 9, "7": 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(func(c *Config) {
				c.Community = yamlconf.Secret(tt.name)
				c.Profiles = []string{"system", "cisco-asa"}
			})
			sink, err := collectortest.CollectOnce(t, newCollector(t, cfg, s.Addr()))
			require.NoError(t, err)
			require.Empty(t, sink.Errors)
			got := map[string]float64{}
			for _, x := range sink.Find("sensor_state") {
				v, ok := findTaggedValue(sink, powerField{"sensor_state", "cisco_firewall_hw_status", nil}, x.Tags["index"])
				require.True(t, ok)
				got[x.Tags["index"]] = v
			}
			require.Equal(t, tt.want, got)
		})
	}
}

// TestCiscoUCSFabricInterconnect serves a UCS fabric interconnect (UCS
// Manager: the equipment tables, no rack unit of its own) and polls it
// with profiles auto: cisco-ucs is selected and reads its power
// supplies' operability.
func TestCiscoUCSFabricInterconnect(t *testing.T) {
	const psu = "1.3.6.1.4.1.9.9.719.1.15.56.1."
	rec := strings.Join([]string{
		"1.3.6.1.2.1.1.1.0|4|Cisco NX-OS(tm) ucs, Software (ucs-6100-k9-system), Version 5.0(3)N2(3.13a)",
		"1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.9.12.3.1.3.1062",
		psu + "2.1|4|sys/switch-A/psu-1",
		psu + "2.2|4|sys/switch-A/psu-2",
		psu + "8.1|2|1",
		psu + "8.2|2|5",
	}, "\n") + "\n"
	sink := pollWritten(t, "ucs-fi", rec)
	for descr, want := range map[string]float64{"sys/switch-A/psu-1": 1, "sys/switch-A/psu-2": 5} {
		got, ok := findTaggedValue(sink, powerField{"sensor_state", "cisco_ucs_operability", map[string]string{"descr": descr, "type": "power_supply"}}, descr[len(descr)-1:])
		require.True(t, ok, descr)
		require.InDelta(t, want, got, 0, descr)
	}
}

// TestCiscoWLC serves an AireOS wireless LAN controller and polls it with
// profiles auto: cisco-wlc reads the controller's CPU load, its memory
// (KiB in the MIB) with what is used, and its version from the chassis
// entity, as its sysDescr names none.
func TestCiscoWLC(t *testing.T) {
	const res = "1.3.6.1.4.1.14179.1.1.5."
	rec := strings.Join([]string{
		"1.3.6.1.2.1.1.1.0|4|Cisco Controller",
		"1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.9.1.1615",
		"1.3.6.1.2.1.47.1.1.1.1.10.1|4|8.5.182.0",
		res + "1.0|2|7",
		res + "2.0|2|1000000",
		res + "3.0|2|250000",
	}, "\n") + "\n"
	sink := pollWritten(t, "wlc", rec)
	src := map[string]string{"source": "airespace_switching_mib"}
	tests := []struct {
		name               string
		measurement, field string
		want               float64
	}{
		{"cpu", "cpu", "load_percent", 7},
		{"memory size", "memory", "size_bytes", 1000000 * 1024},
		{"memory free", "memory", "free_bytes", 250000 * 1024},
		{"memory used", "memory", "used_bytes", 750000 * 1024},
		{"memory used percent", "memory", "used_percent", 75},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := findTaggedValue(sink, powerField{tt.measurement, tt.field, src}, "")
			require.True(t, ok)
			require.InDelta(t, tt.want, got, 1e-6)
		})
	}
	require.Len(t, sink.Inventories, 1)
	require.Equal(t, "8.5.182.0", sink.Inventories[0].Attributes["os_version"])
}

// TestCiscoStatesInHealth checks which Cisco states count toward a
// device's health: a stackable switch standing alone reports its stack
// ring not redundant and its stack ports down, and a redundancy mode or a
// stack role is a setting, so none of these may mark a healthy device;
// failed power, a stack member out of the stack, a failed module do.
func TestCiscoStatesInHealth(t *testing.T) {
	cat := builtinCatalog(t)
	tests := []struct {
		field  string
		health bool
	}{
		{"cisco_stack_ring_redundant", false},
		{"cisco_stack_port", false},
		{"cisco_stack_role", false},
		{"cisco_rf_mode", false},
		{"cisco_gsm_band", false},
		{"cisco_stack_switch_state", true},
		{"cisco_fru_power", true},
		{"cisco_module_status", true},
		{"cisco_rf_unit_state", true},
		{"cisco_ucs_operability", true},
		{"cisco_firewall_hw_status", true},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			d, ok := cat.Lookup("sensor_state", tt.field)
			require.True(t, ok)
			require.Equal(t, tt.health, d.IsHealth())
		})
	}
}
