package snmp

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/collectortest"
)

// TestRecordedSecurityAppliances polls recordings of firewalls, load
// balancers and SAN switches, each with only the vendor sensor profile
// under test, and checks every sensor LibreNMS found in a table column
// against ours, by row index: a reading's value in its measurement, a
// state's severity as the catalog gives the value we read (LibreNMS's
// generic state: 0 ok, 1 warning, 2 critical, 3 unknown).
func TestRecordedSecurityAppliances(t *testing.T) {
	shared := sharedRecordings(t)
	const (
		fg     = ".1.3.6.1.4.1.12356.101."
		fgHw   = fg + "4.3.2.1."
		cpMgmt = ".1.3.6.1.4.1.2620.1.7."
		cpSens = ".1.3.6.1.4.1.2620.1.6.7.8."
		swSens = ".1.3.6.1.4.1.1588.2.1.1.1.1.22.1."
		swSfp  = ".1.3.6.1.4.1.1588.2.1.1.1.28.1.1."
	)
	// counts says where the counts LibreNMS reads are: measurement, field.
	counts := map[string][2]string{
		fg + "4.1.8.0":     {"firewall_sessions", "active_count"},
		fg + "12.1.1.0":    {"firewall_sessions", "ipsec_tunnels_up_count"},
		fg + "12.2.3.1.2.": {"firewall_ssl_vpn", "users_count"},
		fg + "12.2.3.1.6.": {"firewall_ssl_vpn", "tunnels_count"},
	}
	type column struct {
		oid  string // the column, without the row index
		want int    // sensors LibreNMS has in it
	}
	tests := []struct {
		recording, profile string
		columns            []column
	}{
		{"fortigate", "fortigate-sensors", []column{
			{fgHw + "3.", 18},      // readings: 4 temperatures, 5 fans, 9 voltages
			{fgHw + "4.", 41},      // alarm flags
			{fg + "3.2.1.1.4.", 2}, // virtual domains' HA role
		}},
		{"fortigate_1500d-sensors", "fortigate-sensors", []column{
			{fgHw + "3.", 10},
			{fgHw + "4.", 54},
			{fg + "13.2.1.1.12.", 1}, // HA sync
			{fg + "12.2.3.1.1.", 1},  // SSL-VPN
		}},
		{"fortigate_1500d-sensors", "fortigate-sessions", []column{
			{fg + "4.1.8.0", 1},     // open sessions
			{fg + "12.1.1.0", 1},    // IPsec tunnels up
			{fg + "12.2.3.1.2.", 1}, // SSL-VPN users
			{fg + "12.2.3.1.6.", 1}, // SSL-VPN tunnels
		}},
		{"fortigate_60f", "fortigate-sensors", []column{
			{fgHw + "3.", 4},
			{fgHw + "4.", 4},
			{fg + "12.2.3.1.1.", 1}, // SSL-VPN
			{fg + "4.9.2.1.4.", 1},  // SD-WAN health check
		}},
		{"gaia_15600", "checkpoint-sensors", []column{
			{cpSens + "1.1.3.", 4}, {cpSens + "1.1.6.", 4}, // temperatures
			{cpSens + "2.1.3.", 4}, {cpSens + "2.1.6.", 4}, // fans
			{cpSens + "3.1.3.", 12}, {cpSens + "3.1.6.", 12}, // voltages
		}},
		{"gaia_logserver", "checkpoint-sensors", []column{
			{cpSens + "1.1.3.", 29}, {cpSens + "1.1.6.", 29},
			{cpSens + "2.1.3.", 19}, {cpSens + "2.1.6.", 19},
			{cpMgmt + "6.0", 1}, {cpMgmt + "101.0", 1}, // management daemon and status
		}},
		{"fabos_6520", "fabos-sensors", []column{
			{swSens + "4.", 14}, // 9 temperatures, 5 fans
			{swSens + "3.", 16}, // every sensor's status, power supplies included
			{swSfp + "4.", 76},  // receive power, dBm
			{swSfp + "5.", 75},  // transmit power, dBm
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
					switch e.Class {
					case "state":
						g, ok := generic[e.State][e.Current]
						require.True(t, ok, "%q: state %v not in LibreNMS's %s", e.Descr, e.Current, e.State)
						require.True(t, hasState(sink, cat, idx, severityOf[g]),
							"%q (index %s): no sensor_state of severity %s", e.Descr, idx, severityOf[g])
					case "count":
						where, ok := counts[col.oid]
						require.True(t, ok, "count %q: no field for %s", e.Descr, col.oid)
						require.True(t, hasUnnamedReading(sink, where[0], where[1], idx, e.Current),
							"%q (index %s): no %s.%s of %v", e.Descr, idx, where[0], where[1], e.Current)
					case "dbm":
						// The SFP table is indexed by WWN and port, with no name of its own.
						field := "tx_power_dbm"
						if receive.MatchString(e.Descr) {
							field = "rx_power_dbm"
						}
						require.True(t, hasUnnamedReading(sink, "transceiver", field, idx, e.Current),
							"%q (index %s): no %s of %v", e.Descr, idx, field, e.Current)
					default:
						where, known := sensorFields[e.Class]
						require.True(t, known, "class %s", e.Class)
						require.True(t, hasReading(sink, where.measurement, where.fields, idx, e.Current),
							"%s %q (index %s): no reading of %v", e.Class, e.Descr, idx, e.Current)
					}
				}
				require.Equal(t, col.want, n, "sensors LibreNMS has in %s", col.oid)
			}
		})
}

// hasUnnamedReading reports whether a sample of measurement with index
// idx holds field with value v, named or not.
func hasUnnamedReading(sink *collectortest.Sink, measurement, field, idx string, v float64) bool {
	for _, x := range sink.Find(measurement) {
		if got, ok := x.Fields[field].(float64); ok && x.Tags["index"] == idx &&
			math.Abs(got-v) <= math.Max(0.01, math.Abs(v)*1e-3) {
			return true
		}
	}
	return false
}
