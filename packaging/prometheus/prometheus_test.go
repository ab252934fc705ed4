// Package prometheus_test checks the example alert rules with Prometheus'
// own rule loader, as promtool check rules does: PromQL, labels and
// annotation templates. (Prometheus' config loader needs a module the Go
// proxy does not serve here; internal/e2e checks that every metric the
// rules use is one the programs expose.)
package prometheus_test

import (
	"os"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestAlertRules(t *testing.T) {
	groups, errs := rulefmt.ParseFile("kpilot-rules.yml", false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger())
	require.Empty(t, errs)
	n := 0
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert, "only alerts in the example")
			require.Contains(t, []string{"critical", "warning", "info"}, r.Labels["severity"], r.Alert)
			require.NotEmpty(t, r.Annotations["summary"], r.Alert)
			n++
		}
	}
	require.GreaterOrEqual(t, n, 15)
}

// The loader rejects what promtool rejects: a broken expression and a
// broken annotation template.
func TestAlertRulesCheckRejects(t *testing.T) {
	bad := []byte(`groups:
  - name: bad
    rules:
      - alert: A
        expr: rate(kpilot_server_ingest_batches_total[5m]
      - alert: B
        expr: up == 0
        annotations: {summary: "{{ $labels.instance "}
`)
	_, errs := rulefmt.Parse(bad, false, model.UTF8Validation, parser.NewParser(parser.Options{}), promslog.NewNopLogger())
	require.Len(t, errs, 2, "%v", errs)
}

// The scrape example has the three jobs, and the tenant job reads its API
// token from a file.
func TestScrapeConfig(t *testing.T) {
	data, err := os.ReadFile("prometheus.yml")
	require.NoError(t, err)
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			Scheme        string
			Authorization struct {
				Type            string
				CredentialsFile string `yaml:"credentials_file"`
			}
			StaticConfigs []struct{ Targets []string } `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	require.NoError(t, yaml.Unmarshal(data, &cfg))
	require.Equal(t, []string{"kpilot-rules.yml"}, cfg.RuleFiles)
	jobs := map[string]int{}
	for i, sc := range cfg.ScrapeConfigs {
		jobs[sc.JobName] = i
		require.NotEmpty(t, sc.StaticConfigs, sc.JobName)
	}
	require.Contains(t, jobs, "kpilot-server")
	require.Contains(t, jobs, "kpilot-agent")
	require.Contains(t, jobs, "kpilot-kpis")
	kpis := cfg.ScrapeConfigs[jobs["kpilot-kpis"]]
	require.Equal(t, "/api/v1/metrics", kpis.MetricsPath)
	require.Equal(t, "https", kpis.Scheme)
	require.Equal(t, "Bearer", kpis.Authorization.Type)
	require.NotEmpty(t, kpis.Authorization.CredentialsFile, "the token is in a file, not in the config")
}
