package snmp

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/catalog"
)

// ibmcRecording is a Huawei 2288H V5 iBMC as HUAWEI-SERVER-IBMC-MIB lays
// it out, written by hand: temperatures in tenths of a degree (one sensor
// without a reading, 65535), three fan slots (one empty, one degraded),
// two power supplies of which the second has failed, two processors,
// three DIMM slots (one empty), four disk bays (one empty, one with a
// major fault, one without a temperature: 255), a RAID controller and the
// server's present power.
func ibmcRecording() string {
	const ibmc = "1.3.6.1.4.1.2011.2.235.1.1."
	lines := []string{
		"1.3.6.1.2.1.1.1.0|4|Hi1710",
		"1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.2011.2.235.1.1",
		ibmc + "1.1.0|2|4",                    // systemHealth critical
		ibmc + "1.6.0|4|2288H V5",             // deviceName
		ibmc + "1.7.0|4|2102311XBSFSK9000123", // deviceSerialNo
		ibmc + "1.12.0|2|2",                   // systemPowerState on
		ibmc + "1.13.0|2|236",                 // presentSystemPower
		ibmc + "6.1.0|2|4",                    // powerSupplyEntireStatus critical
		// powerSupplyDescriptionTable
		ibmc + "6.50.1.7.1|2|1",
		ibmc + "6.50.1.7.2|2|4",
		ibmc + "6.50.1.8.1|2|215",
		ibmc + "6.50.1.8.2|2|0",
		ibmc + "6.50.1.9.1|2|2",
		ibmc + "6.50.1.9.2|2|2",
		ibmc + "6.50.1.13.1|4|PSU1",
		ibmc + "6.50.1.13.2|4|PSU2",
		ibmc + "8.3.0|2|2", // fanEntireStatus minor
		// fanDescriptionTable
		ibmc + "8.50.1.2.1|2|5280",
		ibmc + "8.50.1.2.2|2|2160",
		ibmc + "8.50.1.2.3|2|0",
		ibmc + "8.50.1.3.1|2|2",
		ibmc + "8.50.1.3.2|2|2",
		ibmc + "8.50.1.3.3|2|1",
		ibmc + "8.50.1.4.1|2|1",
		ibmc + "8.50.1.4.2|2|2",
		ibmc + "8.50.1.4.3|2|5",
		ibmc + "8.50.1.7.1|4|FAN1 Front",
		ibmc + "8.50.1.7.2|4|FAN2 Front",
		ibmc + "8.50.1.7.3|4|FAN3 Front",
		// componentDescriptionTable, indexed by componentName
		ibmc + "10.50.1.1.9.109.97.105.110.98.111.97.114.100|4|mainboard",
		ibmc + "10.50.1.1.7.114.105.115.101.114.49|4|riser1",
		ibmc + "10.50.1.5.9.109.97.105.110.98.111.97.114.100|2|1",
		ibmc + "10.50.1.5.7.114.105.115.101.114.49|2|3",
		// firmwareVersion."Active iBMC"
		ibmc + "11.50.1.4.11.65.99.116.105.118.101.32.105.66.77.67|4|3.55",
		// cpuDescriptionTable
		ibmc + "15.1.0|2|1", // cpuEntireStatus
		ibmc + "15.50.1.6.1|2|1",
		ibmc + "15.50.1.6.2|2|1",
		ibmc + "15.50.1.10.1|4|CPU1",
		ibmc + "15.50.1.10.2|4|CPU2",
		// memoryEntireStatus, memoryDescriptionTable
		ibmc + "16.1.0|2|1",
		ibmc + "16.50.1.6.1|2|1",
		ibmc + "16.50.1.6.2|2|5",
		ibmc + "16.50.1.6.3|2|1",
		ibmc + "16.50.1.10.1|4|DIMM000",
		ibmc + "16.50.1.10.2|4|DIMM001",
		ibmc + "16.50.1.10.3|4|DIMM010",
		// hardDiskDescriptionTable
		ibmc + "18.1.0|2|3", // hardDiskEntireStatus major
		ibmc + "18.50.1.2.1|2|2",
		ibmc + "18.50.1.2.2|2|2",
		ibmc + "18.50.1.2.3|2|1",
		ibmc + "18.50.1.2.4|2|2",
		ibmc + "18.50.1.3.1|2|1",
		ibmc + "18.50.1.3.2|2|3",
		ibmc + "18.50.1.3.3|2|5",
		ibmc + "18.50.1.3.4|2|1",
		ibmc + "18.50.1.6.1|4|Disk0",
		ibmc + "18.50.1.6.2|4|Disk1",
		ibmc + "18.50.1.6.3|4|Disk2",
		ibmc + "18.50.1.6.4|4|Disk3",
		ibmc + "18.50.1.20.1|2|31",
		ibmc + "18.50.1.20.2|2|33",
		ibmc + "18.50.1.20.3|2|255",
		ibmc + "18.50.1.20.4|2|255",
		// temperatureDescriptionTable
		ibmc + "26.50.1.2.1|4|Inlet Temp",
		ibmc + "26.50.1.2.2|4|Outlet Temp",
		ibmc + "26.50.1.2.3|4|CPU1 Core Rem",
		ibmc + "26.50.1.2.4|4|PCH Temp",
		ibmc + "26.50.1.3.1|2|230",
		ibmc + "26.50.1.3.2|2|385",
		ibmc + "26.50.1.3.3|2|470",
		ibmc + "26.50.1.3.4|2|65535",
		// raidControllerDescriptionTable
		ibmc + "36.50.1.4.1|4|RAID Card1 Controller",
		ibmc + "36.50.1.7.1|2|0",
	}
	slices.SortFunc(lines, func(a, b string) int {
		return compareOID(strings.SplitN(a, "|", 2)[0], strings.SplitN(b, "|", 2)[0])
	})
	return strings.Join(lines, "\n") + "\n"
}

