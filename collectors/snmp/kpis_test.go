package snmp

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/collectortest"
	"github.com/kpilot/kpilot/configs"
	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/internal/kpi"
)

func builtinCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Builtin()
	require.NoError(t, err)
	return c
}

// undefined returns the measurement.field of every sample field the
// catalog does not define, sorted and without repeats.
func undefined(c *catalog.Catalog, samples []kpi.Sample) []string {
	missing := map[string]bool{}
	for _, s := range samples {
		for f := range s.Fields {
			if _, ok := c.Lookup(s.Measurement, f); !ok {
				missing[s.Measurement+"."+f] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(missing))
}

// TestBuiltinProfilesDefineTheirFields derives from every built-in
// profile the fields its samples can carry (gauge, counter and uptime
// columns and scalars, the counters' rates, the computed fields) and
// holds each to a definition that fits it: a counter is a counter, a
// gauge with an enum a state that names every value, an uptime seconds.
// A profile's own kpis define only fields it emits (or the engine's
// reboot sample), so a misspelt name cannot pass unnoticed.
func TestBuiltinProfilesDefineTheirFields(t *testing.T) {
	lib, err := LoadLibrary(configs.SNMPProfiles())
	require.NoError(t, err)
	cat := builtinCatalog(t)
	for _, name := range lib.Names() {
		p, _ := lib.Get(name)
		t.Run(name, func(t *testing.T) {
			emits := map[string]bool{}
			lookup := func(m, f string) catalog.Definition {
				t.Helper()
				emits[m+"."+f] = true
				d, ok := cat.Lookup(m, f)
				require.True(t, ok, "%s: %s.%s has no KPI definition", p.Source, m, f)
				return d
			}
			for _, g := range p.Metrics {
				for _, c := range slices.Concat(g.Scalars, g.Columns) {
					if !slices.Contains([]string{KindGauge, KindCounter, KindUptime}, c.Kind) {
						continue
					}
					d := lookup(g.Measurement, c.Name)
					where := fmt.Sprintf("%s.%s", g.Measurement, c.Name)
					switch {
					case c.Kind == KindCounter:
						require.Equal(t, catalog.Counter, d.Kind, where)
						r := lookup(g.Measurement, c.Name+"_per_second")
						require.Equal(t, c.Name, r.Rate, where)
					case len(c.Enum) > 0:
						require.Equal(t, catalog.State, d.Kind, "%s has an enum", where)
						for v, text := range c.Enum {
							require.Contains(t, d.States, v, "%s: value %d (%s) has no state", where, v, text)
						}
					case c.Kind == KindUptime:
						require.Equal(t, catalog.Seconds, d.Unit, where)
					}
				}
				for _, c := range g.Computed {
					d := lookup(g.Measurement, c.Name)
					require.Equal(t, catalog.Gauge, d.Kind, "%s.%s is computed", g.Measurement, c.Name)
				}
			}
			for _, m := range p.KPIs {
				for f := range m.Fields {
					require.True(t, emits[m.Measurement+"."+f] || m.Measurement == "reboot",
						"%s defines %s.%s, which the profile does not emit", p.Source, m.Measurement, f)
				}
			}
		})
	}
}

// TestRebootSampleIsDefined makes the engine see a reboot and holds the
// reboot sample's fields to definitions.
func TestRebootSampleIsDefined(t *testing.T) {
	a := newFakeAgent()
	set(a, oidSysUpTime, gosnmp.TimeTicks, uint32(100_000))
	c, now := fakeCollector(t, a, "system")
	_, err := collectortest.CollectOnce(t, c)
	require.NoError(t, err)
	*now = now.Add(10 * time.Second)
	set(a, oidSysUpTime, gosnmp.TimeTicks, uint32(500))
	sink, err := collectortest.CollectOnce(t, c)
	require.NoError(t, err)
	require.Len(t, sink.Find("reboot"), 1)
	require.Empty(t, undefined(builtinCatalog(t), sink.Samples))
}

// TestUserProfileKPIs checks a profiles_dir profile's kpis: a valid one
// is what Config.KPIs returns for the server (the built-in ones are not),
// an invalid one fails the load with the file's name.
func TestUserProfileKPIs(t *testing.T) {
	const profile = `
name: my-sensor
match: {sys_object_id: [1.3.6.1.4.1.99999]}
metrics:
  - measurement: my_sensor
    scalars:
      - {name: humidity_percent, oid: 1.3.6.1.4.1.99999.1.0, kind: gauge}
kpis:
  - measurement: my_sensor
    name: {en: Room sensor}
    fields:
      humidity_percent: {name: {en: Humidity}, unit: %s, kind: gauge}
`
	dir := t.TempDir()
	file := filepath.Join(dir, "sensor.yaml")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(profile, "percent")), 0o644))
	cfg := testConfig(func(c *Config) { c.ProfilesDir = []string{dir} })
	require.Nil(t, cfg.KPIDefinitions(), "nothing before the profiles are loaded")
	require.NoError(t, cfg.loadProfiles())
	secs := cfg.KPIDefinitions()
	require.Len(t, secs, 1, "only the user's profile's definitions")
	require.Equal(t, "my_sensor", secs[0][0].Measurement)
	require.Equal(t, catalog.Percent, secs[0][0].Fields["humidity_percent"].Unit)

	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(profile, "furlongs")), 0o644))
	err := testConfig(func(c *Config) { c.ProfilesDir = []string{dir} }).loadProfiles()
	require.ErrorContains(t, err, file)
	require.ErrorContains(t, err, `unit "furlongs" unknown`)
}

// TestBuiltinProfileKPIsAreStrict: a built-in profile's definition needs
// German texts too, which a user's may leave out.
func TestBuiltinProfileKPIsAreStrict(t *testing.T) {
	p := &Profile{Source: "builtin/x.yaml", builtin: true, KPIs: catalog.Section{{
		Measurement: "x", Name: catalog.Text{EN: "X", DE: "X"},
		Fields: map[string]*catalog.Definition{"y": {Name: catalog.Text{EN: "Y"}, Description: catalog.Text{EN: "A y.", DE: "Ein Y."}, Kind: catalog.Gauge}},
	}}}
	err := p.checkKPIs(nil)
	require.ErrorContains(t, err, "builtin/x.yaml")
	require.ErrorContains(t, err, "German text (de) missing")
	p.builtin = false
	require.NoError(t, p.checkKPIs(nil))
}
