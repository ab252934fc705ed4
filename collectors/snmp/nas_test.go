package snmp

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/collectortest"
	"github.com/kpilot/kpilot/collectors/snmp/conformance"
)

// TestRecordedNASAndStorage polls recordings of NAS, storage arrays, tape
// libraries, firewalls and printers, each with only the profile under
// test, and scores its values of one class against LibreNMS's expected
// result as the conformance report does: states by severity (text states
// among them), temperatures, fan speeds, storage and memory pools.
func TestRecordedNASAndStorage(t *testing.T) {
	shared := sharedRecordings(t)
	cat := builtinCatalog(t)
	tests := []struct {
		recording, profile, class string
		found, expected           int
	}{
		{"eurostor_es-6642b", "eurostor-sensors", "state", 41, 42}, // a hot spare is ok here, unknown to LibreNMS
		{"qnap", "qnap-sensors", "state", 37, 37},
		{"qnap", "qnap-sensors", "temperature", 22, 22},
		{"qnap", "qnap-sensors", "fanspeed", 5, 5},
		{"oceanstor_dorado3k", "huawei-oceanstor", "state", 19, 19},
		{"oceanstor_dorado3k", "huawei-oceanstor", "temperature", 12, 12},
		{"oceanstor_dorado3k", "huawei-oceanstor", "storage_size", 1, 1},
		{"quantum_scalari6000", "quantum-sensors", "state", 12, 12},
		{"quantum_scalari6000", "quantum-sensors", "temperature", 7, 7},
		{"quantum_scalari6000", "quantum-sensors", "fanspeed", 4, 4},
		{"truenas-scale_24.04.2.2", "freenas-zfs", "state", 2, 2}, // "ONLINE" as text
		{"truenas_11-3", "freenas-zfs", "state", 1, 1},
		{"gaia_15600", "checkpoint-sensors", "state", 23, 23},     // "yes", "standby"
		{"gaia_logserver", "checkpoint-sensors", "state", 54, 54}, // "active", "Connected"
		{"sharp_mxm266nv", "printer-mib", "state", 1, 2},
		{"recoveryos", "unitrends-backups", "state", 13, 13}, // "Success" as text
		{"nutanix-aos", "nutanix-aos", "count", 5, 5},
		{"dsm_ds214se-dsm7", "synology", "state", 11, 11},
		{"infortrend_ds3016", "infortrend-sensors", "temperature", 5, 5},
		{"dsm_ds214se-dsm7", "synology", "count", 2, 2},
		{"linux_ups-nut", "nut-ups", "state", 14, 14},
		{"linux_ups-nut", "nut-ups", "runtime", 1, 1}, // not hrPrinterDetectedErrorState's bits
		{"qnap", "host-resources", "mempool_used", 5, 5},
		{"arubaos-cx_6300m", "host-resources", "mempool_used", 6, 6},
		{"truenas-scale_24.04.2.2", "host-resources", "mempool_total", 5, 5},
	}
	pollRecordedProfiles(t, shared, len(tests), func(i int) (string, string) { return tests[i].recording, tests[i].profile },
		func(t *testing.T, i int, sink *collectortest.Sink, _ recordedExpected) {
			tt := tests[i]
			raw, err := os.ReadFile(filepath.Join(shared, "snmp", "expected", tt.recording+".json"))
			require.NoError(t, err)
			recorded, err := os.ReadFile(filepath.Join(shared, "snmp", "data", tt.recording+".snmprec"))
			require.NoError(t, err)
			want, err := conformance.ReadExpected(raw, conformance.ReadRecording(recorded))
			require.NoError(t, err)
			require.Len(t, sink.Inventories, 1)
			got := conformance.Compare(tt.recording, want, conformance.Read(sink.Samples, sink.Inventories[0], cat))
			c := got.Counts[tt.class]
			require.Equal(t, tt.expected, c.Expected, "%s values LibreNMS expects", tt.class)
			require.Equal(t, tt.found, c.Found, "%s values found; missed: %v", tt.class, got.Missed)
		})
}
