package snmp

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/collectortest"
)

// expectedSensor is one sensor of a LibreNMS test result.
type expectedSensor struct {
	Class   string  `json:"sensor_class"`
	Type    string  `json:"sensor_type"`
	Descr   string  `json:"sensor_descr"`
	Current float64 `json:"sensor_current"`
	OID     string  `json:"sensor_oid"`
}

// sensorFields says where a LibreNMS sensor class is stored: measurement
// and the fields that may hold it (optical power is rx or tx).
var sensorFields = map[string]struct {
	measurement string
	fields      []string
}{
	"temperature": {"temperature", []string{"celsius"}},
	"fanspeed":    {"fan", []string{"rpm"}},
	"voltage":     {"voltage", []string{"volts"}},
	"current":     {"current", []string{"amperes"}},
	"power":       {"power_sensor", []string{"watts"}},
	"humidity":    {"humidity", []string{"percent"}},
	"dbm":         {"transceiver", []string{"rx_power_dbm", "tx_power_dbm"}},
}

// receive tells LibreNMS's names of receive power sensors.
var receive = regexp.MustCompile(`(?i)\b(rx|receive)\b`)

// transceiverFields says the same for tables with one row per transceiver.
var transceiverFields = map[string][]string{
	"temperature": {"temperature_celsius"},
	"current":     {"bias_current_amperes"},
	"voltage":     {"supply_volts"},
	"dbm":         {"rx_power_dbm", "tx_power_dbm"},
}

// TestRecordedSensors polls recordings of devices with sensor tables,
// each with only the profile under test, and compares every sensor
// LibreNMS found in that table with ours, by row index: the value (after
// the row's SI prefix and precision, or the MIB's fixed unit) and that it
// is named. LibreNMS rounds some values (dBm to three places).
func TestRecordedSensors(t *testing.T) {
	shared := sharedRecordings(t)
	const (
		entSensor   = ".1.3.6.1.2.1.99.1.1.1.4."
		ciscoSensor = ".1.3.6.1.4.1.9.9.91.1.1.1.1.4."
		lmTemp      = ".1.3.6.1.4.1.2021.13.16.2.1.3."
		envmonTemp  = ".1.3.6.1.4.1.9.9.13.1.3.1.3."
		juniperDOM  = ".1.3.6.1.4.1.2636.3.60.1.1.1.1." // column.ifIndex
	)
	tests := []struct {
		recording, profile, oidPrefix string
		want                          int // sensors LibreNMS has in the table
	}{
		{"arista_eos", "entity-sensor", entSensor, 197},
		{"arubaos-cx_6300m", "entity-sensor", entSensor, 14},
		{"arubaos-cx_8360", "entity-sensor", entSensor, 7},
		{"arubaos-cx_10.10", "entity-sensor", entSensor, 2},
		{"panos_440", "entity-sensor", entSensor, 1},
		{"panos_vsys", "entity-sensor", entSensor, 10},
		{"procurve_2520", "entity-sensor", entSensor, 1},
		{"panos_5220", "entity-sensor", entSensor, 21},
		{"procurve", "entity-sensor", entSensor, 2},
		{"xos_sfp", "entity-sensor", entSensor, 220},
		{"iosxe_ir1101", "entity-sensor", entSensor, 6},
		{"ios_2960x", "cisco-entity-sensor", ciscoSensor, 10},
		{"iosxe_c9200l", "cisco-entity-sensor", ciscoSensor, 19},
		{"iosxe_c9400", "cisco-entity-sensor", ciscoSensor, 79},
		{"iosxe_isr4321", "cisco-entity-sensor", ciscoSensor, 30},
		{"nxos_n9k-c93180yc-fx3", "cisco-entity-sensor", ciscoSensor, 39},
		{"iosxe_ir1101", "cisco-entity-sensor", ciscoSensor, 6},
		{"iosxe_c9200l", "cisco", envmonTemp, 9},
		{"ios_4506", "cisco", envmonTemp, 1},
		{"ios_2960x", "cisco", envmonTemp, 3},
		{"iosxe_c9400", "cisco", envmonTemp, 12},
		{"recoveryos", "lm-sensors", lmTemp, 4},
		{"linux_powermon", "lm-sensors", lmTemp, 1},
		{"quantastor", "lm-sensors", lmTemp, 9},
		{"aix", "lm-sensors", lmTemp, 0}, // NULL cells: no sensors, no errors
		{"junos_qfx5100", "juniper-dom", juniperDOM, 8},
	}
	pollRecordedProfiles(t, shared, len(tests), func(i int) (string, string) { return tests[i].recording, tests[i].profile },
		func(t *testing.T, i int, sink *collectortest.Sink, exp recordedExpected) {
			tt := tests[i]
			n := 0
			for _, e := range exp.Sensors.Discovery.Sensors {
				idx, ok := strings.CutPrefix(e.OID, tt.oidPrefix)
				if !ok || strings.HasPrefix(e.Class, "state") {
					continue
				}
				n++
				where, known := sensorFields[e.Class]
				if tt.oidPrefix == juniperDOM {
					var col string
					col, idx, _ = strings.Cut(idx, ".")
					where.measurement, where.fields = "transceiver", transceiverFields[e.Class]
					if e.Class == "dbm" {
						where.fields = map[string][]string{"5": {"rx_power_dbm"}, "7": {"tx_power_dbm"}}[col]
					}
				} else if e.Class == "dbm" {
					where.fields = []string{"tx_power_dbm"}
					if receive.MatchString(e.Descr) {
						where.fields = []string{"rx_power_dbm"}
					}
				}
				require.True(t, known, "class %s", e.Class)
				got, ok := findSensor(sink, where.measurement, where.fields, idx)
				if e.Class == "temperature" && e.Current < -273.15 {
					// LibreNMS keeps what a port without its module sends.
					require.False(t, ok, "%q (index %s): %v °C is not a reading", e.Descr, idx, e.Current)
					continue
				}
				require.True(t, ok, "%s %q (index %s) not found in %s", e.Class, e.Descr, idx, where.measurement)
				require.InDelta(t, e.Current, got.value, math.Max(0.01, math.Abs(e.Current)*1e-3),
					"%s %q (index %s)", e.Class, e.Descr, idx)
				if e.Descr != "" {
					require.NotEmpty(t, got.tags["descr"], "%s %q (index %s) has no name", e.Class, e.Descr, idx)
				}
			}
			require.Equal(t, tt.want, n, "sensors LibreNMS has in the table")
			if os.Getenv("KPILOT_DUMP") != "" {
				for _, m := range []string{"temperature", "fan", "voltage", "current", "power_sensor", "humidity", "transceiver"} {
					for _, x := range sink.Find(m) {
						t.Logf("%s %v %v", m, x.Tags, x.Fields)
					}
				}
			}
		})
}

