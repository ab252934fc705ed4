package redfish

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/collectortest"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/redfishmock"
)

// changedMockup is an embedded mockup with documents changed, added or
// removed: a copy of the tree that holds only what differs (copying the
// files to disk takes seconds on a busy machine).
type changedMockup struct {
	base    fs.FS
	changed fstest.MapFS    // documents replaced or added
	removed map[string]bool // resources removed, with everything below them
}

func mockupCopy(t *testing.T, name string) *changedMockup {
	t.Helper()
	root, err := redfishmock.Mockup(name)
	require.NoError(t, err)
	return &changedMockup{base: root, changed: fstest.MapFS{}, removed: map[string]bool{}}
}

// Open implements fs.FS.
func (m *changedMockup) Open(name string) (fs.File, error) {
	for p := name; p != "." && p != "/"; p = path.Dir(p) {
		if m.removed[p] {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
	}
	if _, ok := m.changed[name]; ok {
		return m.changed.Open(name)
	}
	return m.base.Open(name)
}

// remove makes the resource rel (a path below /redfish/v1) and everything
// below it answer 404.
func (m *changedMockup) remove(rel string) { m.removed[rel] = true }

// move serves the resource from as to instead (the documents keep their
// content).
func (m *changedMockup) move(t *testing.T, from, to string) {
	t.Helper()
	b, err := fs.ReadFile(m, from+"/index.json")
	require.NoError(t, err)
	m.changed[to+"/index.json"] = &fstest.MapFile{Data: b}
	m.remove(from)
}

// edit changes the document at rel (a path below /redfish/v1); edit gets
// an empty document where the mockup has none.
func (m *changedMockup) edit(t *testing.T, rel string, edit func(doc map[string]any)) {
	t.Helper()
	doc := map[string]any{"@odata.id": "/redfish/v1/" + rel}
	if b, err := fs.ReadFile(m, rel+"/index.json"); err == nil {
		require.NoError(t, json.Unmarshal(b, &doc))
	}
	edit(doc)
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	m.changed[rel+"/index.json"] = &fstest.MapFile{Data: b}
}

// link is a Redfish link object.
func link(p string) map[string]any { return map[string]any{"@odata.id": p} }

// requestLog counts the GET requests a mockup server answered, by path
// and query.
type requestLog struct {
	mu sync.Mutex
	n  map[string]int
}

func (l *requestLog) counts() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.n)
}

func (l *requestLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.n)
}

