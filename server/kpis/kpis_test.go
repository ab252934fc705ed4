package kpis_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/server/kpis"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/tsdb"
)

// builtinText stands for the built-in catalog: the tests do not depend
// on the shipped definitions.
const builtinText = `
kpis:
  - measurement: storage
    name: {en: Volume, de: Volume}
    description: {en: A file system., de: Ein Dateisystem.}
    fields:
      used_percent:
        name: {en: Storage used, de: Speicher belegt}
        description: {en: Share in use., de: Anteil belegt.}
        unit: percent
        kind: gauge
        thresholds: {warning: 85, critical: 95}
`

// agentJSON is what an agent sends: a section in JSON.
const agentJSON = `[
  {"measurement": "ups", "name": {"en": "UPS"}, "fields": {
    "load_percent": {"name": {"en": "Load", "de": "Last"}, "unit": "percent", "kind": "gauge", "thresholds": {"warning": 70, "critical": 90}},
    "battery_status": {"name": {"en": "Battery"}, "kind": "state", "class": "service",
      "states": {"1": {"name": {"en": "OK"}, "severity": "ok"}, "2": {"name": {"en": "Low"}, "severity": "critical"}}},
    "output_octets": {"name": {"en": "Output"}, "unit": "bytes", "kind": "counter", "some_future_key": 1}
  }},
  {"measurement": "storage", "fields": {
    "used_percent": {"name": {"en": "Agent's used"}, "unit": "ratio", "kind": "gauge"}
  }}
]`

type world struct {
	st      store.Store
	builtin *catalog.Catalog
	org     store.Organization
	a1, a2  store.Agent
	other   store.Agent // of another organization
	now     time.Time
	svc     *kpis.Service
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "k.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	sec, err := catalog.ReadSection([]byte(builtinText), "builtin.yaml")
	require.NoError(t, err)
	builtin, err := catalog.New(catalog.Strict, sec)
	require.NoError(t, err)
	w := &world{st: st, builtin: builtin, now: time.Now().Truncate(time.Millisecond)}
	w.org = store.Organization{Name: "Acme", Kind: store.Customer}
	require.NoError(t, st.CreateOrganization(ctx, &w.org))
	other := store.Organization{Name: "Other", Kind: store.Customer}
	require.NoError(t, st.CreateOrganization(ctx, &other))
	w.a1, w.a2 = w.agent(t, w.org, "a1"), w.agent(t, w.org, "a2")
	w.other = w.agent(t, other, "b1")
	w.svc = w.service()
	return w
}

func (w *world) service() *kpis.Service {
	return kpis.New(w.st, w.builtin, kpis.Options{TTL: time.Minute, Now: func() time.Time { return w.now }})
}

func (w *world) agent(t *testing.T, o store.Organization, name string) store.Agent {
	t.Helper()
	ctx := t.Context()
	require.NoError(t, w.st.CreateEnrollmentToken(ctx, store.EnrollmentToken{TokenHash: "enroll-" + name, OrgID: o.ID, OUID: o.RootOU,
		CreatedBy: "test", CreatedAt: w.now, ExpiresAt: w.now.Add(time.Hour)}))
	a := store.Agent{Name: name, TokenHash: name}
	require.NoError(t, w.st.EnrollAgent(ctx, "enroll-"+name, w.now, &a))
	return a
}

func (w *world) put(t *testing.T, ag store.Agent, body string) (kpis.Result, error) {
	t.Helper()
	return w.svc.Put(t.Context(), ag, strings.NewReader(body))
}

func (w *world) catalog(t *testing.T, svc *kpis.Service, org string) *catalog.Catalog {
	t.Helper()
	c, err := svc.For(t.Context(), org)
	require.NoError(t, err)
	return c
}

