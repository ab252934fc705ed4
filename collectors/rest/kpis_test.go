package rest

import (
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/collectors/collectortest"
	"github.com/kpilot/kpilot/configs"
	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/mockoon"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// declaredFields returns measurement.field of every field a definition's
// samples emit.
func declaredFields(d Definition) []string {
	var out []string
	for _, r := range d.Requests {
		for _, s := range r.Samples {
			for f := range s.Fields {
				out = append(out, s.Measurement+"."+f)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestTemplateKPIsDefined: every field a built-in template's samples
// emit is defined in the built-in catalog and in the template's own kpis
// section (with configs/kpis, where definitions several sources share
// live), and the section defines nothing the template does not emit.
func TestTemplateKPIsDefined(t *testing.T) {
	builtin, err := catalog.Builtin()
	require.NoError(t, err)
	common, err := catalog.ReadFS(configs.KPIDefinitions(), "configs/kpis")
	require.NoError(t, err)
	for _, name := range TemplateNames() {
		t.Run(name, func(t *testing.T) {
			d, err := LoadTemplate(name, "")
			require.NoError(t, err)
			own, err := catalog.New(catalog.Strict, append(slices.Clone(common), d.KPIs)...)
			require.NoError(t, err)
			fields := declaredFields(d)
			require.NotEmpty(t, fields)
			var missing []string
			for _, mf := range fields {
				m, f, _ := strings.Cut(mf, ".")
				if _, ok := builtin.Lookup(m, f); !ok {
					missing = append(missing, mf+" (built-in catalog)")
				}
				if _, ok := own.Lookup(m, f); !ok {
					missing = append(missing, mf+" (the template's kpis section)")
				}
			}
			require.Empty(t, missing, "fields without a definition")
			var stale []string
			for _, m := range d.KPIs {
				for f := range m.Fields {
					if !slices.Contains(fields, m.Measurement+"."+f) {
						stale = append(stale, m.Measurement+"."+f)
					}
				}
			}
			require.Empty(t, stale, "definitions of fields the template does not emit")
		})
	}
}

// recording is a template polled against recorded vendor answers.
type recording struct {
	name, template, file string
}

// TestRecordedFieldsDefined: polling every built-in template against the
// recorded answers (testdata/cases and, when present, the vendor REST
// answers in ../shared/testdata) produces only fields the built-in catalog
// defines, and text values only for fields of kind info.
func TestRecordedFieldsDefined(t *testing.T) {
	builtin, err := catalog.Builtin()
	require.NoError(t, err)
	var recs []recording
	cases, err := filepath.Glob("testdata/cases/*/case.yaml")
	require.NoError(t, err)
	for _, c := range cases {
		var spec caseSpec
		require.NoError(t, yamlconf.LoadFile(c, &spec))
		entry := loadCase(t, filepath.Join(filepath.Dir(c), "config.yaml"), "http://127.0.0.1:1")
		recs = append(recs, recording{"cases/" + filepath.Base(filepath.Dir(c)), entry.Template, filepath.Join("testdata/mockoon", spec.Mockoon)})
	}
	if dir, ok := devenv.SharedTestdata(); ok {
		for tmpl, f := range map[string]string{
			"veeam-one":    "apps__backup__veeam__vone__vone.mockoon.json",
			"commvault":    "apps__backup__commvault__commserve__commvault.mockoon.json",
			"netapp-ontap": "storage__netapp__ontap__netapp.json",
			"hpe-wsapi":    "storage__hp__primera__hpe-primera.mockoon.json",
		} {
			recs = append(recs, recording{"shared/" + f, tmpl, filepath.Join(dir, "vendor-rest", "centreon", f)})
		}
		recs = append(recs, recording{"shared/alletra", "hpe-wsapi", filepath.Join(dir, "vendor-rest", "centreon", "storage__hp__alletra__hpe-alletra.mockoon.json")})
	} else {
		t.Log("../shared/testdata is absent: only testdata/cases are polled")
	}
	polled := map[string]bool{}
	for _, rec := range recs {
		t.Run(rec.name, func(t *testing.T) {
			env, err := mockoon.Load(rec.file)
			require.NoError(t, err)
			srv := httptest.NewServer(mockoon.NewServer(env, ""))
			t.Cleanup(srv.Close)
			c := newConfig().(*Config)
			require.NoError(t, yamlconf.Decode(fmt.Appendf(nil, "type: rest\ntemplate: %s\nusername: u\npassword: p\ntargets: [{address: %q, asset: a1}]\n", rec.template, srv.URL), c))
			require.NoError(t, c.Validate())
			col, err := c.New(c.Targets[0], collectors.Options{})
			require.NoError(t, err)
			sink, err := collectortest.CollectOnce(t, col)
			require.NoError(t, err)
			require.NotEmpty(t, sink.Samples, "the recording gives no samples")
			seen := map[string]bool{}
			var bad []string
			for _, s := range sink.Samples {
				for f, v := range s.Fields {
					mf := s.Measurement + "." + f
					if seen[mf] {
						continue
					}
					seen[mf] = true
					d, ok := builtin.Lookup(s.Measurement, f)
					switch _, text := v.(string); {
					case !ok:
						bad = append(bad, mf+": no definition")
					case text && d.Kind != catalog.Info:
						bad = append(bad, fmt.Sprintf("%s: text value %q, but kind %s", mf, v, d.Kind))
					}
				}
			}
			slices.Sort(bad)
			require.Empty(t, bad)
			polled[rec.template] = true
		})
	}
	require.ElementsMatch(t, TemplateNames(), slices.Collect(maps.Keys(polled)), "every built-in template is polled against a recording")
}

// TestUserTemplateKPIs: a template in templates_dir may define its own
// KPIs with English names alone; an invalid definition is refused with
// the file and field named; the entry's KPIs give the agent the template's
// section and the entry's own.
func TestUserTemplateKPIs(t *testing.T) {
	dir := t.TempDir()
	const head = `
category: storage
auth: {type: basic}
requests:
  - {name: volumes, path: /volumes, items: v, samples: [{measurement: acme_volume, fields: {size_kib: size}}]}
`
	write := func(name, kpis string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(head+kpis), 0o644))
	}
	entry := func(tmpl, extra string) (*Config, error) {
		c := newConfig().(*Config)
		require.NoError(t, yamlconf.Decode([]byte("type: rest\ntemplate: "+tmpl+"\ntemplates_dir: "+dir+
			"\nusername: u\npassword: p\ntargets: [{address: x, asset: a}]\n"+extra), c))
		return c, c.Validate()
	}
	write("good", `
kpis:
  - measurement: acme_volume
    name: {en: Acme volume}
    fields:
      size_kib: {name: {en: Size}, unit: bytes, kind: gauge}
`)
	write("bad-unit", `
kpis:
  - measurement: acme_volume
    name: {en: Acme volume}
    fields:
      size_kib: {name: {en: Size}, unit: KiB, kind: gauge}
`)
	write("bad-state", `
kpis:
  - measurement: acme_volume
    name: {en: Acme volume}
    fields:
      size_kib: {name: {en: Size}, kind: state}
`)

	c, err := entry("good", "")
	require.NoError(t, err)
	cat, err := catalog.New(catalog.User, c.KPISections()...)
	require.NoError(t, err)
	d, ok := cat.Lookup("acme_volume", "size_kib")
	require.True(t, ok)
	require.Equal(t, catalog.Bytes, d.Unit)

	for _, tt := range []struct{ name, tmpl, want string }{
		{"unknown unit", "bad-unit", `acme_volume.size_kib: unit "KiB" unknown`},
		{"state without states", "bad-state", "acme_volume.size_kib: kind state needs states"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := entry(tt.tmpl, "")
			require.Error(t, err)
			require.Contains(t, err.Error(), filepath.Join(dir, tt.tmpl+".yaml")+": kpis: ")
			require.Contains(t, err.Error(), tt.want)
		})
	}

	t.Run("entry's own kpis", func(t *testing.T) {
		c, err := entry("veeam-one", `
kpis:
  - measurement: license
    name: {en: Licence, de: Lizenz}
    fields:
      spare: {name: {en: Spare units}, kind: gauge}
`)
		require.NoError(t, err)
		secs := c.KPISections()
		require.Len(t, secs, 2, "the built-in template's section and the entry's")
		cat, err := catalog.New(catalog.User, secs...)
		require.NoError(t, err)
		for _, f := range []string{"used", "spare"} {
			_, ok := cat.Lookup("license", f)
			require.True(t, ok, f)
		}
		// Defining a template's field differently is refused.
		_, err = entry("veeam-one", `
kpis:
  - measurement: license
    name: {en: Licence, de: Lizenz}
    fields:
      used: {name: {en: Used}, kind: gauge}
`)
		require.ErrorContains(t, err, "license.used: defined twice, differently")
	})
}

func TestKPIDefinitionsSentToTheServer(t *testing.T) {
	base := "type: rest\ntemplate: veeam-one\ntargets: [{address: \"{{addr}}\", asset: a1}]\nusername: u\npassword: p\n"
	own := "kpis:\n  - measurement: my_app\n    name: {en: My app}\n    fields:\n      queue:\n        name: {en: Queue length}\n        kind: gauge\n"
	for _, tc := range []struct {
		name     string
		yaml     string
		sections int
	}{
		{"a built-in template alone sends nothing", base, 0},
		{"an entry's own definitions are sent", base + own, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config(t, tc.yaml, "127.0.0.1:1")
			require.Len(t, cfg.KPIDefinitions(), tc.sections)
		})
	}
}