// dirServer serves a mockup tree (a mockup copy or an embedded one) over
// TLS on 127.0.0.1 and counts the GET requests it answers.
func dirServer(t *testing.T, root fs.FS) (*redfishmock.Server, *httptest.Server, *requestLog) {
	t.Helper()
	m := redfishmock.New(root, redfishmock.Options{Username: testUser, Password: testPassword})
	reqs := &requestLog{n: map[string]int{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			reqs.mu.Lock()
			reqs.n[r.URL.RequestURI()]++
			reqs.mu.Unlock()
		}
		m.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return m, srv, reqs
}

// samplesOf returns the samples of measurement whose tag chassis is ch.
func samplesOf(s *collectortest.Sink, measurement, ch string) []kpi.Sample {
	return slices.DeleteFunc(s.Find(measurement), func(x kpi.Sample) bool { return x.Tags["chassis"] != ch })
}

// TestContainedChassisReadings: a board whose readings sit under a
// contained chassis (a card inside a rack-mount chassis whose Power and
// Thermal links answer 404) reports the inner chassis' temperatures and
// power, and later polls read them without asking the dead links again.
func TestContainedChassisReadings(t *testing.T) {
	type want struct {
		chassis, sensor string  // a temperature of the inner chassis
		celsius         float64 // its reading
		watts           float64 // consumed_watts of the inner chassis
	}
	tests := []struct {
		name  string
		setup func(t *testing.T) fs.FS // the changed mockup
		dead  []string                 // the outer chassis' links, answering 404
		want  want
	}{
		{
			name: "card in a rack-mount chassis (Power, Thermal)",
			setup: func(t *testing.T) fs.FS {
				m := mockupCopy(t, "dmtf-public-rackmount1")
				// The readings move from 1U to the card Card1; 1U keeps
				// its links, which now answer 404.
				for _, res := range []string{"Power", "Thermal"} {
					m.move(t, "Chassis/1U/"+res, "Chassis/Card1/"+res)
				}
				for _, res := range []string{"PowerSubsystem", "ThermalSubsystem", "EnvironmentMetrics", "Sensors"} {
					m.remove("Chassis/1U/" + res)
				}
				m.edit(t, "Chassis/1U", func(doc map[string]any) {
					for _, res := range []string{"PowerSubsystem", "ThermalSubsystem", "EnvironmentMetrics", "Sensors"} {
						delete(doc, res)
					}
					doc["Links"].(map[string]any)["Contains"] = []any{link("/redfish/v1/Chassis/Card1")}
				})
				m.edit(t, "Chassis/Card1", func(doc map[string]any) {
					maps.Copy(doc, map[string]any{"@odata.type": "#Chassis.v1_14_0.Chassis", "Id": "Card1", "Name": "Main board",
						"ChassisType": "Card", "Status": map[string]any{"State": "Enabled", "Health": "OK"},
						"Power": link("/redfish/v1/Chassis/Card1/Power"), "Thermal": link("/redfish/v1/Chassis/Card1/Thermal"),
						"Links": map[string]any{"ContainedBy": link("/redfish/v1/Chassis/1U")}})
				})
				m.edit(t, "Chassis", func(doc map[string]any) {
					doc["Members"] = append(doc["Members"].([]any), link("/redfish/v1/Chassis/Card1"))
					doc["Members@odata.count"] = 2
				})
				return m
			},
			dead: []string{"/redfish/v1/Chassis/1U/Power", "/redfish/v1/Chassis/1U/Thermal"},
			want: want{chassis: "Card1", sensor: "CPU1 Temp", celsius: 41, watts: 344},
		},
		{
			name: "modules in a shelf (PowerSubsystem, ThermalSubsystem, EnvironmentMetrics)",
			setup: func(t *testing.T) fs.FS {
				m := mockupCopy(t, "supermicro-gb300-nvl")
				for _, res := range []string{"PowerSubsystem", "ThermalSubsystem", "EnvironmentMetrics"} {
					m.remove("Chassis/Chassis_0/" + res)
				}
				return m
			},
			dead: []string{"/redfish/v1/Chassis/Chassis_0/EnvironmentMetrics", "/redfish/v1/Chassis/Chassis_0/ThermalSubsystem"},
			// The modules of this shelf measure no power of their own.
			want: want{chassis: "PDB_0", sensor: "PDB_0_Inlet_Temp_0", celsius: readMockupTemp(t, "supermicro-gb300-nvl", "PDB_0", "PDB_0_Inlet_Temp_0")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv, reqs := dirServer(t, tt.setup(t))
			col := newCollector(t, testConfig(t, srv, nil))

			s, err := collectortest.CollectOnce(t, col)
			require.NoError(t, err)
			temp := findSample(samplesOf(s, "temperature", tt.want.chassis), "temperature", "sensor", tt.want.sensor)
			require.NotNil(t, temp, "no temperature %q of chassis %s; temperatures: %v", tt.want.sensor, tt.want.chassis, s.Find("temperature"))
			require.Equal(t, tt.want.celsius, temp.Fields["celsius"])
			if tt.want.watts != 0 {
				psus := s.Inventories[0].Components["power_supplies"]
				require.True(t, slices.ContainsFunc(psus, func(c map[string]any) bool { return c["chassis"] == tt.want.chassis }),
					"no power supply of chassis %s in the inventory: %v", tt.want.chassis, psus)
				power := samplesOf(s, "power", tt.want.chassis)
				require.True(t, slices.ContainsFunc(power, func(x kpi.Sample) bool { return x.Fields["consumed_watts"] == tt.want.watts }),
					"no power of chassis %s with consumed_watts %v; power: %v", tt.want.chassis, tt.want.watts, s.Find("power"))
			}
			for _, e := range s.Errors {
				for _, d := range tt.dead {
					require.NotContains(t, e.Error(), d+":", "the inner chassis stand in for the dead link")
				}
			}

			reqs.reset()
			s, err = collectortest.CollectOnce(t, col) // a readings-only poll
			require.NoError(t, err)
			require.Empty(t, s.Inventories)
			require.NotNil(t, findSample(samplesOf(s, "temperature", tt.want.chassis), "temperature", "sensor", tt.want.sensor))
			if tt.want.watts != 0 {
				require.NotEmpty(t, samplesOf(s, "power", tt.want.chassis))
			}
			for _, d := range tt.dead {
				require.Zero(t, reqs.counts()[d], "later polls ask the dead link %s again", d)
			}
		})
	}
}

// readMockupTemp is the reading of sensor in the ThermalMetrics of a
// chassis of an embedded mockup.
func readMockupTemp(t *testing.T, mockup, chassis, sensor string) float64 {
	t.Helper()
	root, err := redfishmock.Mockup(mockup)
	require.NoError(t, err)
	b, err := fs.ReadFile(root, "Chassis/"+chassis+"/ThermalSubsystem/ThermalMetrics/index.json")
	require.NoError(t, err)
	var tm struct {
		TemperatureReadingsCelsius []struct {
			DeviceName, DataSourceURI string
			Reading                   float64
		}
	}
	require.NoError(t, json.Unmarshal(b, &tm))
	for _, x := range tm.TemperatureReadingsCelsius {
		if sensorName(x.DeviceName, x.DataSourceURI) == sensor {
			return x.Reading
		}
	}
	t.Fatalf("%s: no temperature %s in the mockup", chassis, sensor)
	return 0
}

// TestEachURLOncePerPoll: an inventory poll asks every URL once, however
// often it is linked, and reports a dead link once (here listed 32 times
// as a drive of the storage subsystem).
func TestEachURLOncePerPoll(t *testing.T) {
	const dead = "/redfish/v1/Chassis/DE00A000/Drives/9999"
	tests := []struct {
		name   string
		mockup string
		edit   func(t *testing.T, m *changedMockup)
		expand bool
	}{
		{name: "dead link listed 32 times", mockup: "hpe-ilo5-dl360-gen10plus", expand: true, edit: func(t *testing.T, m *changedMockup) {
			m.edit(t, "Systems/1/Storage/DE00A000", func(doc map[string]any) {
				for range 32 {
					doc["Drives"] = append(doc["Drives"].([]any), link(dead))
				}
			})
		}},
		{name: "dead link listed 32 times, without $expand", mockup: "hpe-ilo5-dl360-gen10plus", edit: func(t *testing.T, m *changedMockup) {
			m.edit(t, "Systems/1/Storage/DE00A000", func(doc map[string]any) {
				for range 32 {
					doc["Drives"] = append(doc["Drives"].([]any), link(dead))
				}
			})
		}},
	}
	for _, name := range redfishmock.Mockups() {
		tests = append(tests, struct {
			name   string
			mockup string
			edit   func(t *testing.T, m *changedMockup)
			expand bool
		}{name: name, mockup: name, expand: true})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mockupCopy(t, tt.mockup)
			if tt.edit != nil {
				tt.edit(t, m)
			}
			_, srv, reqs := dirServer(t, m)
			col := newCollector(t, testConfig(t, srv, func(c *Config) { c.Expand = tt.expand }))
			s, err := collectortest.CollectOnce(t, col)
			require.NoError(t, err)
			var again []string
			for u, n := range reqs.counts() {
				if n > 1 {
					again = append(again, fmt.Sprintf("%s ×%d", u, n))
				}
			}
			slices.Sort(again)
			require.Empty(t, again, "URLs asked more than once in one poll")
			if tt.edit == nil {
				return
			}
			require.Len(t, s.Inventories[0].Components["drives"], 2, "the live drives are read")
			var named []string
			for _, e := range s.Errors {
				if strings.Contains(e.Error(), dead) {
					named = append(named, e.Error())
				}
			}
			require.Len(t, named, 1, "the dead link is reported once: %s", errors.Join(s.Errors...))
		})
	}
}