func TestPutAndFor(t *testing.T) {
	w := newWorld(t)
	require.Equal(t, 1, w.catalog(t, w.svc, w.org.ID).Len(), "nothing sent: the built-in catalog")

	res, err := w.put(t, w.a1, agentJSON)
	require.NoError(t, err)
	require.Equal(t, kpis.Result{Definitions: 4, BuiltIn: []string{"storage.used_percent"}}, res)

	c := w.catalog(t, w.svc, w.org.ID)
	require.Equal(t, 4, c.Len())
	d, ok := c.Lookup("ups", "load_percent")
	require.True(t, ok)
	require.Equal(t, catalog.Text{EN: "Load", DE: "Last"}, d.Name)
	require.Equal(t, catalog.Percent, d.Unit)
	require.Equal(t, catalog.Warning, d.Thresholds.Level(75))
	d, ok = c.Lookup("ups", "battery_status")
	require.True(t, ok)
	require.True(t, d.ServiceOnly())
	require.Equal(t, catalog.Critical, d.States[2].Severity)
	d, ok = c.Lookup("ups", "output_octets_per_second")
	require.True(t, ok, "a sent counter's rate is derived as a built-in one's")
	require.Equal(t, catalog.BytesPerSecond, d.Unit)
	d, ok = c.Lookup("storage", "used_percent")
	require.True(t, ok)
	require.Equal(t, "Storage used", d.Name.EN, "the built-in definition wins")
	m, ok := c.MeasurementInfo("ups")
	require.True(t, ok)
	require.Equal(t, "UPS", m.Name.EN)

	require.Equal(t, 1, w.catalog(t, w.svc, w.other.OrgID).Len(), "another organization does not get Acme's definitions")
	require.Equal(t, 1, w.svc.Builtin().Len())
}

func TestPutReplacesTheAgentsSet(t *testing.T) {
	w := newWorld(t)
	_, err := w.put(t, w.a1, agentJSON)
	require.NoError(t, err)
	_, err = w.put(t, w.a2, `[{"measurement": "ups", "fields": {"runtime": {"name": {"en": "Runtime"}, "unit": "seconds", "kind": "gauge"}}}]`)
	require.NoError(t, err)
	require.Equal(t, 5, w.catalog(t, w.svc, w.org.ID).Len())

	// a1's profile lost a field: its next set replaces the old one.
	_, err = w.put(t, w.a1, `[{"measurement": "ups", "fields": {"load_percent": {"name": {"en": "Load"}, "unit": "percent", "kind": "gauge"}}}]`)
	require.NoError(t, err)
	c := w.catalog(t, w.svc, w.org.ID)
	_, ok := c.Lookup("ups", "battery_status")
	require.False(t, ok)
	_, ok = c.Lookup("ups", "runtime")
	require.True(t, ok, "a2's set stays")
	require.Equal(t, 3, c.Len())

	// An empty set removes the agent's definitions.
	res, err := w.put(t, w.a1, `[]`)
	require.NoError(t, err)
	require.Zero(t, res.Definitions)
	require.Equal(t, 2, w.catalog(t, w.svc, w.org.ID).Len())
}

func TestNewerAgentDefinitionWins(t *testing.T) {
	w := newWorld(t)
	_, err := w.put(t, w.a1, `[{"measurement": "ups", "fields": {"load": {"name": {"en": "Old"}, "unit": "percent", "kind": "gauge"}}}]`)
	require.NoError(t, err)
	w.now = w.now.Add(time.Second)
	_, err = w.put(t, w.a2, `[{"measurement": "ups", "fields": {"load": {"name": {"en": "New"}, "unit": "ratio", "kind": "gauge"}}}]`)
	require.NoError(t, err)
	d, ok := w.catalog(t, w.svc, w.org.ID).Lookup("ups", "load")
	require.True(t, ok)
	require.Equal(t, "New", d.Name.EN)
	require.Equal(t, catalog.Ratio, d.Unit)
}

func TestPutRefuses(t *testing.T) {
	big := `[{"measurement": "ups", "name": {"en": "` + strings.Repeat("x", kpis.MaxBody) + `"}, "fields": {}}]`
	tests := []struct {
		name string
		body string
		want string
	}{
		{"unknown unit", `[{"measurement": "ups", "fields": {"load": {"name": {"en": "Load"}, "unit": "furlongs", "kind": "gauge"}}}]`, `unit "furlongs" unknown`},
		{"no name", `[{"measurement": "ups", "fields": {"load": {"unit": "percent", "kind": "gauge"}}}]`, "English text (en) missing"},
		{"bad measurement name", `[{"measurement": "UPS; DROP", "fields": {}}]`, "not a valid name"},
		{"control characters", `[{"measurement": "ups", "fields": {"load": {"name": {"en": "L\u001boad"}, "kind": "gauge"}}}]`, "control characters"},
		{"not a list", `{"measurement": "ups"}`, "not a JSON list of measurements"},
		{"not JSON", `kpis: []`, "not a JSON list of measurements"},
		{"data after the list", `[] []`, "data after the list"},
		{"too large", big, fmt.Sprintf("larger than %d bytes", kpis.MaxBody)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			_, err := w.put(t, w.a1, agentJSON)
			require.NoError(t, err)
			_, err = w.put(t, w.a1, tt.body)
			require.ErrorContains(t, err, tt.want)
			require.Equal(t, problem.Invalid, problem.KindOf(err))
			require.Equal(t, 4, w.catalog(t, w.service(), w.org.ID).Len(), "a refused set changes nothing")
		})
	}
}

