package checkup_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/server/checkup"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/tsdb"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// history is an organization with scripted KPI histories in a real
// influxd, one asset per kind of trouble.
type history struct {
	st     *sqlstore.DB
	ts     *tsdb.Influx
	influx *devenv.Influxd
	now    time.Time
	org    store.Organization
	branch store.OU
	assets map[string]store.Asset
	agent  store.Agent
}

func newHistory(t *testing.T) *history {
	ctx := t.Context()
	influx := devenv.Influx(t)
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "k.db"), discard)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	ts := tsdb.New(tsdb.Options{URL: influx.URL, Bucket: influx.Bucket, Timeout: 5 * time.Second})
	t.Cleanup(ts.Close)
	h := &history{st: st, ts: ts, influx: influx, now: time.Now().UTC().Truncate(time.Minute), assets: map[string]store.Asset{}}

	h.org = store.Organization{Name: "Acme", Kind: store.Customer}
	require.NoError(t, st.CreateOrganization(ctx, &h.org))
	h.branch = store.OU{OrgID: h.org.ID, ParentID: h.org.RootOU, Name: "Branch"}
	require.NoError(t, st.CreateOU(ctx, &h.branch))
	asset := func(key, ou, category, maker, product string, attrs string) {
		a := store.Asset{OrgID: h.org.ID, OUID: ou, Name: key, Category: category, Manufacturer: maker, Product: product}
		require.NoError(t, st.CreateAsset(ctx, &a, nil))
		if attrs != "" {
			_, err := st.PutInventory(ctx, a.ID, h.now, []byte(`{"attributes":`+attrs+`}`), []byte("[]"))
			require.NoError(t, err)
		}
		h.assets[key] = a
	}
	asset("nas", h.org.RootOU, "storage", "Synology", "DS920+", `{"os_version":"DSM 7.1.1-42962"}`)
	asset("nas2", h.branch.ID, "storage", "Synology Inc.", "DS920+", `{"os_version":"DSM 7.2-64570"}`)
	asset("esx", h.org.RootOU, "server", "Dell Inc.", "PowerEdge R640", `{"bios_version":"2.19.1"}`)
	asset("esx2", h.org.RootOU, "server", "Dell Inc.", "PowerEdge R640", `{"bios_version":"2.19.1"}`)
	asset("veeam", h.branch.ID, "backup", "Veeam", "Veeam ONE", "")

	require.NoError(t, st.CreateEnrollmentToken(ctx, store.EnrollmentToken{TokenHash: "th", OrgID: h.org.ID, OUID: h.branch.ID,
		CreatedBy: "t", CreatedAt: h.now, ExpiresAt: h.now.Add(time.Hour)}))
	h.agent = store.Agent{Name: "branch-agent", TokenHash: "agent-cred"}
	require.NoError(t, st.EnrollAgent(ctx, "th", h.now, &h.agent))
	require.NoError(t, st.TouchAgent(ctx, h.agent.ID, "1.0", h.now.Add(-2*time.Hour)))

	// The scripted histories.
	var lp strings.Builder
	point := func(asset, series, fields string, at time.Time) {
		a := h.assets[asset]
		m, tags, _ := strings.Cut(series, ",")
		if tags != "" {
			tags = "," + tags
		}
		fmt.Fprintf(&lp, "%s,asset=%s%s %s %d\n", m, a.SeriesID, tags, fields, at.UnixNano())
	}
	for i := range 14 * 4 { // every 6 h for two weeks, the newest 6 h ago
		at := h.now.Add(-time.Duration(14*4-i) * 6 * time.Hour)
		day := float64(i) / 4
		// /volume1 grows 2 points a day: from 50% to 77.5%, full in about 11 days.
		point("nas", `storage,descr=/volume1`, fmt.Sprintf("used_percent=%g,size_bytes=4000000000000i", 50+2*day), at)
		// /volume2 is 97% full and flat: critical now, never full by its trend.
		point("nas", `storage,descr=/volume2`, "used_bytes=970i,size_bytes=1000i", at)
		// nas2's pool shrinks: no finding.
		point("nas2", `storage_pool,pool=pool1`, fmt.Sprintf("used_percent=%g", 60-day), at)
		// Memory is not storage, however full.
		point("esx", `memory,descr=RAM`, "used_percent=99", at)
	}
	point("esx", `server_health,system=1`, "health_code=2i,fans_health_code=1i,memory_health_code=0i", h.now.Add(-10*time.Minute))
	point("esx2", `server_health,system=1`, "health_code=0i", h.now.Add(-10*time.Minute))
	// esx rebooted 3 h ago (Saturday night in Berlin or not: the custom
	// rules below declare a window around it); esx2 rebooted 30 h ago.
	h.reboot(&lp, point, "esx", h.now.Add(-3*time.Hour))
	h.reboot(&lp, point, "esx2", h.now.Add(-30*time.Hour))
	// Veeam: Daily failed 5 h ago, last success 30 h ago; Weekly ok,
	// but its last success is 100 h old; Monthly has never succeeded.
	job := func(name string, status int, lastRun time.Time) {
		point("veeam", "backup_job,job="+name+",backup_server=b1",
			fmt.Sprintf("status=%di,last_run_time=%di,result=\"x\"", status, lastRun.Unix()), h.now.Add(-5*time.Minute))
	}
	success := func(name string, end time.Time) {
		point("veeam", "backup_last_success,job="+name+",backup_server=b1", fmt.Sprintf("end_time=%di", end.Unix()), h.now.Add(-5*time.Minute))
	}
	job("Daily", 2, h.now.Add(-5*time.Hour))
	success("Daily", h.now.Add(-30*time.Hour))
	job("Weekly", 0, h.now.Add(-100*time.Hour))
	success("Weekly", h.now.Add(-100*time.Hour))
	job("Monthly", 1, h.now.Add(-20*time.Hour))
	job("Hourly", 0, h.now.Add(-time.Hour))
	success("Hourly", h.now.Add(-time.Hour))
	require.NoError(t, ts.Write(ctx, []byte(lp.String())))
	return h
}