// TestNotANumberIsDropped: "N/A" (or any text that is not a number) where
// a number belongs is dropped and named, also where gofish would read it
// as 0 (Power, Processor), and a DIMM whose capacity cannot be read stays
// in the inventory and in the count.
func TestNotANumberIsDropped(t *testing.T) {
	m := mockupCopy(t, "dmtf-public-rackmount1")
	m.edit(t, "Chassis/1U/Power", func(doc map[string]any) {
		pc := doc["PowerControl"].([]any)[0].(map[string]any)
		pc["PowerConsumedWatts"] = "N/A"
		pc["PowerMetrics"].(map[string]any)["MaxConsumedWatts"] = "N/A"
		psus := doc["PowerSupplies"].([]any)
		psus[0].(map[string]any)["LastPowerOutputWatts"] = "N/A"
		psus[0].(map[string]any)["LineInputVoltage"] = ""
		psus[0].(map[string]any)["PowerInputWatts"] = "341.5" // a number written as text, which gofish reads right
		doc["Voltages"].([]any)[0].(map[string]any)["ReadingVolts"] = "N/A"
	})
	m.edit(t, "Systems/437XR1138R2/Memory/DIMM2", func(doc map[string]any) { doc["CapacityMiB"] = "N/A" })
	m.edit(t, "Systems/437XR1138R2/Processors/CPU1", func(doc map[string]any) { doc["MaxSpeedMHz"] = "" })
	_, srv, _ := dirServer(t, m)
	col := newCollector(t, testConfig(t, srv, nil))
	s, err := collectortest.CollectOnce(t, col)
	require.NoError(t, err)

	power := samplesOf(s, "power", "1U")
	require.Len(t, power, 1)
	require.NotContains(t, power[0].Fields, "consumed_watts", "N/A read as a number")
	require.NotContains(t, power[0].Fields, "max_watts", "N/A read as a number")
	require.Equal(t, 319.0, power[0].Fields["average_watts"], "the rest of the power control is read")
	psu0 := findSample(s.Samples, "power_supply", "psu", "0")
	require.NotNil(t, psu0)
	require.NotContains(t, psu0.Fields, "output_watts", "N/A read as a number")
	require.NotContains(t, psu0.Fields, "input_volts", `"" read as a number`)
	require.Equal(t, 800.0, psu0.Fields["capacity_watts"])
	require.Equal(t, 341.5, psu0.Fields["input_watts"])

	inv := s.Inventories[0]
	dimms := inv.Components["memory"]
	require.Len(t, dimms, 3, "DIMM1-3 are present, DIMM4 absent")
	require.Equal(t, int64(3), inv.Attributes["dimm_count"])
	i := slices.IndexFunc(dimms, func(d map[string]any) bool { return d["id"] == "DIMM2" })
	require.GreaterOrEqual(t, i, 0, "the DIMM with an unreadable capacity vanished: %v", dimms)
	require.NotContains(t, dimms[i], "capacity_bytes")
	cpu := inv.Components["processors"][0]
	require.NotContains(t, cpu, "max_speed_mhz", `"" read as 0 MHz`)

	joined := errors.Join(s.Errors...).Error()
	for _, want := range []string{
		`/redfish/v1/Chassis/1U/Power: ignored `,
		`PowerControl[0].PowerConsumedWatts: "N/A" where a number belongs`,
		`PowerControl[0].PowerMetrics.MaxConsumedWatts: "N/A" where a number belongs`,
		`PowerSupplies[0].LastPowerOutputWatts: "N/A" where a number belongs`,
		`PowerSupplies[0].LineInputVoltage: "" where a number belongs`,
		`Voltages[0].ReadingVolts: "N/A" where a number belongs`,
		`/redfish/v1/Systems/437XR1138R2/Memory/DIMM2: ignored CapacityMiB: "N/A" where a whole number belongs`,
		`/redfish/v1/Systems/437XR1138R2/Processors/CPU1: ignored MaxSpeedMHz: "" where a whole number belongs`,
	} {
		require.Contains(t, joined, want)
	}
	require.NotContains(t, joined, "PowerInputWatts", "a number written as text is read")
}