// many returns a section of n gauges of measurement m.
func many(m string, n int) string {
	fields := map[string]any{}
	for i := range n {
		fields[fmt.Sprintf("f%d", i)] = map[string]any{"name": map[string]string{"en": "F"}, "kind": "gauge"}
	}
	b, _ := json.Marshal([]any{map[string]any{"measurement": m, "fields": fields}})
	return string(b)
}

func TestPutBoundsTheOrganization(t *testing.T) {
	w := newWorld(t)
	_, err := w.put(t, w.a1, many("one", catalog.MaxDefinitions+1))
	require.ErrorContains(t, err, fmt.Sprintf("at most %d", catalog.MaxDefinitions), "one agent's set")
	require.Equal(t, problem.Invalid, problem.KindOf(err))

	_, err = w.put(t, w.a1, many("one", catalog.MaxDefinitions-10))
	require.NoError(t, err)
	_, err = w.put(t, w.a2, many("two", 11))
	require.ErrorContains(t, err, "the organization's agents would define more than")
	require.Equal(t, problem.Invalid, problem.KindOf(err))
	_, err = w.put(t, w.a2, many("two", 10))
	require.NoError(t, err)
	require.Equal(t, catalog.MaxDefinitions+1, w.catalog(t, w.svc, w.org.ID).Len(), "the agents' and the built-in one")
	_, err = w.put(t, w.other, many("two", 100))
	require.NoError(t, err, "another organization has a bound of its own")
}

// TestForCaches: another replica's agent's set shows once the catalog
// kept in memory has expired; this replica's own at once.
func TestForCaches(t *testing.T) {
	w := newWorld(t)
	replica := w.service()
	require.Equal(t, 1, w.catalog(t, replica, w.org.ID).Len())
	require.Equal(t, 1, w.catalog(t, w.svc, w.org.ID).Len())
	_, err := w.put(t, w.a1, agentJSON)
	require.NoError(t, err)
	require.Equal(t, 4, w.catalog(t, w.svc, w.org.ID).Len(), "the replica that stored it knows at once")
	require.Equal(t, 1, w.catalog(t, replica, w.org.ID).Len(), "the other replica answers from memory for the TTL")
	w.now = w.now.Add(time.Minute)
	require.Equal(t, 4, w.catalog(t, replica, w.org.ID).Len())
}

func TestListAndDescribe(t *testing.T) {
	w := newWorld(t)
	_, err := w.put(t, w.a1, agentJSON)
	require.NoError(t, err)
	c := w.catalog(t, w.svc, w.org.ID)
	l := w.svc.List(c)
	var got []string
	for _, e := range l.Definitions {
		got = append(got, fmt.Sprintf("%s.%s built-in=%v", e.Measurement, e.Field, e.BuiltIn))
	}
	require.Equal(t, []string{"storage.used_percent built-in=true", "ups.battery_status built-in=false",
		"ups.load_percent built-in=false", "ups.output_octets built-in=false"}, got)
	require.Len(t, l.Measurements, 2)

	series := kpis.Describe(c, []tsdb.Series{
		{Measurement: "storage", Field: "used_percent"},
		{Measurement: "ups", Field: "output_octets_per_second"},
		{Measurement: "ups", Field: "undefined"},
	})
	require.Len(t, series, 3)
	require.Equal(t, "Storage used", series[0].Definition.Name.EN)
	require.Equal(t, catalog.Percent, series[0].Definition.Unit)
	require.Equal(t, catalog.Critical, series[0].Definition.Thresholds.Level(99))
	require.Equal(t, catalog.BytesPerSecond, series[1].Definition.Unit)
	require.Equal(t, catalog.Gauge, series[1].Definition.Kind)
	require.Nil(t, series[2].Definition)

	b, err := json.Marshal(series[0])
	require.NoError(t, err)
	require.JSONEq(t, `{"measurement": "storage", "field": "used_percent", "tags": null, "points": null,
		"definition": {"name": {"en": "Storage used", "de": "Speicher belegt"}, "unit": "percent", "kind": "gauge",
		"thresholds": {"warning": 85, "critical": 95}}}`, string(b))
}
