package agent

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/kpi"
)

func TestExporterFamiliesAndLabels(t *testing.T) {
	store := newLatestStore(true)
	now := time.Now()
	store.replace("ups", "ups-1", []kpi.Sample{
		{Asset: "ups-1", Measurement: "battery", Time: now, Tags: map[string]string{"site": "lab"},
			Fields: map[string]any{"charge_percent": 97.0, "on_battery": false, "status": "ok", "runtime_seconds": int64(1800)}},
	})
	store.replace("ups", "ups-2", []kpi.Sample{
		// No site tag, and a tag named like a label the exporter sets.
		{Asset: "ups-2", Measurement: "battery", Time: now, Tags: map[string]string{"asset": "spoof", "bank-id": "2"},
			Fields: map[string]any{"charge_percent": 50.0}},
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(&exporter{store: store, prefix: "kpilot"})
	want := `
# HELP kpilot_battery_charge_percent Latest value collected by kpilot-agent.
# TYPE kpilot_battery_charge_percent gauge
kpilot_battery_charge_percent{asset="ups-1",bank_id="",collector="ups",site="lab",tag_asset=""} 97
kpilot_battery_charge_percent{asset="ups-2",bank_id="2",collector="ups",site="",tag_asset="spoof"} 50
# HELP kpilot_battery_on_battery Latest value collected by kpilot-agent.
# TYPE kpilot_battery_on_battery gauge
kpilot_battery_on_battery{asset="ups-1",collector="ups",site="lab"} 0
# HELP kpilot_battery_runtime_seconds Latest value collected by kpilot-agent.
# TYPE kpilot_battery_runtime_seconds gauge
kpilot_battery_runtime_seconds{asset="ups-1",collector="ups",site="lab"} 1800
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want)))

	// A poll that returns nothing (a failed target) removes its series.
	store.replace("ups", "ups-1", nil)
	n, err := testutil.GatherAndCount(reg)
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

// With exporter mode on, the agent serves the latest KPIs of a real snmpd;
// turned off by a reload, the endpoint says how to turn it on.
func TestExporterServesLatestKPIs(t *testing.T) {
	f := startAgent(t, "exporter: {enabled: true}", "sw1")
	f.waitPolls("sw1", 1)
	body := scrape(t, "http://"+f.metrics+"/kpis")
	require.Regexp(t, `kpilot_system_uptime_seconds\{asset="sw1",collector="lab"\} [0-9.e+]+`, body)
	require.NotContains(t, body, "kpilot_agent_", "the agent's own metrics stay on /metrics")
	require.NotContains(t, scrape(t, "http://"+f.metrics+"/metrics"), "kpilot_system_uptime_seconds")

	f.writeConfig("", "sw1")
	require.NoError(t, f.a.Reload(t.Context()))
	resp, err := http.Get("http://" + f.metrics + "/kpis")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}
