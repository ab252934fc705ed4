package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// sessionToken is the browser's session cookie, which is its API token.
func (b *browser) sessionToken() string {
	u, err := url.Parse(b.site.url)
	require.NoError(b.t, err)
	for _, c := range b.c.Jar.Cookies(u) {
		if strings.Contains(c.Name, "session") {
			return c.Value
		}
	}
	b.t.Fatal("no session cookie")
	return ""
}

func TestFindingsAndReportsPages(t *testing.T) {
	s := newSite(t)
	ctx := t.Context()
	acme := s.orgs["acme"]
	now := time.Now()
	require.NoError(t, s.store.CreateEnrollmentToken(ctx, store.EnrollmentToken{TokenHash: "portal-th", OrgID: acme.ID, OUID: acme.RootOU,
		CreatedBy: "t", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	ag := store.Agent{Name: "portal-agent", TokenHash: "portal-cred"}
	require.NoError(t, s.store.EnrollAgent(ctx, "portal-th", now, &ag))
	require.NoError(t, s.store.TouchAgent(ctx, ag.ID, "1.0", now.Add(-3*time.Hour)))

	admin := s.browser()
	admin.login("admin@acme.example")
	req, err := http.NewRequest("POST", s.url+"/api/v1/checkups/run", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+admin.sessionToken())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	p := admin.get("/findings")
	require.Equal(t, http.StatusOK, p.code, p.body)
	require.Contains(t, p.body, "Agent portal-agent has sent nothing for 3 hours")
	require.Contains(t, p.body, `class="badge warning"`)
	require.Contains(t, p.body, "/acknowledge", "an admin of the organization may acknowledge")
	id := strings.Split(strings.Split(p.body, `action="/findings/`)[1], "/")[0]
	p = admin.post("/findings/"+id+"/acknowledge", url.Values{"note": {"Agent host is being replaced"}})
	require.Equal(t, http.StatusOK, p.code, p.body)
	p = admin.get("/findings")
	require.Contains(t, p.body, "Agent host is being replaced")
	require.Contains(t, p.body, "admin@acme.example")

	viewer := s.browser()
	viewer.login("viewer@acme.example")
	p = viewer.get("/findings")
	require.Contains(t, p.body, "Agent portal-agent")
	require.NotContains(t, p.body, `action="/findings/`, "viewers read only")

	partner := s.browser()
	partner.login("admin@r1.example")
	p = partner.get("/findings")
	require.Equal(t, http.StatusOK, p.code)
	require.NotContains(t, p.body, "portal-agent", "a partner sees no customer's agents")

	// Reports download through the portal with the session.
	p = admin.get("/reports")
	require.Contains(t, p.body, `href="/reports/capacity/download?format=pdf"`)
	p = admin.get("/reports/inventory/download?format=csv")
	require.Equal(t, http.StatusOK, p.code, p.body)
	require.Equal(t, "text/csv; charset=utf-8", p.header.Get("Content-Type"))
	require.Contains(t, p.header.Get("Content-Disposition"), "kpilot-inventory-")
	require.Contains(t, p.body, "Acme ESX")
	require.NotContains(t, p.body, "Globex Secret Switch")
	p = admin.get("/reports/secrets/download")
	require.Equal(t, http.StatusNotFound, p.code)
	anon := s.browser()
	p = anon.get("/reports/inventory/download?format=csv")
	require.Equal(t, "/login", p.url, "signed out: no report")
}
