package portal_test

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
)

// writeLines stores line-protocol points in the site's influxd, as
// ingest writes them; {asset} in a line stands for the asset tag of as.
func (s *site) writeLines(as store.Asset, lines ...string) {
	s.t.Helper()
	ts := tsdb.New(tsdb.Options{URL: s.influx.URL, Bucket: s.influx.Bucket, Timeout: 10 * time.Second})
	defer ts.Close()
	text := strings.ReplaceAll(strings.Join(lines, "\n"), "{asset}", tsdb.AssetTag+"="+as.SeriesID)
	require.NoError(s.t, ts.Write(s.t.Context(), []byte(text+"\n")))
}

// A down asset and one whose credentials were rejected say why, in the
// asset list and on the asset page; rejected credentials are a
// monitoring problem, not "Down".
func TestAssetsSayWhyTheyAreDownOrNotMonitored(t *testing.T) {
	s := newSite(t)
	esx, nas := s.assets["Acme ESX"], s.assets["Acme NAS"]
	now := time.Now().Truncate(time.Second)
	const unreachable = "no answer from 10.0.0.5:161 within 10s: is it reachable, and is the community or v3 user right?"
	const rejected = "HTTP 401 Unauthorized from https://10.0.0.6/redfish/v1: is the BMC user or password right?"
	s.writeLines(esx, fmt.Sprintf(`agent_poll,{asset},collector=esx_snmp up=false,outcome=2i,message=%q,duration_seconds=10 %d`, unreachable, now.UnixNano()))
	s.writeLines(nas, fmt.Sprintf(`agent_poll,{asset},collector=nas_bmc up=true,outcome=3i,message=%q,duration_seconds=0.2 %d`, rejected, now.UnixNano()))
	require.NoError(t, s.store.SetAssetPolls(t.Context(), []store.AssetPoll{{AssetID: esx.ID, At: now, Up: false}, {AssetID: nas.ID, At: now, Up: true}}))

	b := s.browser()
	b.login("admin@acme.example")
	// The row (dashboard item, table row) of an asset on a page.
	row := func(body string, as store.Asset) string {
		m := regexp.MustCompile(`(?s)/assets/` + as.ID + `".*?</(li|tr)>`).FindString(body)
		require.NotEmpty(t, m, "no row of %s", as.Name)
		return html.UnescapeString(m)
	}
	for _, path := range []string{"/?lang=en", "/config/assets"} {
		p := b.get(path)
		require.Equal(t, http.StatusOK, p.code, p.body)
		require.Contains(t, row(p.body, esx), `st-down`, path)
		require.Contains(t, row(p.body, esx), "Unreachable: "+unreachable, path)
		require.Contains(t, row(p.body, nas), `st-problem`, path)
		require.Contains(t, row(p.body, nas), ">Monitoring problem<", path)
		require.Contains(t, row(p.body, nas), "Credentials rejected: "+rejected, path)
	}
	require.Contains(t, b.get("/").body, "2 assets: 0 up, 1 down, 0 without recent data, 1 with a monitoring problem.")

	p := b.get("/assets/" + nas.ID)
	text := html.UnescapeString(p.body)
	require.Contains(t, text, `<span class="st st-problem">Monitoring problem</span>`)
	require.Contains(t, text, "Latest poll: ")
	require.Contains(t, text, ">Credentials rejected</span> · by nas_bmc · <time>"+now.UTC().Format("2006-01-02 15:04")+" UTC</time>")
	require.Contains(t, text, rejected)
	p = b.get("/assets/" + esx.ID + "?lang=de")
	text = html.UnescapeString(p.body)
	require.Contains(t, text, `<span class="st st-down">Ausgefallen</span>`)
	require.Contains(t, text, ">Nicht erreichbar</span> · durch esx_snmp")
	require.Contains(t, text, unreachable)
}