type foundSensor struct {
	value float64
	tags  map[string]string
}

// findSensor returns the value of the sample of measurement with the
// index tag idx that has one of fields.
func findSensor(sink *collectortest.Sink, measurement string, fields []string, idx string) (foundSensor, bool) {
	for _, x := range sink.Find(measurement) {
		if x.Tags["index"] != idx {
			continue
		}
		for _, f := range fields {
			if v, ok := x.Fields[f]; ok {
				return foundSensor{value: v.(float64), tags: x.Tags}, true
			}
		}
	}
	return foundSensor{}, false
}

// TestEntitySensorScaling reads ENTITY-SENSOR-MIB rows through the
// built-in profile and checks what each becomes: SI prefix and precision
// per row (exa and peta as RFC 3433 numbers them), names from
// entPhysicalName or entPhysicalDescr, optical power by the sensor's name,
// and rows without a reading left out. The second run, which reads only
// values and takes types and names from the cache, gives the same; so it
// does with the entity profile, which reads entPhysicalName for the
// inventory only.
func TestEntitySensorScaling(t *testing.T) {
	const (
		sensor = ".1.3.6.1.2.1.99.1.1.1."
		entity = ".1.3.6.1.2.1.47.1.1.1.1."
	)
	type row struct {
		idx                                 string
		typ, scale, precision, value, state int
		name, descr                         string
	}
	rows := []row{
		{"1", 8, 9, 1, 533, 1, "", "Cpu temp sensor"},
		{"2", 5, 8, 2, 3345, 1, "DOM TX Bias Sensor for Ethernet1", "x"},
		{"3", 6, 8, 4, 6322, 1, "DOM TX Power Sensor for Ethernet1", ""},
		{"4", 14, 9, 1, -47, 1, "Gi1/0/52 Receive Power Sensor", ""},
		{"5", 4, 10, 0, 3, 1, "kilovolts", ""},
		{"6", 4, 14, 0, 2, 1, "exa", ""},
		{"7", 4, 15, 0, 2, 1, "peta", ""},
		{"8", 8, 0, 0, 30, 1, "unknown prefix", ""},
		{"9", 8, 9, 0, 30, 2, "unavailable", ""},
		{"10", 8, 9, 1615384784, 41, 1, "Cisco's broken precision", ""},
		{"11", 10, 9, -2, 8426, 1, "Fan 1", ""},
		{"12", 6, 8, 4, -1000000000, 1, "DOM RX Power Sensor for Ethernet2", ""},
		{"13", 8, 9, 0, -866597556, 1, "Te2/1/4 Module Temperature Sensor", ""},
		{"14", 1, 9, 1, -68, 1, "subslot 0/0 transceiver 0 Tx Power Sensor", ""},
		{"15", 1, 9, 0, 5, 1, "a sensor of another kind", ""},
	}
	a := newFakeAgent()
	set(a, oidSysUpTime, gosnmp.TimeTicks, uint32(100))
	for _, r := range rows {
		for col, v := range []int{r.typ, r.scale, r.precision, r.value, r.state} {
			set(a, fmt.Sprintf("%s%d.%s", sensor, col+1, r.idx), gosnmp.Integer, v)
		}
		set(a, entity+"7."+r.idx, gosnmp.OctetString, []byte(r.name))
		set(a, entity+"2."+r.idx, gosnmp.OctetString, []byte(r.descr))
		set(a, entity+"5."+r.idx, gosnmp.Integer, 8) // sensor
	}
	type reading struct {
		measurement, field, descr string
		value                     float64
	}
	want := map[string][]reading{
		"1":  {{"temperature", "celsius", "Cpu temp sensor", 53.3}},
		"2":  {{"current", "amperes", "DOM TX Bias Sensor for Ethernet1", 0.03345}},
		"3":  {{"power_sensor", "watts", "DOM TX Power Sensor for Ethernet1", 0.0006322}, {"transceiver", "tx_power_dbm", "DOM TX Power Sensor for Ethernet1", -1.991455}},
		"4":  {{"transceiver", "rx_power_dbm", "Gi1/0/52 Receive Power Sensor", -4.7}},
		"5":  {{"voltage", "volts", "kilovolts", 3000}},
		"6":  {{"voltage", "volts", "exa", 2e18}},
		"7":  {{"voltage", "volts", "peta", 2e15}},
		"10": {{"temperature", "celsius", "Cisco's broken precision", 41}},
		"11": {{"fan", "rpm", "Fan 1", 8426}},
		"12": {{"power_sensor", "watts", "DOM RX Power Sensor for Ethernet2", -100}},
		"14": {{"transceiver", "tx_power_dbm", "subslot 0/0 transceiver 0 Tx Power Sensor", -6.8}},
	}
	for _, profiles := range [][]string{{"system", "entity-sensor"}, {"system", "entity", "entity-sensor"}} {
		t.Run(strings.Join(profiles, ","), func(t *testing.T) {
			c, now := fakeCollector(t, a, profiles...)
			for run := range 2 {
				*now = now.Add(time.Minute)
				sink, err := collectortest.CollectOnce(t, c)
				require.NoError(t, err)
				require.Empty(t, sink.Errors)
				got := map[string]map[string]reading{} // index -> measurement.field -> reading
				for _, m := range []string{"temperature", "current", "power_sensor", "transceiver", "voltage", "fan", "humidity"} {
					for _, x := range sink.Find(m) {
						idx := x.Tags["index"]
						if got[idx] == nil {
							got[idx] = map[string]reading{}
						}
						for f, v := range x.Fields {
							got[idx][m+"."+f] = reading{m, f, x.Tags["descr"], v.(float64)}
						}
					}
				}
				require.Len(t, got, len(want), "run %d: %v", run, got)
				for idx, w := range want {
					require.Len(t, got[idx], len(w), "run %d, row %s: %v", run, idx, got[idx])
					for _, r := range w {
						g, ok := got[idx][r.measurement+"."+r.field]
						require.True(t, ok, "run %d, row %s: no %s.%s in %v", run, idx, r.measurement, r.field, got[idx])
						require.Equal(t, r.descr, g.descr, "run %d, row %s", run, idx)
						require.InEpsilon(t, r.value, g.value, 1e-5, "run %d, row %s %s", run, idx, r.field)
					}
				}
			}
		})
	}
}