func (h *history) reboot(lp *strings.Builder, point func(string, string, string, time.Time), asset string, boot time.Time) {
	point(asset, "reboot,collector=snmp", fmt.Sprintf("last_seen_up=%di", boot.Add(-2*time.Minute).Unix()), boot)
}

func (h *history) runner(reg prometheus.Registerer, opts ...checkup.Option) *checkup.Runner {
	return checkup.NewRunner(h.st, h.ts, checkup.DefaultRules(), discard, reg, append(opts, checkup.WithClock(func() time.Time { return h.now }))...)
}

func (h *history) open(t *testing.T) map[string]store.Finding {
	t.Helper()
	open := true
	fs, err := h.st.Findings(t.Context(), store.FindingFilter{OrgID: h.org.ID, Agents: true, Open: &open})
	require.NoError(t, err)
	out := map[string]store.Finding{}
	for _, f := range fs {
		who := f.AgentID
		for k, a := range h.assets {
			if a.ID == f.AssetID {
				who = k
			}
		}
		if f.AgentID != "" {
			who = "agent"
		}
		out[f.RuleID+" "+who+" "+f.Subject] = f
	}
	return out
}

func TestCheckupsOverScriptedHistories(t *testing.T) {
	h := newHistory(t)
	ctx := t.Context()
	var notified []store.Finding
	reg := prometheus.NewRegistry()
	r := h.runner(reg, checkup.WithNotify(func(_ context.Context, orgID string, changed store.Reconciled) {
		require.Equal(t, h.org.ID, orgID)
		notified = append(notified, changed.Opened...)
	}))
	opened, err := r.Evaluate(ctx, h.org.ID)
	require.NoError(t, err)

	got := h.open(t)
	want := map[string]store.Severity{
		"storage-used nas storage,descr=/volume2":                               store.SeverityCritical,
		"storage-forecast nas storage,descr=/volume1":                           store.SeverityWarning,
		"firmware-drift nas os_version":                                         store.SeverityInfo,
		"health esx server_health,system=1 health_code":                         store.SeverityCritical,
		"health esx server_health,system=1 fans_health_code":                    store.SeverityWarning,
		"unexpected-reboot esx " + h.now.Add(-3*time.Hour).Format(time.RFC3339): store.SeverityWarning,
		"backup-failed veeam backup_job,backup_server=b1,job=Daily":             store.SeverityCritical,
		"backup-failed veeam backup_job,backup_server=b1,job=Monthly":           store.SeverityWarning,
		"backup-age veeam backup_job,backup_server=b1,job=Daily":                store.SeverityWarning,
		"backup-age veeam backup_job,backup_server=b1,job=Weekly":               store.SeverityCritical,
		"backup-age veeam backup_job,backup_server=b1,job=Monthly":              store.SeverityCritical,
		"agent-silent agent ":                                                   store.SeverityWarning,
	}
	gotSev := map[string]store.Severity{}
	for k, f := range got {
		gotSev[k] = f.Severity
	}
	require.Equal(t, want, gotSev)
	require.Len(t, opened, len(want))
	require.Len(t, notified, len(want), "every opened finding is passed on (webhooks)")

	text := func(k string) string { return got[k].Text }
	require.Equal(t, "Storage /volume2 is 97.0% full (critical at 95%)", text("storage-used nas storage,descr=/volume2"))
	require.Equal(t, "Storage /volume1 will be full in about 11 days (77.5% used, growing 2.00 points a day)",
		text("storage-forecast nas storage,descr=/volume1"))
	require.Equal(t, "os version DSM 7.1.1-42962 differs from DSM 7.2-64570 on 1 other asset of this model (Synology DS920+)",
		text("firmware-drift nas os_version"))
	require.Equal(t, "Health of system 1 is Critical", text("health esx server_health,system=1 health_code"))
	require.Equal(t, "Fans health of system 1 is Warning", text("health esx server_health,system=1 fans_health_code"))
	require.Contains(t, text("backup-failed veeam backup_job,backup_server=b1,job=Daily"), "The last run of backup job Daily failed (run at ")
	require.Contains(t, text("backup-age veeam backup_job,backup_server=b1,job=Weekly"), "The last successful run of backup job Weekly was 4 days ago")
	require.Equal(t, "Backup job Monthly has no successful run in the last 7 days", text("backup-age veeam backup_job,backup_server=b1,job=Monthly"))
	require.Contains(t, text("agent-silent agent "), "Agent branch-agent has sent nothing for 2 hours")
	require.Equal(t, h.branch.ID, got["agent-silent agent "].OUID)
	require.Equal(t, h.branch.ID, got["backup-failed veeam backup_job,backup_server=b1,job=Daily"].OUID)

	// Evaluating again changes nothing.
	opened, err = r.Evaluate(ctx, h.org.ID)
	require.NoError(t, err)
	require.Empty(t, opened)
	require.Len(t, h.open(t), len(want))

	// The organization's own rules: a maintenance window around esx's
	// reboot, storage only for the branch, firmware only for BIOS,
	// nothing about agents. What no longer holds is resolved.
	boot := h.now.Add(-3 * time.Hour).In(time.UTC)
	own := fmt.Sprintf(`rules:
  - {id: storage-used, kind: storage_used, warning: 40, assets: {ous: [%s]}}
  - id: unexpected-reboot
    kind: unexpected_reboot
    window_hours: 48
    maintenance: [{start: "%s", end: "%s", timezone: UTC}]
  - {id: firmware-drift, kind: firmware_drift, attributes: [bios_version]}
  - {id: backup-age, kind: backup_age, critical: 200, assets: {exclude: [%s]}}
  - {id: agent-silent, kind: agent_silent, warning: 30, disabled: true}
`, h.branch.ID, boot.Add(-time.Minute).Format("15:04"), boot.Add(time.Minute).Format("15:04"), h.assets["veeam"].ID)
	_, err = checkup.Parse([]byte(own))
	require.NoError(t, err)
	require.NoError(t, h.st.PutCheckupRules(ctx, store.CheckupRules{OrgID: h.org.ID, Doc: []byte(own), UpdatedBy: "t", UpdatedAt: h.now}))
	_, err = r.Evaluate(ctx, h.org.ID)
	require.NoError(t, err)
	gotSev = map[string]store.Severity{}
	for k, f := range h.open(t) {
		gotSev[k] = f.Severity
	}
	require.Equal(t, map[string]store.Severity{
		// nas2's pool (46.25%, falling) is in the branch; nas is not.
		"storage-used nas2 storage_pool,pool=pool1": store.SeverityWarning,
		// esx2's reboot 30 h ago now lies in the 48 h window.
		"unexpected-reboot esx2 " + h.now.Add(-30*time.Hour).Format(time.RFC3339): store.SeverityWarning,
	}, gotSev)
	all, err := h.st.Findings(ctx, store.FindingFilter{OrgID: h.org.ID, Agents: true})
	require.NoError(t, err)
	require.Len(t, all, len(want)+2, "resolved findings stay as history")

	// InfluxDB goes away: the evaluation fails and resolves nothing.
	h.influx.Stop()
	_, err = r.Evaluate(ctx, h.org.ID)
	require.ErrorContains(t, err, "check-ups of organization "+h.org.ID)
	require.Len(t, h.open(t), 2)
	require.NoError(t, h.st.PutCheckupRules(ctx, store.CheckupRules{OrgID: h.org.ID, Doc: []byte("rules: [{id: x, kind: nope}]")}))
	err = r.RunOnce(ctx)
	require.ErrorContains(t, err, `stored rules of organization `+h.org.ID)
	require.Len(t, h.open(t), 2)

	n, err := countMetric(reg, "kpilot_checkup_evaluations_total", "error")
	require.NoError(t, err)
	require.Equal(t, 2.0, n)
}

