package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
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

// grafanaDashboard is what the test reads of packaging/grafana's dashboard.
type grafanaDashboard struct {
	UID        string
	Templating struct {
		List []struct {
			Name, Type, Query, Regex string
			Multi, IncludeAll        bool
		}
	}
	Panels []struct {
		ID         int
		Type       string
		Title      string
		Repeat     string
		Datasource struct{ Type, UID string }
		Targets    []struct {
			Query, ResultFormat string
			RawQuery            bool
		}
		FieldConfig struct {
			Defaults struct{ Unit string }
		}
	}
}

// checkGrafanaDashboard runs every query of packaging/grafana's dashboard
// against the InfluxDB the agent's data went to, the way Grafana runs
// them (InfluxQL on /query, with $timeFilter, $__interval and the template
// variables filled in as Grafana fills them). The variables must offer
// organization org by name and its assets (name → series id) by name,
// with the series ids as values. Every query must run, and each panel
// must show data where the test has the devices for it.
func checkGrafanaDashboard(t *testing.T, influx *devenv.Influxd, org string, assets map[string]string) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "packaging/grafana/kpilot-influxdb.json"))
	require.NoError(t, err)
	var dash grafanaDashboard
	require.NoError(t, json.Unmarshal(data, &dash))
	require.Equal(t, "kpilot-assets", dash.UID)
	require.NotContains(t, string(data), "from(bucket", "the dashboard reads with InfluxQL, not Flux")

	var series []string
	var want []grafanaOption
	for name, s := range assets {
		series = append(series, s)
		want = append(want, grafanaOption{Text: org + " / " + name, Value: s})
	}
	orgNo, _, _ := strings.Cut(series[0], ".")

	// The variables name them, from the labels the server writes:
	// organization, then its assets.
	vars := map[string]grafanaVariable{}
	for _, v := range dash.Templating.List {
		if v.Type == "query" {
			vars[v.Name] = grafanaVariable{Query: v.Query, Regex: v.Regex, Multi: v.Multi || v.IncludeAll}
		}
	}
	require.Contains(t, vars, "organization")
	require.Contains(t, vars, "asset")
	require.True(t, vars["asset"].Multi, "several assets can be picked")
	var orgs, got []grafanaOption
	waitUntil(t, 30*time.Second, "the server's asset labels for the variables", func() bool {
		// Both read the labels after the server wrote them: the first
		// query may run just before, the second just after.
		orgs = metricFind(t, influx, vars["organization"], nil)
		got = metricFind(t, influx, vars["asset"], map[string]fillValue{"organization": {values: []string{orgNo}}})
		return len(got) == len(assets) && len(orgs) > 0
	})
	require.Contains(t, orgs, grafanaOption{Text: org, Value: orgNo}, "organization options: text its name, value its number")
	require.ElementsMatch(t, want, got, "asset options: text the names, value the series ids")

	ids := map[int]bool{}
	for _, p := range dash.Panels {
		require.False(t, ids[p.ID], "panel id %d is unique", p.ID)
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		// A panel repeats for every picked asset, its title naming the
		// asset: the variable's text, its name.
		title, ok := strings.CutSuffix(p.Title, ": $asset")
		require.True(t, ok, "panel %q names the asset in its title", p.Title)
		require.Equal(t, "asset", p.Repeat, title)
		require.Equal(t, "${datasource}", p.Datasource.UID, title)
		require.NotEmpty(t, p.Targets, title)
		var values []float64
		// A panel shows data when one of its queries does: the CPU panel
		// reads cpu.load_percent or, from net-snmp (as here), cpu_time.
		check := func() bool {
			values = nil
			for _, tg := range p.Targets {
				require.True(t, tg.RawQuery, title)
				// As Grafana runs it: once per repeated panel, and with all
				// the assets for a panel that does not repeat.
				all := fillQuery(tg.Query, map[string]fillValue{"asset": {values: series, multi: true}})
				influxQL(t, influx, all, title)
				for _, s := range series {
					q := fillQuery(tg.Query, map[string]fillValue{"asset": {values: []string{s}}})
					for _, r := range influxQL(t, influx, q, title) {
						values = append(values, r.numbers(t, title)...)
					}
				}
			}
			return len(values) > 0
		}
		if slices.Contains(panelsWithoutE2EData, title) {
			check()
		} else {
			// Rates need two polls that saw the counters move.
			waitUntil(t, 30*time.Second, "panel "+title+" to show the agent's data", check)
		}
		for _, v := range values {
			if p.FieldConfig.Defaults.Unit == "percent" {
				require.True(t, v >= 0 && v <= 100, "panel %q: %v%% is a percentage", title, v)
			}
		}
	}
}

// grafanaVariable is a query variable of the dashboard.
type grafanaVariable struct {
	Query, Regex string
	Multi        bool
}

