package snmp

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/collectortest"
	"github.com/kpilot/kpilot/internal/catalog"
)

// TestRecordedBMCSensors polls recordings of server management
// controllers, each with only the vendor profile under test, and checks
// every sensor LibreNMS found in a table column against ours, by row
// index: a reading's value in its measurement (volts, amperes, watts …
// after the MIB's unit), a state's severity as the catalog gives the
// value we read (LibreNMS's generic state: 0 ok, 1 warning, 2 critical, 3
// unknown), and that a reading's row is named (some state tables, such
// as HPE's logical drives, have no name column).
func TestRecordedBMCSensors(t *testing.T) {
	shared := sharedRecordings(t)
	const (
		idrac      = ".1.3.6.1.4.1.674.10892.5."
		cmc        = ".1.3.6.1.4.1.674.10892.2."
		mm         = ".1.3.6.1.4.1.674.10892.6."
		ilo        = ".1.3.6.1.4.1.232."
		supermicro = ".1.3.6.1.4.1.21317.1."
		xcc        = ".1.3.6.1.4.1.19046.11.1."
		imm        = ".1.3.6.1.4.1.2.3.51.3.1."
	)
	type column struct {
		oid  string // the column, without the row index
		want int    // sensors LibreNMS has in it
	}
	tests := []struct {
		recording, profile string
		columns            []column
	}{
		{"drac_r640", "dell-idrac", []column{
			{idrac + "4.700.12.1.6.", 14},     // fans
			{idrac + "4.600.30.1.6.", 3},      // amperage probes: 2 current, 1 power
			{idrac + "4.600.12.1.16.", 2},     // power supply input voltage
			{idrac + "4.600.20.1.5.", 47},     // voltage probe status
			{idrac + "4.600.30.1.5.", 3},      // amperage probe status
			{idrac + "4.600.50.1.5.", 2},      // batteries
			{idrac + "4.1100.50.1.5.", 8},     // memory
			{idrac + "4.1100.30.1.5.", 2},     // processors
			{idrac + "4.300.70.1.5.", 1},      // intrusion
			{idrac + "4.300.70.1.6.", 1},      // intrusion reading
			{idrac + "5.1.20.130.4.1.4.", 4},  // physical disks
			{idrac + "5.1.20.130.4.1.49.", 4}, // SSD wear
			{idrac + "5.1.20.140.1.1.4.", 4},  // virtual disks
		}},
		{"drac_c6525", "dell-idrac", []column{
			{idrac + "4.600.30.1.6.", 3},
			{idrac + "5.1.20.130.1.1.38.", 1}, // controllers
		}},
		{"drac_m1000e", "dell-idrac", []column{
			{cmc + "4.2.1.5.", 6},           // chassis supplies' voltage
			{cmc + "4.1.1.14.", 1},          // chassis current
			{cmc + "6.1.20.130.4.1.4.", 25}, // shared PERC's disks
			{cmc + "6.1.20.130.1.1.38.", 2}, // shared PERC
			{idrac + "4.200.10.1.60.", 1},   // IDSDM
		}},
		{"dell-ome-m_dell-ome-m", "dell-idrac", []column{
			{mm + "4.2.1.7.", 6}, // supplies' input voltage
			{mm + "4.2.1.8.", 6}, // supplies' status
			{mm + "4.1.1.9.", 1}, // chassis power
		}},
		{"supermicro-bmc_x11", "supermicro-bmc", []column{
			{supermicro + "3.1.2.", 52},   // IPMI sensors: temperatures, fans, voltages, discrete states
			{supermicro + "14.2.1.2.", 2}, // power supplies: status
			{supermicro + "14.2.1.3.", 2}, // input voltage
			{supermicro + "14.2.1.4.", 2}, // input current
			{supermicro + "14.2.1.5.", 2}, // input power
			{supermicro + "14.2.1.9.", 2}, // temperatures
			{supermicro + "14.2.1.10.", 2},
			{supermicro + "14.2.1.11.", 2}, // fans
		}},
		{"xclarity_lenovoxcc", "lenovo-xcc", []column{
			{xcc + "1.1.2.1.3.", 4}, // temperatures
			{xcc + "1.2.2.1.3.", 4}, // voltages
			{xcc + "1.3.2.1.3.", 4}, // fans, percent
		}},
		{"ibm-imm_x3550m3", "lenovo-xcc", []column{
			{imm + "1.2.1.3.", 1},
			{imm + "2.2.1.3.", 4}, // millivolts
			{imm + "3.2.1.3.", 10},
		}},
		{"hpe-ilo_5_with_bat_checks", "hpe-ilo", []column{
			{ilo + "3.2.5.1.1.70.", 104},  // drive bay temperatures
			{ilo + "3.2.5.1.1.37.", 104},  // drive condition
			{ilo + "3.2.2.1.1.6.", 2},     // array controllers
			{ilo + "3.2.2.2.1.6.", 2},     // cache batteries
			{ilo + "3.2.3.1.1.11.", 10},   // logical drive condition
			{ilo + "3.2.3.1.1.4.", 10},    // logical drive status
			{ilo + "6.2.6.7.1.9.", 7},     // fans
			{ilo + "6.2.9.3.1.4.", 2},     // power supplies
			{ilo + "6.2.9.3.1.7.", 2},     // power supply load
			{ilo + "6.2.14.13.1.20.", 24}, // memory modules
			{ilo + "6.2.17.2.1.4.", 1},    // system battery
			{ilo + "6.2.17.2.1.5.", 1},
			{ilo + "1.2.2.1.1.6.", 2}, // processors
		}},
	}
	cat := builtinCatalog(t)
	pollRecordedProfiles(t, shared, len(tests), func(i int) (string, string) { return tests[i].recording, tests[i].profile },
		func(t *testing.T, i int, sink *collectortest.Sink, exp recordedExpected) {
			tt := tests[i]
			generic := map[string]map[float64]int{}
			for _, st := range exp.Sensors.Discovery.StateIndexes {
				if generic[st.Name] == nil {
					generic[st.Name] = map[float64]int{}
				}
				generic[st.Name][st.Value] = st.Generic
			}
			for _, col := range tt.columns {
				n := 0
				for _, e := range exp.Sensors.Discovery.Sensors {
					idx, ok := strings.CutPrefix(e.OID, col.oid)
					if !ok {
						continue
					}
					n++
					if e.Class == "state" {
						g, ok := generic[e.State][e.Current]
						require.True(t, ok, "%q: state %v not in LibreNMS's %s", e.Descr, e.Current, e.State)
						require.True(t, hasState(sink, cat, idx, severityOf[g]),
							"%q (index %s): no sensor_state of severity %s", e.Descr, idx, severityOf[g])
						continue
					}
					where, known := sensorFields[e.Class]
					found := known && hasReading(sink, where.measurement, where.fields, idx, e.Current)
					if e.Class == "percent" { // an SSD's wear, a disk operation's progress, a fan's speed
						known = true
						found = hasReading(sink, "disk", []string{"write_endurance_remaining_percent", "operation_progress_percent"}, idx, e.Current) ||
							hasReading(sink, "fan", []string{"speed_percent"}, idx, e.Current)
					}
					require.True(t, known, "class %s", e.Class)
					require.True(t, found, "%s %q (index %s): no reading of %v", e.Class, e.Descr, idx, e.Current)
				}
				require.Equal(t, col.want, n, "sensors LibreNMS has in %s", col.oid)
			}
		})
}

