package checkup

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
)

const thresholdKPIs = `
kpis:
  - measurement: ups_battery
    name: {en: UPS battery}
    fields:
      charge_percent: {name: {en: Battery charge}, unit: percent, kind: gauge, thresholds: {warning: 50, critical: 20, below: true}}
  - measurement: temperature
    name: {en: Temperature sensor}
    fields:
      celsius: {name: {en: Temperature}, unit: celsius, kind: gauge, thresholds: {warning: 70, critical: 85}}
      reads: {name: {en: Reads}, kind: counter}
  - measurement: storage
    name: {en: Volume}
    fields:
      used_percent: {name: {en: Storage used}, unit: percent, kind: gauge, thresholds: {warning: 85, critical: 95}}
`

func thresholdCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	sec, err := catalog.ReadSection([]byte(thresholdKPIs), "test")
	require.NoError(t, err)
	c, err := catalog.New(catalog.User, sec)
	require.NoError(t, err)
	return c
}

// TestCatalogThresholds evaluates the catalog's default thresholds with
// and without rules that decide instead.
func TestCatalogThresholds(t *testing.T) {
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	ups := store.Asset{ID: "ups", OrgID: "o", Category: "power"}
	srv := store.Asset{ID: "srv", OrgID: "o", Category: "server"}
	val := func(m, f string, tags map[string]string, v any) tsdb.Series {
		return tsdb.Series{Measurement: m, Field: f, Tags: tags, Points: []tsdb.Point{{Time: now.Add(-time.Hour), Value: 1.0}, {Time: now, Value: v}}}
	}
	in := Input{Now: now, OrgID: "o", Assets: []store.Asset{ups, srv}, Catalog: thresholdCatalog(t), Latest: map[string][]tsdb.Series{
		"ups": {
			val("ups_battery", "charge_percent", nil, 40.0),
			val("temperature", "celsius", map[string]string{"sensor": "battery"}, 30.0),
		},
		"srv": {
			val("temperature", "celsius", map[string]string{"sensor": "cpu1"}, 90.0),
			val("temperature", "reads", map[string]string{"sensor": "cpu1"}, int64(1e9)), // a counter: no thresholds
			val("storage", "used_percent", map[string]string{"descr": "/data"}, 96.0),
			val("custom", "queue", nil, int64(500)), // the user's own, undefined
		},
	}}
	parse := func(doc string) RuleSet {
		rs, err := Parse([]byte(doc))
		require.NoError(t, err)
		return rs
	}
	for _, tt := range []struct {
		name  string
		rules string
		want  map[string]string // rule, asset and subject: severity and text
	}{
		{name: "no rules: the catalog's thresholds, above and below", rules: "rules: []", want: map[string]string{
			"kpi-thresholds ups ups_battery charge_percent":       "warning: UPS battery: Battery charge is 40 % (warning at or below 50 %)",
			"kpi-thresholds srv temperature,sensor=cpu1 celsius":  "critical: Temperature sensor cpu1: Temperature is 90 °C (critical at 85 °C)",
			"kpi-thresholds srv storage,descr=/data used_percent": "critical: Volume /data: Storage used is 96 % (critical at 95 %)",
		}},
		{name: "a storage_used rule grades storage fill instead", rules: "rules: [{id: st, kind: storage_used, warning: 99}]", want: map[string]string{
			"kpi-thresholds ups ups_battery charge_percent":      "warning: UPS battery: Battery charge is 40 % (warning at or below 50 %)",
			"kpi-thresholds srv temperature,sensor=cpu1 celsius": "critical: Temperature sensor cpu1: Temperature is 90 °C (critical at 85 °C)",
		}},
		{name: "a rule's thresholds replace the catalog's on its scope", rules: `rules:
  - {id: hot, kind: kpi_threshold, kpi: temperature.celsius, warning: 25, assets: {categories: [power]}}
  - {id: st, kind: storage_used, warning: 99}`, want: map[string]string{
			"kpi-thresholds ups ups_battery charge_percent":      "warning: UPS battery: Battery charge is 40 % (warning at or below 50 %)",
			"hot ups temperature,sensor=battery celsius":         "warning: Temperature sensor battery: Temperature is 30 °C (warning at 25 °C)",
			"kpi-thresholds srv temperature,sensor=cpu1 celsius": "critical: Temperature sensor cpu1: Temperature is 90 °C (critical at 85 °C)",
		}},
		{name: "a rule raises the level", rules: "rules: [{id: hot, kind: kpi_threshold, kpi: temperature.celsius, warning: 88, critical: 95}]", want: map[string]string{
			"kpi-thresholds ups ups_battery charge_percent":       "warning: UPS battery: Battery charge is 40 % (warning at or below 50 %)",
			"hot srv temperature,sensor=cpu1 celsius":             "warning: Temperature sensor cpu1: Temperature is 90 °C (warning at 88 °C)",
			"kpi-thresholds srv storage,descr=/data used_percent": "critical: Volume /data: Storage used is 96 % (critical at 95 %)",
		}},
		{name: "a disabled rule turns the default off on its scope only", rules: `rules:
  - {id: quiet, kind: kpi_threshold, kpi: storage.used_percent, disabled: true, assets: {ids: [srv]}}
  - {id: no-battery, kind: kpi_threshold, kpi: ups_battery.charge_percent, disabled: true, assets: {ids: [srv]}}`, want: map[string]string{
			"kpi-thresholds ups ups_battery charge_percent":      "warning: UPS battery: Battery charge is 40 % (warning at or below 50 %)",
			"kpi-thresholds srv temperature,sensor=cpu1 celsius": "critical: Temperature sensor cpu1: Temperature is 90 °C (critical at 85 °C)",
		}},
		{name: "a rule without thresholds keeps the catalog's; below turns them around", rules: `rules:
  - {id: batt, kind: kpi_threshold, kpi: ups_battery.charge_percent}
  - {id: cold, kind: kpi_threshold, kpi: temperature.celsius, warning: 35, critical: 10, below: true}
  - {id: queue, kind: kpi_threshold, kpi: custom.queue, warning: 100, critical: 1000}`, want: map[string]string{
			"batt ups ups_battery charge_percent":                 "warning: UPS battery: Battery charge is 40 % (warning at or below 50 %)",
			"cold ups temperature,sensor=battery celsius":         "warning: Temperature sensor battery: Temperature is 30 °C (warning at or below 35 °C)",
			"queue srv custom queue":                              "warning: Custom: queue is 500 (warning at 100)",
			"kpi-thresholds srv storage,descr=/data used_percent": "critical: Volume /data: Storage used is 96 % (critical at 95 %)",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]string{}
			for _, f := range Evaluate(parse(tt.rules), in) {
				require.Equal(t, string(KPIThreshold), f.Kind)
				got[f.RuleID+" "+f.AssetID+" "+f.Subject] = string(f.Severity) + ": " + f.Text
			}
			require.Equal(t, tt.want, got, "%v", slices.Sorted(maps.Keys(got)))
		})
	}
	t.Run("without a catalog only rules with thresholds", func(t *testing.T) {
		bare := in
		bare.Catalog = nil
		require.Empty(t, Evaluate(parse("rules: [{id: batt, kind: kpi_threshold, kpi: ups_battery.charge_percent}]"), bare))
		got := Evaluate(parse("rules: [{id: hot, kind: kpi_threshold, kpi: temperature.celsius, critical: 80}]"), bare)
		require.Len(t, got, 1)
		require.Equal(t, "Temperature cpu1: celsius is 90 (critical at 80)", got[0].Text)
	})
}