// grafanaOption is one choice of a variable: what it shows and what it
// puts into queries.
type grafanaOption struct{ Text, Value string }

// fillValue is a variable's current value: one value or several.
type fillValue struct {
	values []string
	multi  bool // a multi-value variable
}

// metricFind runs a variable's query and turns the answer into options as
// Grafana's InfluxDB data source and variable code do: the parser takes
// each row's second column (the first after the time of a SELECT) and
// drops repeats; the variable's regex, with named groups text and value,
// splits each string; options with the same value are dropped.
func metricFind(t *testing.T, influx *devenv.Influxd, v grafanaVariable, vars map[string]fillValue) []grafanaOption {
	t.Helper()
	q := fillQuery(v.Query, vars)
	seen := map[string]bool{}
	var found []string
	for _, s := range influxQL(t, influx, q, "variable query "+q) {
		for _, r := range s.Values {
			x := fmt.Sprint(r[len(r)-1])
			if len(r) > 1 {
				x = fmt.Sprint(r[1])
			}
			if !seen[x] {
				seen[x] = true
				found = append(found, x)
			}
		}
	}
	re := regexp.MustCompile(strings.TrimSuffix(strings.TrimPrefix(v.Regex, "/"), "/"))
	var opts []grafanaOption
	values := map[string]bool{}
	for _, x := range found {
		m := re.FindStringSubmatch(x)
		if m == nil {
			continue
		}
		o := grafanaOption{Text: m[re.SubexpIndex("text")], Value: m[re.SubexpIndex("value")]}
		if !values[o.Value] {
			values[o.Value] = true
			opts = append(opts, o)
		}
	}
	return opts
}

// grafanaVar is a variable in a query: $name.
var grafanaVar = regexp.MustCompile(`\$(\w+)`)

// fillQuery fills a query's variables as Grafana does for InfluxQL: the
// time range and interval, and a template variable inside a /regex/ in
// Grafana's regex format: a single number as it is, anything else
// escaped, several values as (a|b).
func fillQuery(q string, vars map[string]fillValue) string {
	return grafanaVar.ReplaceAllStringFunc(q, func(m string) string {
		switch name := m[1:]; name {
		case "timeFilter":
			return "time >= now() - 1h"
		case "__interval":
			return "10s"
		default:
			v, ok := vars[name]
			if !ok {
				return m
			}
			if len(v.values) == 1 {
				if _, err := strconv.ParseFloat(v.values[0], 64); err == nil {
					return v.values[0]
				}
			}
			if len(v.values) == 1 && !v.multi {
				return grafanaEscape(v.values[0])
			}
			quoted := make([]string, len(v.values))
			for i, s := range v.values {
				quoted[i] = grafanaEscape(s)
			}
			return "(" + strings.Join(quoted, "|") + ")"
		}
	})
}

// grafanaEscape is Grafana's escapeRegex.
func grafanaEscape(s string) string {
	return regexp.MustCompile(`[\\^$*+?.()|[\]{}/]`).ReplaceAllString(s, `\$0`)
}

// influxSeries is one series of an InfluxQL answer.
type influxSeries struct {
	Name    string
	Tags    map[string]string
	Columns []string
	Values  [][]any
	Partial bool // influxd cut the answer short
}

// numbers are the series' numeric values, time left out.
func (s influxSeries) numbers(t *testing.T, what string) []float64 {
	var out []float64
	for _, r := range s.Values {
		for i, v := range r {
			if s.Columns[i] == "time" || v == nil {
				continue
			}
			n, ok := v.(json.Number)
			require.True(t, ok, "%s: %v is a number", what, v)
			f, err := n.Float64()
			require.NoError(t, err, what)
			out = append(out, f)
		}
	}
	return out
}

// influxQL runs a query on influxd's /query, as Grafana's InfluxQL data
// source does (times in nanoseconds, numbers as json.Number), and returns
// the series of its one statement; an error or an answer influxd cut
// short fails the test.
func influxQL(t *testing.T, influx *devenv.Influxd, query, what string) []influxSeries {
	t.Helper()
	resp, err := http.PostForm(influx.URL+"/query", url.Values{"db": {influx.Database}, "q": {query}, "epoch": {"ns"}})
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s\n%s", what, body, query)
	var out struct {
		Error   string
		Results []struct {
			Error  string
			Series []influxSeries
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&out), what)
	require.Empty(t, out.Error, "%s:\n%s", what, query)
	require.Len(t, out.Results, 1, "%s: one statement", what)
	require.Empty(t, out.Results[0].Error, "%s:\n%s", what, query)
	for _, s := range out.Results[0].Series {
		require.False(t, s.Partial, "%s: influxd answered in full", what)
	}
	return out.Results[0].Series
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
