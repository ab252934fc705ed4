package e2e

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/kpilot/kpilot/internal/devenv"
)

// panelsWithoutE2EData are dashboard panels for devices the end-to-end
// test has no recording of; their queries must still run.
var panelsWithoutE2EData = []string{"UPS battery charge", "UPS runtime left", "Reboots"}

// checkGrafanaDashboard runs every query of packaging/grafana's dashboard
// against the InfluxDB the agent's data went to, the way Grafana runs
// them: with v.timeRangeStart, v.timeRangeStop and v.windowPeriod set and
// the template variables filled in. Each must run, and each panel must
// show data where the test has the devices for it.
func checkGrafanaDashboard(t *testing.T, influx *devenv.Influxd, org string, assets []string) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "packaging/grafana/kpilot-influxdb.json"))
	require.NoError(t, err)
	var dash struct {
		UID        string
		Templating struct {
			List []struct{ Name, Type, Query string }
		}
		Panels []struct {
			ID          int
			Type        string
			Title       string
			Targets     []struct{ Query string }
			FieldConfig struct {
				Defaults struct{ Unit string }
			}
		}
	}
	require.NoError(t, json.Unmarshal(data, &dash))
	require.NotEmpty(t, dash.UID)
	fill := strings.NewReplacer("${bucket}", influx.Bucket, "${org:regex}", grafanaRegex(org), "${asset:regex}", grafanaRegex(assets...))

	ids := map[int]bool{}
	for _, p := range dash.Panels {
		require.False(t, ids[p.ID], "panel id %d is unique", p.ID)
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		require.Len(t, p.Targets, 1, p.Title)
		query := fill.Replace(p.Targets[0].Query)
		rows := flux(t, influx, query, p.Title)
		if !slices.Contains(panelsWithoutE2EData, p.Title) {
			// Rates need two polls that saw the counters move.
			waitUntil(t, 30*time.Second, "panel "+p.Title+" to show the agent's data", func() bool {
				rows = flux(t, influx, query, p.Title)
				return len(rows) > 0
			})
		}
		for _, r := range rows {
			v, err := strconv.ParseFloat(r["_value"], 64)
			require.NoError(t, err, "panel %q: %v", p.Title, r)
			if p.FieldConfig.Defaults.Unit == "percent" {
				require.True(t, v >= 0 && v <= 100, "panel %q: %v%% is a percentage", p.Title, v)
			}
		}
	}
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		rows := flux(t, influx, fill.Replace(v.Query), "variable "+v.Name)
		var values []string
		for _, r := range rows {
			values = append(values, r["_value"])
		}
		want := map[string][]string{"org": {org}, "asset": assets}[v.Name]
		require.ElementsMatch(t, want, values, "variable %s", v.Name)
	}
}

// grafanaRegex is Grafana's regex format of a multi-value variable:
// (a|b), each value quoted.
func grafanaRegex(values ...string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = regexp.QuoteMeta(v)
	}
	return "(" + strings.Join(quoted, "|") + ")"
}

var fluxImport = regexp.MustCompile(`(?m)\A(\s*import "[^"]+"\s*\n)*`)

// flux runs a Grafana Flux query on influxd's /api/v2/query with the time
// range variables Grafana sets, and returns the data rows.
func flux(t *testing.T, influx *devenv.Influxd, query, what string) []map[string]string {
	t.Helper()
	imports := fluxImport.FindString(query)
	query = imports + "v = {timeRangeStart: -1h, timeRangeStop: now(), windowPeriod: 10s}\n" + query[len(imports):]
	body, _ := json.Marshal(map[string]any{"query": query, "type": "flux",
		"dialect": map[string]any{"header": true, "annotations": []string{}}})
	resp, err := http.Post(influx.URL+"/api/v2/query", "application/json", strings.NewReader(string(body)))
	require.NoError(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s\n%s", what, out, query)
	r := csv.NewReader(strings.NewReader(string(out)))
	r.FieldsPerRecord = -1
	records, err := r.ReadAll()
	require.NoError(t, err, what)
	var rows []map[string]string
	var header []string
	for _, rec := range records {
		if len(rec) <= 1 { // blank line between tables
			header = nil
			continue
		}
		if header == nil {
			header = rec
			require.NotContains(t, header, "error", "%s: %v", what, records)
			continue
		}
		row := map[string]string{}
		for i, h := range header {
			row[h] = rec[i]
		}
		rows = append(rows, row)
	}
	return rows
}

// metricName is a kpilot metric in a PromQL expression.
var metricName = regexp.MustCompile(`\bkpilot_[a-z0-9_]+`)

// checkAlertRules checks that every kpilot metric the example alert rules
// in packaging/prometheus use is one the programs expose: in the scraped
// text, or (for a labelled metric with no series yet) in the metric tables
// of docs/agent.md and docs/kpis.md, which the agent's and server's own
// tests keep in step with the code.
func checkAlertRules(t *testing.T, scraped string) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "packaging/prometheus/kpilot-rules.yml"))
	require.NoError(t, err)
	var rules struct {
		Groups []struct {
			Rules []struct{ Alert, Record, Expr string }
		}
	}
	require.NoError(t, yaml.Unmarshal(data, &rules))
	var docs string
	for _, f := range []string{"docs/agent.md", "docs/kpis.md"} {
		d, err := os.ReadFile(filepath.Join(repoRoot(t), f))
		require.NoError(t, err)
		docs += string(d)
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			for _, m := range metricName.FindAllString(r.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_count"), "_sum")
				if strings.Contains(scraped, "\n"+m) || strings.Contains(docs, "`"+base) || profileField(t, m) {
					n++
					continue
				}
				t.Errorf("rule %s%s uses %s, which no program exposes", r.Alert, r.Record, m)
			}
		}
	}
	require.Positive(t, n)
}

// profileField reports whether a tenant metric kpilot_<measurement>_<field>
// names a measurement and field of a shipped SNMP profile, for devices the
// end-to-end test has no recording of (a UPS).
func profileField(t *testing.T, metric string) bool {
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "configs/snmp/*.yaml"))
	require.NoError(t, err)
	rest := strings.TrimPrefix(metric, "kpilot_")
	for i := strings.Index(rest, "_"); i > 0; i = strings.Index(rest[i+1:], "_") + i + 1 {
		m, f := rest[:i], rest[i+1:]
		for _, file := range files {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			if strings.Contains(string(data), "measurement: "+m+"\n") && strings.Contains(string(data), "{name: "+f+",") {
				return true
			}
		}
		if !strings.Contains(rest[i+1:], "_") {
			break
		}
	}
	return false
}