// testDefinitions are Acme's own KPI definitions, as its agent sends them
// from a user's profile: the portal's tests do not depend on the
// built-in ones.
const testDefinitions = `[{"measurement": "testdev", "name": {"en": "Test device", "de": "Testgerät"}, "fields": {
  "mem_used_bytes": {"name": {"en": "Test memory used", "de": "Testspeicher belegt"}, "unit": "bytes", "kind": "gauge", "class": "all"},
  "rx_octets": {"name": {"en": "Test received", "de": "Test empfangen"}, "unit": "bytes", "kind": "counter", "class": "all"},
  "tx_octets": {"name": {"en": "Test sent", "de": "Test gesendet"}, "unit": "bytes", "kind": "counter", "class": "all"},
  "power_state": {"name": {"en": "Test power", "de": "Testversorgung"}, "kind": "state", "class": "all",
    "states": {"1": {"name": {"en": "Powered on", "de": "Eingeschaltet"}, "severity": "ok"}, "2": {"name": {"en": "Powered off", "de": "Ausgeschaltet"}, "severity": "critical"}}},
  "fan_health": {"name": {"en": "Secret fan health", "de": "Geheimer Lüfterzustand"}, "kind": "state", "class": "service",
    "states": {"1": {"name": {"en": "Fan fine", "de": "Lüfter gut"}, "severity": "ok"}, "3": {"name": {"en": "Fan failed", "de": "Lüfter ausgefallen"}, "severity": "critical"}}}
}}]`