// TestHuaweiIBMC serves a Huawei iBMC and polls it with profiles auto:
// huawei-ibmc reads temperatures in degrees, fan speeds, power supply and
// server power in watts, and component states whose catalog severities
// show the failed power supply, the degraded fan, the faulty disk and the
// overall health; empty bays and slots are not reported; model, serial
// and iBMC version come from the MIB.
func TestHuaweiIBMC(t *testing.T) {
	sink := pollWritten(t, "ibmc", ibmcRecording())

	readings := []struct {
		name               string
		measurement, field string
		tags               map[string]string
		idx                string
		want               float64
	}{
		{"inlet temperature", "temperature", "celsius", map[string]string{"descr": "Inlet Temp", "type": "temperature"}, "1", 23},
		{"outlet temperature", "temperature", "celsius", map[string]string{"descr": "Outlet Temp"}, "2", 38.5},
		{"cpu temperature", "temperature", "celsius", map[string]string{"descr": "CPU1 Core Rem"}, "3", 47},
		{"disk temperature", "temperature", "celsius", map[string]string{"descr": "Disk1", "type": "hard_disk"}, "2", 33},
		{"fan speed", "fan", "rpm", map[string]string{"descr": "FAN1 Front"}, "1", 5280},
		{"psu input power", "power_sensor", "watts", map[string]string{"descr": "PSU1", "type": "power_supply_input"}, "1", 215},
		{"failed psu input power", "power_sensor", "watts", map[string]string{"descr": "PSU2"}, "2", 0},
		{"system power", "power_sensor", "watts", map[string]string{"descr": "System power", "type": "system"}, "", 236},
	}
	for _, tt := range readings {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := findTaggedValue(sink, powerField{tt.measurement, tt.field, tt.tags}, tt.idx)
			require.True(t, ok)
			require.InDelta(t, tt.want, got, 1e-9)
		})
	}

	cat := builtinCatalog(t)
	states := []struct {
		name     string
		field    string
		tags     map[string]string
		idx      string
		severity catalog.Severity
	}{
		{"health", "huawei_ibmc_health", map[string]string{"type": "system_health"}, "", catalog.Critical},
		{"power state", "huawei_ibmc_power_state", map[string]string{"type": "power"}, "", catalog.OK},
		{"psu ok", "huawei_ibmc_status", map[string]string{"type": "power_supply", "descr": "PSU1"}, "1", catalog.OK},
		{"psu failed", "huawei_ibmc_status", map[string]string{"type": "power_supply", "descr": "PSU2"}, "2", catalog.Critical},
		{"fan ok", "huawei_ibmc_status", map[string]string{"type": "fan", "descr": "FAN1 Front"}, "1", catalog.OK},
		{"fan minor", "huawei_ibmc_status", map[string]string{"type": "fan", "descr": "FAN2 Front"}, "2", catalog.Warning},
		{"cpu", "huawei_ibmc_status", map[string]string{"type": "processor", "descr": "CPU2"}, "2", catalog.OK},
		{"memory", "huawei_ibmc_status", map[string]string{"type": "memory", "descr": "Memory"}, "", catalog.OK},
		{"dimm", "huawei_ibmc_status", map[string]string{"type": "memory_device", "descr": "DIMM010"}, "3", catalog.OK},
		{"disk ok", "huawei_ibmc_status", map[string]string{"type": "hard_disk", "descr": "Disk0"}, "1", catalog.OK},
		{"disk major", "huawei_ibmc_status", map[string]string{"type": "hard_disk", "descr": "Disk1"}, "2", catalog.Critical},
		{"disk without temperature", "huawei_ibmc_status", map[string]string{"type": "hard_disk", "descr": "Disk3"}, "4", catalog.OK},
		{"all disks", "huawei_ibmc_status", map[string]string{"type": "hard_disk", "descr": "Hard disks"}, "", catalog.Critical},
		{"all power supplies", "huawei_ibmc_status", map[string]string{"type": "power_supply", "descr": "Power supplies"}, "", catalog.Critical},
		{"all fans", "huawei_ibmc_status", map[string]string{"type": "fan", "descr": "Fans"}, "", catalog.Warning},
		{"board", "huawei_ibmc_status", map[string]string{"type": "component", "descr": "mainboard"}, "9.109.97.105.110.98.111.97.114.100", catalog.OK},
		{"riser card major", "huawei_ibmc_status", map[string]string{"type": "component", "descr": "riser1"}, "7.114.105.115.101.114.49", catalog.Critical},
		{"all processors", "huawei_ibmc_status", map[string]string{"type": "processor", "descr": "Processors"}, "", catalog.OK},
		{"raid controller", "huawei_ibmc_raid_health", map[string]string{"type": "raid_controller", "descr": "RAID Card1 Controller"}, "1", catalog.OK},
	}
	for _, tt := range states {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := findTaggedValue(sink, powerField{"sensor_state", tt.field, tt.tags}, tt.idx)
			require.True(t, ok)
			d, ok := cat.Lookup("sensor_state", tt.field)
			require.True(t, ok)
			st, ok := d.StateOf(got)
			require.True(t, ok, "state %v is defined", got)
			require.Equal(t, tt.severity, st.Severity)
		})
	}

	t.Run("empty slots and sensors without a reading are not reported", func(t *testing.T) {
		absent := map[string]bool{"FAN3 Front": true, "DIMM001": true, "Disk2": true, "PCH Temp": true}
		for _, m := range []string{"temperature", "fan", "sensor_state"} {
			for _, x := range sink.Find(m) {
				require.False(t, absent[x.Tags["descr"]], "%s %s", m, x.Tags["descr"])
			}
		}
		for _, x := range sink.Find("temperature") {
			require.NotEqual(t, "Disk3", x.Tags["descr"], "a disk temperature of 255 means none")
		}
	})
	require.Empty(t, undefined(cat, sink.Samples))
	require.Len(t, sink.Inventories, 1)
	attrs := sink.Inventories[0].Attributes
	require.Equal(t, "2288H V5", attrs["model"])
	require.Equal(t, "2102311XBSFSK9000123", attrs["serial"])
	require.Equal(t, "3.55", attrs["os_version"])
}