// severityOf maps LibreNMS's generic state values to the catalog's.
var severityOf = map[int]catalog.Severity{0: catalog.OK, 1: catalog.Warning, 2: catalog.Critical, 3: catalog.Unknown}

// hasReading reports whether a named sample of measurement with index idx
// holds one of fields with value v. Rows of two tables may share an
// index (a probe and a power supply), so any of them may match.
func hasReading(sink *collectortest.Sink, measurement string, fields []string, idx string, v float64) bool {
	for _, x := range sink.Find(measurement) {
		if x.Tags["index"] != idx {
			continue
		}
		for _, f := range fields {
			if got, ok := x.Fields[f].(float64); ok && x.Tags["descr"] != "" &&
				math.Abs(got-v) <= math.Max(0.01, math.Abs(v)*1e-3) {
				return true
			}
		}
	}
	return false
}

// hasState reports whether a sensor_state sample with index idx
// has a field whose value the catalog gives severity sev.
func hasState(sink *collectortest.Sink, cat *catalog.Catalog, idx string, sev catalog.Severity) bool {
	for _, x := range sink.Find("sensor_state") {
		if x.Tags["index"] != idx {
			continue
		}
		for f, v := range x.Fields {
			d, ok := cat.Lookup("sensor_state", f)
			num, isNum := v.(float64)
			if !ok || !isNum {
				continue
			}
			if st, ok := d.States[int64(num)]; ok && st.Severity == sev {
				return true
			}
		}
	}
	return false
}
