package snmp

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/collectortest"
	"github.com/kpilot/kpilot/internal/catalog"
)

// TestFujitsuIRMC serves a PRIMERGY server's FSC-SERVERCONTROL2-MIB (as
// the ServerView agents answer it behind net-snmp's sysObjectID, so only
// the MIB's presence can select the profile) and polls it with profiles
// auto: fujitsu-irmc reads temperatures in °C, fan speeds in RPM,
// voltages from millivolts, power draw in watts, the component states
// with their severities (a failed fan and the overall error it causes
// are critical) and the server unit's identity; sensors the server
// reports as not available or not present are neither readings nor
// states, and a failed temperature sensor's 0 is no temperature.
func TestFujitsuIRMC(t *testing.T) {
	const sc2 = "1.3.6.1.4.1.231.2.10.2.2.10."
	rec := strings.Join([]string{
		"1.3.6.1.2.1.1.1.0|4|Linux rx2540 5.14.0-427.el9.x86_64 #1 SMP x86_64",
		"1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10",
		sc2 + "1.1.0|4|SC2",
		sc2 + "1.3.0|4|10.40.05",
		// sc2UnitTable: class, designation, model, manufacturer, serial.
		sc2 + "2.3.1.2.1|2|2",
		sc2 + "2.3.1.4.1|4|PRIMERGY RX2540 M5",
		sc2 + "2.3.1.5.1|4|PRIMERGY RX2540 M5",
		sc2 + "2.3.1.6.1|4|FUJITSU",
		sc2 + "2.3.1.7.1|4|YM5K012345",
		// sc2TemperatureSensorTable: designation, status, °C.
		sc2 + "5.1.1.3.1.1|4|Ambient",
		sc2 + "5.1.1.3.1.2|4|Systemboard 1",
		sc2 + "5.1.1.3.1.3|4|CPU1",
		sc2 + "5.1.1.3.1.4|4|CPU2",
		sc2 + "5.1.1.3.1.5|4|MEM D",
		sc2 + "5.1.1.3.1.6|4|PSU1",
		sc2 + "5.1.1.5.1.1|2|8",
		sc2 + "5.1.1.5.1.2|2|8",
		sc2 + "5.1.1.5.1.3|2|8",
		sc2 + "5.1.1.5.1.4|2|6",
		sc2 + "5.1.1.5.1.5|2|2",
		sc2 + "5.1.1.5.1.6|2|4",
		sc2 + "5.1.1.6.1.1|66|24",
		sc2 + "5.1.1.6.1.2|66|38",
		sc2 + "5.1.1.6.1.3|66|52",
		sc2 + "5.1.1.6.1.4|66|81",
		sc2 + "5.1.1.6.1.5|66|0",
		sc2 + "5.1.1.6.1.6|66|0",
		// sc2FanTable: designation, status, RPM.
		sc2 + "5.2.1.3.1.1|4|FAN1 SYS",
		sc2 + "5.2.1.3.1.2|4|FAN2 SYS",
		sc2 + "5.2.1.3.1.3|4|FAN3 SYS",
		sc2 + "5.2.1.3.1.4|4|FAN PSU1",
		sc2 + "5.2.1.3.1.5|4|FAN5 SYS",
		sc2 + "5.2.1.5.1.1|2|3",
		sc2 + "5.2.1.5.1.2|2|4",
		sc2 + "5.2.1.5.1.3|2|3",
		sc2 + "5.2.1.5.1.4|2|3",
		sc2 + "5.2.1.5.1.5|2|8",
		sc2 + "5.2.1.6.1.1|66|5280",
		sc2 + "5.2.1.6.1.2|66|0",
		sc2 + "5.2.1.6.1.3|66|5160",
		sc2 + "5.2.1.6.1.4|66|2940",
		sc2 + "5.2.1.6.1.5|66|0",
		// sc2PowerSupplyTable: designation, status, load and nominal W.
		sc2 + "6.2.1.3.1.1|4|PSU1",
		sc2 + "6.2.1.3.1.2|4|PSU2",
		sc2 + "6.2.1.5.1.1|2|3",
		sc2 + "6.2.1.5.1.2|2|3",
		sc2 + "6.2.1.6.1.1|2|148",
		sc2 + "6.2.1.6.1.2|2|136",
		sc2 + "6.2.1.7.1.1|2|800",
		sc2 + "6.2.1.7.1.2|2|800",
		// sc2VoltageTable: designation, status, mV.
		sc2 + "6.3.1.3.1.1|4|BATT 3.0V",
		sc2 + "6.3.1.3.1.2|4|STBY 12V",
		sc2 + "6.3.1.3.1.3|4|MAIN 12V",
		sc2 + "6.3.1.3.1.4|4|MAIN 5V",
		sc2 + "6.3.1.4.1.1|2|3",
		sc2 + "6.3.1.4.1.2|2|3",
		sc2 + "6.3.1.4.1.3|2|3",
		sc2 + "6.3.1.4.1.4|2|3",
		sc2 + "6.3.1.5.1.1|66|3050",
		sc2 + "6.3.1.5.1.2|66|11880",
		sc2 + "6.3.1.5.1.3|66|12160",
		sc2 + "6.3.1.5.1.4|66|4980",
		// sc2CPUTable and sc2MemoryModuleTable: designation, status.
		sc2 + "6.4.1.3.1.1|4|CPU1",
		sc2 + "6.4.1.3.1.2|4|CPU2",
		sc2 + "6.4.1.4.1.1|2|3",
		sc2 + "6.4.1.4.1.2|2|3",
		sc2 + "6.5.1.3.1.1|4|DIMM-1A",
		sc2 + "6.5.1.3.1.2|4|DIMM-2A",
		sc2 + "6.5.1.4.1.1|2|3",
		sc2 + "6.5.1.4.1.2|2|2",
		// sc2ComponentPowerConsumptionTable: unit.class.index, W.
		sc2 + "6.7.1.4.1.3.1|4|CPU1 Power",
		sc2 + "6.7.1.4.1.3.2|4|CPU2 Power",
		sc2 + "6.7.1.4.1.224.1|4|Total Power",
		sc2 + "6.7.1.5.1.3.1|2|62",
		sc2 + "6.7.1.5.1.3.2|2|58",
		sc2 + "6.7.1.5.1.224.1|2|284",
		// sc2AgentStatus, sc2csStatusOverall: error.
		sc2 + "8.1.0|2|3",
		sc2 + "8.2.1.2.1|2|3",
	}, "\n") + "\n"
	sink := pollWritten(t, "irmc", rec)

	readings := []struct {
		name               string
		measurement, field string
		typ, idx           string
		want               float64
	}{
		{"ambient", "temperature", "celsius", "temperature_sensor", "1.1", 24},
		{"cpu1 temperature", "temperature", "celsius", "temperature_sensor", "1.3", 52},
		{"cpu2 temperature", "temperature", "celsius", "temperature_sensor", "1.4", 81},
		{"fan", "fan", "rpm", "fan", "1.1", 5280},
		{"failed fan", "fan", "rpm", "fan", "1.2", 0},
		{"psu fan", "fan", "rpm", "fan", "1.4", 2940},
		{"battery", "voltage", "volts", "voltage", "1.1", 3.05},
		{"main 12V", "voltage", "volts", "voltage", "1.3", 12.16},
		{"psu load", "power_sensor", "watts", "power_supply_load", "1.1", 148},
		{"cpu power", "power_sensor", "watts", "component_power", "1.3.2", 58},
		{"total power", "power_sensor", "watts", "component_power", "1.224.1", 284},
	}
	for _, tt := range readings {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := findTaggedValue(sink, powerField{tt.measurement, tt.field, map[string]string{"type": tt.typ}}, tt.idx)
			require.True(t, ok)
			require.InDelta(t, tt.want, got, 1e-9)
		})
	}
	t.Run("descr", func(t *testing.T) {
		require.Equal(t, "CPU1", sampleTag(sink, "temperature", "temperature_sensor", "1.3", "descr"))
		require.Equal(t, "MAIN 12V", sampleTag(sink, "voltage", "voltage", "1.3", "descr"))
		require.Equal(t, "Total Power", sampleTag(sink, "power_sensor", "component_power", "1.224.1", "descr"))
	})
	t.Run("not available or not present", func(t *testing.T) {
		for _, x := range []struct{ measurement, typ, idx string }{
			{"temperature", "temperature_sensor", "1.5"},
			{"temperature", "temperature_sensor", "1.6"},
			{"fan", "fan", "1.5"},
			{"sensor_state", "temperature_sensor", "1.5"},
			{"sensor_state", "fan", "1.5"},
			{"sensor_state", "memory", "1.2"},
		} {
			require.Empty(t, sampleTag(sink, x.measurement, x.typ, x.idx, "descr"), "%+v", x)
		}
	})

	cat := builtinCatalog(t)
	states := []struct {
		name, typ, idx, field string
		want                  catalog.Severity
	}{
		{"fan ok", "fan", "1.1", "fujitsu_fan_status", catalog.OK},
		{"fan failed", "fan", "1.2", "fujitsu_fan_status", catalog.Critical},
		{"temperature normal", "temperature_sensor", "1.3", "fujitsu_temperature_status", catalog.OK},
		{"temperature too hot", "temperature_sensor", "1.4", "fujitsu_temperature_status", catalog.Warning},
		{"temperature sensor failed", "temperature_sensor", "1.6", "fujitsu_temperature_status", catalog.Warning},
		{"power supply", "power_supply", "1.2", "fujitsu_psu_status", catalog.OK},
		{"voltage", "voltage", "1.3", "fujitsu_voltage_status", catalog.OK},
		{"processor", "processor", "1.2", "fujitsu_cpu_status", catalog.OK},
		{"memory module", "memory", "1.1", "fujitsu_memory_status", catalog.OK},
		{"unit overall", "unit_status", "1", "fujitsu_status", catalog.Critical},
		{"agent overall", "system_health", "", "fujitsu_status", catalog.Critical},
	}
	for _, tt := range states {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := findTaggedValue(sink, powerField{"sensor_state", tt.field, map[string]string{"type": tt.typ}}, tt.idx)
			require.True(t, ok)
			d, ok := cat.Lookup("sensor_state", tt.field)
			require.True(t, ok)
			require.True(t, d.IsHealth())
			st, ok := d.StateOf(got)
			require.True(t, ok, "state %v", got)
			require.Equal(t, tt.want, st.Severity)
		})
	}

	require.Len(t, sink.Inventories, 1)
	attrs := sink.Inventories[0].Attributes
	require.Equal(t, "PRIMERGY RX2540 M5", attrs["model"])
	require.Equal(t, "YM5K012345", attrs["serial"])
	require.Equal(t, "FUJITSU", attrs["manufacturer"])
}

// sampleTag returns tag of the first sample of measurement whose type
// and index tags are typ and idx, or "" where there is none.
func sampleTag(sink *collectortest.Sink, measurement, typ, idx, tag string) string {
	for _, x := range sink.Find(measurement) {
		if x.Tags["type"] == typ && x.Tags["index"] == idx {
			return x.Tags[tag]
		}
	}
	return ""
}
