package checkup_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/server/checkup"
	"github.com/kpilot/kpilot/server/store"
)

// healthCatalog defines SNMP-like states (a UPS battery, power supplies,
// a Dell global status), a link status that is not health, and the
// Redfish health code, as the built-in files do.
const healthCatalog = `
kpis:
  - measurement: ups_battery
    name: {en: UPS battery}
    fields:
      status:
        name: {en: Battery status}
        kind: state
        states:
          1: {name: {en: Unknown}, severity: unknown}
          2: {name: {en: Normal}, severity: ok}
          3: {name: {en: Low}, severity: critical}
          4: {name: {en: Depleted or faulty}, severity: critical}
      charge_percent: {name: {en: Battery charge}, unit: percent, kind: gauge}
  - measurement: power_supply
    name: {en: Power supply}
    fields:
      state:
        name: {en: Power supply state}
        kind: state
        states:
          1: {name: {en: Normal}, severity: ok}
          2: {name: {en: Warning}, severity: warning}
          3: {name: {en: Critical}, severity: critical}
          5: {name: {en: Not present}, severity: unknown}
  - measurement: interface
    name: {en: Interface}
    fields:
      oper_status:
        name: {en: Link status}
        kind: state
        health: false
        states:
          1: {name: {en: Up}, severity: ok}
          2: {name: {en: Down}, severity: warning}
  - measurement: server_health
    name: {en: Server health}
    fields:
      health_code:
        name: {en: System health}
        kind: state
        states: &health
          0: {name: {en: OK}, severity: ok}
          1: {name: {en: Warning}, severity: warning}
          2: {name: {en: Critical}, severity: critical}
      fans_health_code: {name: {en: Fans health}, kind: state, states: *health}
      global_status:
        name: {en: Global status}
        kind: state
        states:
          3: {name: {en: OK}, severity: ok}
          4: {name: {en: Non-critical}, severity: warning}
          5: {name: {en: Critical}, severity: critical}
`

// TestHealthFromCatalogStates: with the organization's catalog, the health
// check-up reads SNMP devices' states from a real influxd as it reads
// Redfish health codes: a low UPS battery is critical, a power supply in
// warning a warning, while an OK power supply, a value the states do not
// name, a field the catalog does not define and a link that is down (not
// health) open nothing; Redfish health codes keep their findings and
// texts, once each. Later OK values resolve the findings.
func TestHealthFromCatalogStates(t *testing.T) {
	h := newHistory(t)
	ctx := t.Context()
	ups := store.Asset{OrgID: h.org.ID, OUID: h.org.RootOU, Name: "ups", Category: "power", Manufacturer: "APC"}
	require.NoError(t, h.st.CreateAsset(ctx, &ups, nil))
	h.assets["ups"] = ups
	write := func(asset, series, fields string, at time.Time) {
		m, tags, _ := strings.Cut(series, ",")
		if tags != "" {
			tags = "," + tags
		}
		require.NoError(t, h.ts.Write(ctx, fmt.Appendf(nil, "%s,asset=%s%s %s %d\n", m, h.assets[asset].SeriesID, tags, fields, at.UnixNano())))
	}
	before := h.now.Add(-10 * time.Minute)
	write("ups", "ups_battery", "status=3i,charge_percent=20,vendor_code=3i", before)
	write("ups", "ups_battery,index=2", "status=9i", before) // a value the states do not name
	write("ups", "power_supply,descr=PSU1", "state=1i", before)
	write("ups", "power_supply,descr=PSU2", "state=2i", before)
	write("ups", "power_supply,descr=PSU3", "state=5i", before) // not present: unknown
	write("ups", "interface,name=eth0", "oper_status=2i", before)
	write("esx2", "server_health,system=1", "global_status=5i", before)

	sec, err := catalog.ReadSection([]byte(healthCatalog), "test")
	require.NoError(t, err)
	cat, err := catalog.New(catalog.User, sec)
	require.NoError(t, err)
	rules, err := checkup.Parse([]byte(`rules: [{id: health, kind: health}]`))
	require.NoError(t, err)
	r := checkup.NewRunner(h.st, h.ts, rules, discard, nil, checkup.WithClock(func() time.Time { return h.now }),
		checkup.WithCatalogs(func(context.Context, string) (*catalog.Catalog, error) { return cat, nil }))

	findings := func() map[string]string {
		out := map[string]string{}
		for k, f := range h.open(t) {
			out[k] = string(f.Severity) + ": " + f.Text
		}
		return out
	}
	_, err = r.Evaluate(ctx, h.org.ID)
	require.NoError(t, err)
	require.Equal(t, map[string]string{
		"health ups ups_battery status":                      "critical: UPS battery: Battery status is Low (critical)",
		"health ups power_supply,descr=PSU2 state":           "warning: Power supply PSU2: Power supply state is Warning (warning)",
		"health esx2 server_health,system=1 global_status":   "critical: Server health 1: Global status is Critical (critical)",
		"health esx server_health,system=1 health_code":      "critical: Health of system 1 is Critical",
		"health esx server_health,system=1 fans_health_code": "warning: Fans health of system 1 is Warning",
	}, findings())
	first := h.open(t)

	// The battery is back to normal, the PSU recovered, the server's
	// global status is now only non-critical: two findings resolved,
	// one refreshed.
	after := h.now.Add(-2 * time.Minute)
	write("ups", "ups_battery", "status=2i", after)
	write("ups", "power_supply,descr=PSU2", "state=1i", after)
	write("esx2", "server_health,system=1", "global_status=4i", after)
	opened, err := r.Evaluate(ctx, h.org.ID)
	require.NoError(t, err)
	require.Empty(t, opened)
	require.Equal(t, map[string]string{
		"health esx2 server_health,system=1 global_status":   "warning: Server health 1: Global status is Non-critical (warning)",
		"health esx server_health,system=1 health_code":      "critical: Health of system 1 is Critical",
		"health esx server_health,system=1 fans_health_code": "warning: Fans health of system 1 is Warning",
	}, findings())
	require.Equal(t, first["health esx2 server_health,system=1 global_status"].ID, h.open(t)["health esx2 server_health,system=1 global_status"].ID,
		"refreshed, not reopened")
	all, err := h.st.Findings(ctx, store.FindingFilter{OrgID: h.org.ID, Agents: true})
	require.NoError(t, err)
	require.Len(t, all, 5, "resolved findings stay as history")

	// Without a catalog only the health codes count.
	bare := checkup.NewRunner(h.st, h.ts, rules, discard, nil, checkup.WithClock(func() time.Time { return h.now }))
	write("ups", "ups_battery", "status=4i", h.now.Add(-time.Minute))
	_, err = bare.Evaluate(ctx, h.org.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"health esx server_health,system=1 fans_health_code", "health esx server_health,system=1 health_code"},
		sortedKeys(findings()))
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
