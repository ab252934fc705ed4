package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/store"
)

// upsKPIs is what an Acme agent sends from a user's own UPS profile: a
// battery status its user marked service data.
var upsKPIs = []byte(`[{"measurement": "ups", "name": {"en": "UPS"}, "fields": {
  "load_percent": {"name": {"en": "Load", "de": "Last"}, "unit": "percent", "kind": "gauge", "thresholds": {"warning": 70, "critical": 90}},
  "battery_status": {"name": {"en": "Battery"}, "kind": "state", "class": "service",
    "states": {"1": {"name": {"en": "OK"}, "severity": "ok"}, "2": {"name": {"en": "Low"}, "severity": "critical"}}}}}]`)

// enrollAgent enrolls an agent into org's root OU and returns its credential.
func (w *world) enrollAgent(org string) string {
	w.t.Helper()
	tok, hash := auth.NewToken(auth.PrefixEnrollment)
	now := time.Now()
	o := w.orgs[org]
	require.NoError(w.t, w.store.CreateEnrollmentToken(w.t.Context(), store.EnrollmentToken{TokenHash: hash,
		OrgID: o.ID, OUID: o.RootOU, CreatedBy: "test", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	cred, credHash := auth.NewToken(auth.PrefixAgent)
	a := store.Agent{Name: "ups-agent", TokenHash: credHash}
	require.NoError(w.t, w.store.EnrollAgent(w.t.Context(), auth.Hash(tok), now, &a))
	return cred
}

// latestFields returns measurement.field → definition of each series of
// the caller's GET latest of asset key.
func latestFields(t *testing.T, w *world, caller, key string) map[string]map[string]any {
	t.Helper()
	r := w.do(caller, "GET", "/api/v1/assets/"+w.assets[key].ID+"/latest", nil)
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	out := map[string]map[string]any{}
	for _, s := range r.body["series"].([]any) {
		m := s.(map[string]any)
		def, _ := m["definition"].(map[string]any)
		out[m["measurement"].(string)+"."+m["field"].(string)] = def
	}
	return out
}

// TestAgentKPIDefinitions: an agent's definitions name its organization's
// series in the API, and their data class keeps service data from
// resellers.
func TestAgentKPIDefinitions(t *testing.T) {
	influx := devenv.Influx(t)
	w := newWorldInflux(t, influx)
	cred := w.enrollAgent("acme")

	r := w.do(cred, "PUT", "/api/v1/agents/self/kpis", []byte(`[{"measurement": "ups", "fields": {"x": {"name": {"en": "X"}, "unit": "furlongs", "kind": "gauge"}}}]`))
	require.Equal(t, http.StatusBadRequest, r.code, "%s", r.raw)
	require.Contains(t, r.body["error"], `unit "furlongs" unknown`)
	r = w.do(cred, "PUT", "/api/v1/agents/self/kpis", upsKPIs)
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	require.EqualValues(t, 2, r.body["definitions"])
	r = w.do("acme_admin", "PUT", "/api/v1/agents/self/kpis", upsKPIs)
	require.Equal(t, http.StatusUnauthorized, r.code, "a user is no agent")

	now := time.Now().Add(-time.Minute).UnixNano()
	tags := "asset=" + w.assets["a_root"].SeriesID
	require.NoError(t, w.tsdb.Write(t.Context(), []byte(strings.Join([]string{
		fmt.Sprintf("ups,%s load_percent=40,battery_status=2i %d", tags, now),
		fmt.Sprintf("custom,%s value=1 %d", tags, now),
	}, "\n"))))

	owner := latestFields(t, w, "acme_admin", "a_root")
	require.Equal(t, map[string]any{"name": map[string]any{"en": "Load", "de": "Last"}, "unit": "percent", "kind": "gauge",
		"thresholds": map[string]any{"warning": 70.0, "critical": 90.0}}, owner["ups.load_percent"])
	require.Equal(t, "state", owner["ups.battery_status"]["kind"])
	require.Equal(t, map[string]any{"name": map[string]any{"en": "Low"}, "severity": "critical"},
		owner["ups.battery_status"]["states"].(map[string]any)["2"])
	require.Contains(t, owner, "custom.value")
	require.Nil(t, owner["custom.value"], "an undefined field has a null definition")

	reseller := latestFields(t, w, "r1_admin", "a_root")
	require.NotContains(t, reseller, "ups.battery_status", "service data of the customer's catalog is hidden from a reseller")
	require.Equal(t, "percent", reseller["ups.load_percent"]["unit"], "a reseller reads the customer's definitions of what it sees")
	r = w.do("r1_admin", "GET", "/api/v1/assets/"+w.assets["a_root"].ID+"/series?measurement=ups&field=battery_status&start=-1h", nil)
	require.Equal(t, http.StatusForbidden, r.code, "%s", r.raw)
	r = w.do("r1_admin", "GET", "/api/v1/assets/"+w.assets["a_root"].ID+"/series?measurement=ups&field=load_percent&start=-1h", nil)
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	require.Contains(t, string(r.raw), `"unit": "percent"`)

	service := latestFields(t, w, "s1_admin", "a_root")
	require.Equal(t, "state", service["ups.battery_status"]["kind"], "a service partner sees service data")
	r = w.do("s1_admin", "GET", "/api/v1/assets/"+w.assets["a_root"].ID+"/series?measurement=ups&field=battery_status&start=-1h", nil)
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	require.Contains(t, string(r.raw), `"severity": "critical"`)

	scrape := func(caller string) string {
		tok := w.do(caller, "POST", "/api/v1/api-tokens", map[string]any{"name": "prometheus"})
		require.Equal(t, http.StatusCreated, tok.code, "%s", tok.raw)
		r := w.do(tok.body["token"].(string), "GET", "/api/v1/metrics", nil)
		require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
		return string(r.raw)
	}
	require.NotContains(t, scrape("r1_admin"), "battery_status", "nor in the Prometheus exposition")
	require.Contains(t, scrape("r1_admin"), "kpilot_ups_load_ratio", "the agent's percent field, named by its definition")
	require.Contains(t, scrape("s1_admin"), "battery_status")

	defined := func(caller string) map[string]bool {
		r := w.do(caller, "GET", "/api/v1/kpis", nil)
		require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
		out := map[string]bool{}
		for _, d := range r.body["definitions"].([]any) {
			m := d.(map[string]any)
			out[m["measurement"].(string)+"."+m["field"].(string)] = m["built_in"].(bool)
		}
		return out
	}
	acme := defined("acme_admin")
	require.Contains(t, acme, "ups.battery_status")
	require.False(t, acme["ups.battery_status"], "sent by an agent, not built in")
	require.Contains(t, defined("acme_viewer"), "ups.load_percent")
	for _, caller := range []string{"r1_admin", "s1_admin", "globex_admin"} {
		require.NotContains(t, defined(caller), "ups.load_percent", "%s gets no other organization's agents' definitions", caller)
	}
}