// defineKPIs sends defs as the KPI definitions of an agent of the
// organization, as the agent does (PUT /api/v1/agents/self/kpis).
func (s *site) defineKPIs(orgKey, defs string) {
	s.t.Helper()
	ctx, o, now := s.t.Context(), s.orgs[orgKey], time.Now()
	tok, hash := auth.NewToken(auth.PrefixEnrollment)
	require.NoError(s.t, s.store.CreateEnrollmentToken(ctx, store.EnrollmentToken{TokenHash: hash, OrgID: o.ID, OUID: o.RootOU,
		CreatedBy: "test", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	cred, credHash := auth.NewToken(auth.PrefixAgent)
	ag := store.Agent{Name: orgKey + "-agent", TokenHash: credHash}
	require.NoError(s.t, s.store.EnrollAgent(ctx, auth.Hash(tok), now, &ag))
	req, err := http.NewRequestWithContext(ctx, "PUT", s.url+"/api/v1/agents/self/kpis", strings.NewReader(defs))
	require.NoError(s.t, err)
	req.Header.Set("Authorization", "Bearer "+cred)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(s.t, http.StatusOK, resp.StatusCode, "%s", body)
}

// chartsOf reads the charts a page hands its script.
func chartsOf(t *testing.T, body string) []struct {
	Title  string       `json:"title"`
	Unit   string       `json:"unit"`
	Values [][]*float64 `json:"values"`
} {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="chart-data">(.*?)</script>`).FindStringSubmatch(body)
	require.NotNil(t, m, body)
	var out []struct {
		Title  string       `json:"title"`
		Unit   string       `json:"unit"`
		Values [][]*float64 `json:"values"`
	}
	require.NoError(t, json.Unmarshal([]byte(m[1]), &out))
	return out
}

// The asset page names charts and values as the catalog of the asset's
// organization does, in the user's language and with their units;
// counters are drawn as their rate, states listed by their names, and a
// reseller never sees the name of a service-only field.
func TestAssetPageShowsKPIsByTheCatalog(t *testing.T) {
	s := newSite(t)
	s.defineKPIs("acme", testDefinitions)
	esx := s.assets["Acme ESX"]
	now := time.Now().Truncate(time.Minute)
	var lines []string
	for i := range 30 {
		at := now.Add(-time.Duration(i) * time.Minute)
		// 8 GiB used; 2 KiB/s received (the agent's rate); 600 bytes a minute sent.
		lines = append(lines, fmt.Sprintf("testdev,{asset} mem_used_bytes=8589934592,rx_octets=%d,rx_octets_per_second=2048,tx_octets=%d,power_state=1i,fan_health=3i %d",
			1e9+2048*60*(30-i), 600*(30-i), at.UnixNano()))
	}
	s.writeLines(esx, lines...)
	require.NoError(t, s.store.SetAssetPolls(t.Context(), []store.AssetPoll{{AssetID: esx.ID, At: now, Up: true}}))
	g := store.Grant{AssetID: esx.ID, CustomerOrgID: esx.OrgID, PartnerOrgID: s.orgs["r1"].ID, Kind: store.GrantSystemKey, GrantedBy: "test"}
	require.NoError(t, s.store.CreateGrant(t.Context(), &g))

	owner := s.browser()
	owner.login("admin@acme.example")
	p := owner.get("/assets/" + esx.ID + "?range=1h&lang=en")
	require.Equal(t, http.StatusOK, p.code, p.body)
	text := html.UnescapeString(p.body)
	charts := map[string][][]*float64{}
	for _, c := range chartsOf(t, p.body) {
		charts[c.Title] = c.Values
		require.Contains(t, text, "<figcaption>"+c.Title+"</figcaption>")
	}
	require.Len(t, charts, 3, "memory, and the two counters' rates: %v", charts)
	require.Contains(t, charts, "Test memory used (GiB)")
	require.Equal(t, 8.0, *charts["Test memory used (GiB)"][0][0], "bytes drawn in GiB")
	require.Contains(t, charts, "Test received per second (KiB/s)", "the agent's rate series, in its unit")
	require.Equal(t, 2.0, *charts["Test received per second (KiB/s)"][0][0])
	sent := charts["Test sent per second (B/s)"]
	require.NotEmpty(t, sent, "a counter without a rate series is drawn as its rate")
	n := 0
	for _, v := range sent[0] {
		if v != nil {
			require.InDelta(t, 10.0, *v, 1e-9, "600 bytes a minute")
			n++
		}
	}
	require.GreaterOrEqual(t, n, 20)
	// The latest values, by name, in their units; states by their names.
	for _, want := range []string{">Test memory used</a>", "8.0 GiB", ">Powered on<", "Test power", ">Fan failed<", "Secret fan health"} {
		require.Contains(t, text, want)
	}
	for title := range charts {
		require.NotContains(t, title, "power", "a state is not a chart: it is a timeline, on request")
	}

	p = owner.get("/assets/" + esx.ID + "?range=1h&lang=de")
	text = html.UnescapeString(p.body)
	for _, want := range []string{"Testspeicher belegt (GiB)", "8,0 GiB", "Test gesendet pro Sekunde (B/s)", ">Eingeschaltet<", "Geheimer Lüfterzustand"} {
		require.Contains(t, text, want)
	}

	reseller := s.browser()
	reseller.login("admin@r1.example")
	p = reseller.get("/assets/" + esx.ID + "?range=1h&lang=en")
	require.Equal(t, http.StatusOK, p.code, p.body)
	text = html.UnescapeString(p.body)
	require.Contains(t, text, "Test memory used (GiB)", "a reseller sees KPIs")
	require.Contains(t, text, ">Powered on<")
	for _, secret := range []string{"Secret fan health", "Fan failed", "fan_health"} {
		require.NotContains(t, text, secret, "service data is not a reseller's")
	}
	// Asking for the field by its key draws nothing of it (the key is in
	// the page's own links, as the reseller typed it).
	p = reseller.get("/assets/" + esx.ID + "?range=1h&lang=en&kpi=testdev.fan_health")
	require.Equal(t, http.StatusOK, p.code, p.body)
	require.NotContains(t, p.body, "Secret fan health")
	require.NotContains(t, p.body, "Fan failed")
	for _, c := range chartsOf(t, p.body) {
		require.NotContains(t, c.Title, "fan")
	}
}

var uuidText = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// The audit log names who did what by email and by the asset's name,
// not by ids.
func TestAuditLogNamesWhoAndWhat(t *testing.T) {
	s := newSite(t)
	admin := s.browser()
	admin.login("admin@acme.example")
	admin.get("/config/assets")
	p := admin.post("/config/assets", url.Values{"name": {"Acme Printer 7"}, "category": {"printer"}, "ou_id": {s.orgs["acme"].RootOU}})
	require.Equal(t, http.StatusOK, p.code, p.body)
	audit := admin.get("/audit?lang=en")
	require.Equal(t, http.StatusOK, audit.code)
	row := regexp.MustCompile(`(?s)<tr><td>[^<]*</td><td><code>asset\.create</code></td>.*?</tr>`).FindString(audit.body)
	require.NotEmpty(t, row, audit.body)
	require.Contains(t, row, "admin@acme.example", "who: the user's email")
	require.Contains(t, row, "Asset: Acme Printer 7", "what: the asset's name")
	require.NotRegexp(t, uuidText, row, "no bare ids")

	// A partner's user uses the asset's system key: the customer's log
	// names the partner.
	key := regexp.MustCompile(`kpsk_[A-Za-z0-9_-]{43}`).FindString(admin.get("/assets/" + s.assets["Acme ESX"].ID + "?key=show").body)
	require.NotEmpty(t, key)
	partner := s.browser()
	partner.login("admin@r1.example")
	partner.get("/partner/systems/assign")
	p = partner.post("/partner/systems/assign", url.Values{"system_key": {key}, "step": {"assign"}})
	require.Equal(t, http.StatusOK, p.code, p.body)
	audit = admin.get("/audit?lang=en")
	row = regexp.MustCompile(`(?s)<tr><td>[^<]*</td><td><code>system_key\.use</code></td>.*?</tr>`).FindString(audit.body)
	require.NotEmpty(t, row, audit.body)
	require.Contains(t, row, "Reseller One", "who: the partner")
	require.Contains(t, row, "Asset: Acme ESX")
	require.NotRegexp(t, uuidText, row)
}

// A chart draws the thresholds the organization's check-up rules set for
// the asset instead of the catalog's; a disabled rule removes them.
func TestChartThresholdsFollowCheckupRules(t *testing.T) {
	s := newSite(t)
	esx, nas := s.assets["Acme ESX"], s.assets["Acme NAS"]
	now := time.Now().Truncate(time.Minute)
	for _, a := range []store.Asset{esx, nas} {
		var lines []string
		for i := range 10 {
			at := now.Add(-time.Duration(i) * time.Minute).UnixNano()
			lines = append(lines, fmt.Sprintf("memory,{asset} used_percent=70 %d", at), fmt.Sprintf("temperature,{asset},descr=Inlet celsius=30 %d", at))
		}
		s.writeLines(a, lines...)
	}
	rules := `rules:
  - {id: small-memory, kind: kpi_threshold, kpi: memory.used_percent, warning: 75, critical: 80, assets: {categories: [server]}}
  - {id: no-memory-alarms, kind: kpi_threshold, kpi: memory.used_percent, disabled: true, assets: {ids: [` + nas.ID + `]}}
  - {id: hot-lab, kind: kpi_threshold, kpi: temperature.celsius, warning: 35, critical: 45}
`
	require.NoError(t, s.store.PutCheckupRules(t.Context(), store.CheckupRules{OrgID: s.orgs["acme"].ID, Doc: []byte(rules), UpdatedBy: "test", UpdatedAt: now}))
	admin := s.browser()
	admin.login("admin@acme.example")
	lines := func(a store.Asset, title string) []float64 {
		p := admin.get("/assets/" + a.ID + "?range=1h&lang=en&kpi=" + map[string]string{"Memory usage (%)": "memory.used_percent", "Temperature (°C)": "temperature.celsius"}[title])
		require.Equal(t, http.StatusOK, p.code, p.body)
		m := regexp.MustCompile(`(?s)<script type="application/json" id="chart-data">(.*?)</script>`).FindStringSubmatch(p.body)
		require.NotNil(t, m)
		var cs []struct {
			Title string `json:"title"`
			Lines []struct {
				Value float64 `json:"value"`
			} `json:"lines"`
		}
		require.NoError(t, json.Unmarshal([]byte(m[1]), &cs))
		require.Len(t, cs, 1)
		require.Equal(t, title, cs[0].Title)
		var out []float64
		for _, l := range cs[0].Lines {
			out = append(out, l.Value)
		}
		return out
	}
	require.Equal(t, []float64{75, 80}, lines(esx, "Memory usage (%)"), "the rule's, on a server")
	require.Empty(t, lines(nas, "Memory usage (%)"), "a disabled rule removes the catalog's")
	require.Equal(t, []float64{35, 45}, lines(nas, "Temperature (°C)"), "a rule gives a KPI the catalog has none for")
}