func countMetric(g prometheus.Gatherer, name, result string) (float64, error) {
	mfs, err := g.Gather()
	if err != nil {
		return 0, err
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == result {
					return m.GetCounter().GetValue(), nil
				}
			}
		}
	}
	return 0, nil
}

// TestCatalogThresholdsOverScriptedHistories: with no rules at all, the
// catalog's threshold on memory use finds esx's full memory in a real
// influxd; the organization's kpi_threshold rule then overrides it, and
// a disabled one turns it off.
func TestCatalogThresholdsOverScriptedHistories(t *testing.T) {
	h := newHistory(t)
	ctx := t.Context()
	sec, err := catalog.ReadSection([]byte(`
kpis:
  - measurement: memory
    name: {en: Memory}
    fields:
      used_percent: {name: {en: Memory used}, unit: percent, kind: gauge, thresholds: {warning: 90, critical: 98}}
`), "test")
	require.NoError(t, err)
	cat, err := catalog.New(catalog.User, sec)
	require.NoError(t, err)
	var asked []string
	r := checkup.NewRunner(h.st, h.ts, checkup.RuleSet{}, discard, nil, checkup.WithClock(func() time.Time { return h.now }),
		checkup.WithCatalogs(func(_ context.Context, org string) (*catalog.Catalog, error) {
			asked = append(asked, org)
			return cat, nil
		}))

	severities := func() map[string]string {
		out := map[string]string{}
		for k, f := range h.open(t) {
			out[k] = string(f.Severity) + ": " + f.Text
		}
		return out
	}
	_, err = r.Evaluate(ctx, h.org.ID)
	require.NoError(t, err)
	require.Equal(t, []string{h.org.ID}, asked, "the organization's own catalog")
	require.Equal(t, map[string]string{
		"kpi-thresholds esx memory,descr=RAM used_percent": "critical: Memory RAM: Memory used is 99 % (critical at 98 %)",
	}, severities(), "no rule: the catalog's threshold")

	own := `rules: [{id: memory, kind: kpi_threshold, kpi: memory.used_percent, warning: 99, critical: 99.5}]`
	require.NoError(t, h.st.PutCheckupRules(ctx, store.CheckupRules{OrgID: h.org.ID, Doc: []byte(own), UpdatedBy: "t", UpdatedAt: h.now}))
	_, err = r.Evaluate(ctx, h.org.ID)
	require.NoError(t, err)
	require.Equal(t, map[string]string{
		"memory esx memory,descr=RAM used_percent": "warning: Memory RAM: Memory used is 99 % (warning at 99 %)",
	}, severities(), "the rule overrides the catalog: the default's finding is resolved")

	own = `rules: [{id: memory, kind: kpi_threshold, kpi: memory.used_percent, disabled: true}]`
	require.NoError(t, h.st.PutCheckupRules(ctx, store.CheckupRules{OrgID: h.org.ID, Doc: []byte(own), UpdatedBy: "t", UpdatedAt: h.now}))
	_, err = r.Evaluate(ctx, h.org.ID)
	require.NoError(t, err)
	require.Empty(t, severities(), "a disabled rule turns the default off")

	// A catalog that cannot be read fails the evaluation and resolves
	// nothing.
	require.NoError(t, h.st.PutCheckupRules(ctx, store.CheckupRules{OrgID: h.org.ID})) // back to no rules
	_, err = r.Evaluate(ctx, h.org.ID)
	require.NoError(t, err)
	require.Len(t, severities(), 1)
	broken := checkup.NewRunner(h.st, h.ts, checkup.RuleSet{}, discard, nil, checkup.WithClock(func() time.Time { return h.now }),
		checkup.WithCatalogs(func(context.Context, string) (*catalog.Catalog, error) { return nil, errors.New("store away") }))
	_, err = broken.Evaluate(ctx, h.org.ID)
	require.ErrorContains(t, err, "KPI catalog: store away")
	require.Len(t, severities(), 1, "still open")
}
