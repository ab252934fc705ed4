package portal_test

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// An admin registers a webhook (its secret is shown once), sees the
// API's messages at the URL and events fields, sends a test event and
// deletes the webhook; a viewer reads but cannot change; a partner
// does not reach the customer's webhook.
func TestWebhooksPage(t *testing.T) {
	s := newSite(t)
	admin := s.browser()
	admin.login("admin@acme.example")
	p := admin.get("/webhooks")
	require.Equal(t, http.StatusOK, p.code, p.body)
	require.Contains(t, p.body, "No webhooks yet.")

	tests := []struct {
		name     string
		form     url.Values
		wantCode int
		want     string
	}{
		{"not http", url.Values{"url": {"ftp://hooks.example.com/"}, "events": {"finding.opened"}}, http.StatusBadRequest,
			`<p class="field-err" id="hook-url-err">an http:// or https:// URL</p>`},
		{"no events", url.Values{"url": {"https://hooks.example.com/kpilot"}}, http.StatusBadRequest, `<p class="field-err" id="events-err">1 to 20 of`},
		{"registered", url.Values{"url": {"https://hooks.example.com/kpilot"}, "events": {"finding.opened", "sharing.*"},
			"description": {"Ticket system"}}, http.StatusOK, `id="webhook-secret">kpwh_`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			admin.get("/webhooks")
			p := admin.post("/webhooks", tt.form)
			require.Equal(t, tt.wantCode, p.code, p.body)
			require.Contains(t, p.body, tt.want)
		})
	}
	p = admin.get("/webhooks")
	require.NotContains(t, p.body, "kpwh_", "the secret is shown once")
	require.Contains(t, p.body, "finding.opened, sharing.*")
	id := regexp.MustCompile(`action="/webhooks/([^/"]+)/ping"`).FindStringSubmatch(p.body)
	require.NotNil(t, id)
	p = admin.post("/webhooks/"+id[1]+"/ping", nil)
	require.Contains(t, p.body, "A test event is on its way")
	require.Regexp(t, `<td>ping</td><td>(Pending|Delivered|Failed)</td>`, p.body)

	viewer := s.browser()
	viewer.login("viewer@acme.example")
	p = viewer.get("/webhooks")
	require.Contains(t, p.body, "https://hooks.example.com/kpilot")
	require.NotContains(t, p.body, `action="/webhooks"`)
	require.NotContains(t, p.body, "/delete")
	require.Equal(t, http.StatusForbidden, viewer.post("/webhooks", url.Values{"url": {"https://x.example/"}, "events": {"*"}}).code)
	require.Equal(t, http.StatusForbidden, viewer.post("/webhooks/"+id[1]+"/delete", nil).code)

	partner := s.browser()
	partner.login("admin@r1.example")
	p = partner.get("/webhooks")
	require.NotContains(t, p.body, "hooks.example.com")
	require.Equal(t, http.StatusNotFound, partner.post("/webhooks/"+id[1]+"/delete", nil).code)

	admin.get("/webhooks?lang=de")
	p = admin.post("/webhooks/"+id[1]+"/delete", nil)
	require.Contains(t, p.body, "Der Webhook wurde gelöscht.")
	require.Contains(t, p.body, "Noch keine Webhooks.")
}

// An admin replaces the default check-up rules with its own document;
// a wrong document is refused with the API's message at the document and
// the text kept; resetting goes back to the defaults; a viewer and a
// partner cannot change the customer's rules.
func TestCheckupRulesPage(t *testing.T) {
	s := newSite(t)
	admin := s.browser()
	admin.login("admin@acme.example")
	p := admin.get("/checkup-rules")
	require.Equal(t, http.StatusOK, p.code, p.body)
	require.Contains(t, p.body, "The server&#39;s default rules")
	require.Contains(t, p.body, "# kpilot&#39;s default check-ups", "the document in force is in the editor")

	bad := "rules:\n  - {id: x, kind: nope}\n"
	p = admin.post("/checkup-rules", url.Values{"rules": {bad}})
	require.Equal(t, http.StatusBadRequest, p.code)
	require.Regexp(t, `<p class="field-err" id="rules-doc-err">[^<]*rule 1 \(x\): kind &#34;nope&#34;`, p.body)
	require.Contains(t, p.body, "{id: x, kind: nope}", "what was typed stays")

	good := "# ours\nrules:\n  - id: full\n    kind: storage_used\n    warning: 70.5\n    critical: 90\n"
	p = admin.post("/checkup-rules", url.Values{"rules": {good}})
	require.Equal(t, http.StatusOK, p.code, p.body)
	require.Contains(t, p.body, "The check-up rules were saved")
	require.Contains(t, p.body, "own rules, last changed by admin@acme.example")
	require.Contains(t, p.body, `<td class="num">70.5</td><td class="num">90</td>`)
	p = admin.get("/checkup-rules?lang=de")
	require.Contains(t, p.body, `<td class="num">70,5</td>`, "German numbers")

	viewer := s.browser()
	viewer.login("viewer@acme.example")
	p = viewer.get("/checkup-rules")
	require.Contains(t, p.body, "<code>full</code>")
	require.NotContains(t, p.body, `action="/checkup-rules"`)
	require.Equal(t, http.StatusForbidden, viewer.post("/checkup-rules", url.Values{"rules": {good}}).code)
	require.Equal(t, http.StatusForbidden, viewer.post("/checkup-rules/reset", nil).code)
	partner := s.browser()
	partner.login("admin@r1.example")
	p = partner.get("/checkup-rules")
	require.NotContains(t, p.body, "<code>full</code>", "a partner's rules are its own")

	admin.get("/checkup-rules?lang=en")
	p = admin.post("/checkup-rules/reset", nil)
	require.Contains(t, p.body, "uses the server&#39;s default rules again")
}
