package snmp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/collectortest"
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// recordedExpected is what the vendor-table tests read of LibreNMS's
// expected result of a recording: its sensors, with their state names,
// and its state tables.
type recordedExpected struct {
	Sensors struct {
		Discovery struct {
			Sensors []struct {
				expectedSensor
				State string `json:"state_name"`
			}
			StateIndexes []struct {
				Name    string  `json:"state_name"`
				Value   float64 `json:"state_value"`
				Generic int     `json:"state_generic_value"`
			} `json:"state_indexes"`
		}
	}
}

// pollRecordedProfiles serves the recordings of n runs through snmpsim
// (each file once), polls each run's recording with the system profile
// and the run's own (run(i) names both; "a+b" names two profiles polled
// together), requires a clean poll, and calls
// check in a subtest recording/profile with the samples and LibreNMS's
// expected result.
func pollRecordedProfiles(t *testing.T, shared string, n int, run func(i int) (recording, profile string),
	check func(t *testing.T, i int, sink *collectortest.Sink, exp recordedExpected)) {
	t.Helper()
	var files []string
	for i := range n {
		rec, _ := run(i)
		if f := filepath.Join(shared, "snmp", "data", rec+".snmprec"); !slices.Contains(files, f) {
			files = append(files, f)
		}
	}
	s := devenv.SNMPSim(t, files...)
	for i := range n {
		rec, profile := run(i)
		t.Run(rec+"/"+profile, func(t *testing.T) {
			cfg := testConfig(func(c *Config) {
				c.Community = yamlconf.Secret(rec)
				c.MaxRepetitions = 25
				c.Profiles = append([]string{"system"}, strings.Split(profile, "+")...)
			})
			sink, err := collectortest.CollectOnce(t, newCollector(t, cfg, s.Addr()))
			require.NoError(t, err)
			require.Empty(t, sink.Errors)
			raw, err := os.ReadFile(filepath.Join(shared, "snmp", "expected", rec+".json"))
			require.NoError(t, err)
			var exp recordedExpected
			require.NoError(t, json.Unmarshal(raw, &exp))
			check(t, i, sink, exp)
		})
	}
}

// pollWritten serves a hand-written recording (snmprec text) through
// snmpsim under community and polls it once with profiles (auto when
// none are given).
func pollWritten(t *testing.T, community, rec string, profiles ...string) *collectortest.Sink {
	t.Helper()
	file := filepath.Join(t.TempDir(), community+".snmprec")
	require.NoError(t, os.WriteFile(file, []byte(rec), 0o644))
	s := devenv.SNMPSim(t, file)
	cfg := testConfig(func(c *Config) {
		c.Community = yamlconf.Secret(community)
		if len(profiles) > 0 {
			c.Profiles = profiles
		}
	})
	sink, err := collectortest.CollectOnce(t, newCollector(t, cfg, s.Addr()))
	require.NoError(t, err)
	return sink
}

// sharedRecordings returns the directory of the shared device recordings,
// or skips the test where it is absent (the GPL recordings are not part
// of the project; CI has them beside it).
func sharedRecordings(t *testing.T) string {
	t.Helper()
	shared, ok := devenv.SharedTestdata()
	if !ok {
		t.Skip("SKIPPED: ../shared/testdata is absent; the GPL recordings are not part of the project")
	}
	return shared
}
