package portal_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server"
)

// A viewer subscribes (a form without events gets the API's message at
// the events), sees the subscription, which no one else sees, and
// unsubscribes; the page reads in German too.
func TestNotificationsPage(t *testing.T) {
	s := newSite(t)
	viewer := s.browser()
	viewer.login("viewer@acme.example")
	p := viewer.get("/notifications")
	require.Equal(t, http.StatusOK, p.code, p.body)
	require.Contains(t, p.body, "No subscriptions yet.")

	p = viewer.post("/notifications/subscriptions", url.Values{"digest": {"daily"}})
	require.Equal(t, http.StatusBadRequest, p.code, p.body)
	require.Contains(t, p.body, `<p class="field-err" id="sub-events-err">1 to 20 of`)

	viewer.get("/notifications")
	p = viewer.post("/notifications/subscriptions", url.Values{"events": {"finding.opened", "finding.resolved"},
		"min_severity": {"critical"}, "digest": {"daily"}, "language": {"de"}})
	require.Equal(t, http.StatusOK, p.code, p.body)
	require.Contains(t, p.body, "You are subscribed.")
	require.Contains(t, p.body, "<td>Finding opened, Finding resolved</td><td>Critical</td>")
	require.Contains(t, p.body, "Daily digest")
	id := regexp.MustCompile(`action="/notifications/subscriptions/([^/"]+)/delete"`).FindStringSubmatch(p.body)
	require.NotNil(t, id)

	admin := s.browser()
	admin.login("admin@acme.example")
	p = admin.get("/notifications")
	require.Contains(t, p.body, "No subscriptions yet.", "a subscription is its user's own")
	require.Equal(t, http.StatusNotFound, admin.post("/notifications/subscriptions/"+id[1]+"/delete", nil).code)

	viewer.get("/notifications?lang=de")
	p = viewer.post("/notifications/subscriptions/"+id[1]+"/delete", nil)
	require.Contains(t, p.body, "Das Abonnement wurde gelöscht.")
	require.Contains(t, p.body, "Noch keine Abonnements.")
}

// An admin adds channels: the API's messages show at their fields (an
// address that is none, a digest for Slack, an OU that is not the
// organization's, a repeat interval out of range); an email channel
// lists its addresses; a webhook's secret is shown once; a test to a
// receiver that answers 500 shows failed with its answer. A viewer and
// a partner change nothing.
func TestNotificationChannelsPage(t *testing.T) {
	s := newSite(t, func(c *server.Config) {
		c.Webhooks.AllowedNetworks = []string{"127.0.0.0/8"}
		c.Webhooks.MaxAttempts = 1 // the first failure is the last
	})
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "receiver down", http.StatusInternalServerError)
	}))
	t.Cleanup(recv.Close)
	admin := s.browser()
	admin.login("admin@acme.example")

	tests := []struct {
		name     string
		form     url.Values
		wantCode int
		want     string
	}{
		{"not an address", url.Values{"kind": {"email"}, "addresses": {"ops@acme.example, not-an-address"}, "events": {"finding.opened"}},
			http.StatusBadRequest, `is not an email address like ops@example.com</p>`},
		{"digest for slack", url.Values{"kind": {"slack"}, "url": {"https://hooks.slack.example/services/T/B/x"}, "events": {"finding.opened"},
			"digest": {"daily"}}, http.StatusBadRequest, `<p class="field-err" id="ch-digest-err">for email only</p>`},
		{"other OU", url.Values{"kind": {"teams"}, "url": {"https://teams.example/workflows/x"}, "events": {"finding.opened"},
			"ou_id": {"not-an-ou"}}, http.StatusBadRequest, `<p class="field-err" id="ch-ou-err">no such organization unit</p>`},
		{"email", url.Values{"kind": {"email"}, "addresses": {"ops@acme.example\nnoc@acme.example"}, "events": {"finding.opened", "asset.down"},
			"digest": {"daily"}, "categories": {"storage"}, "language": {"de"}}, http.StatusOK, "Email: ops@acme.example, noc@acme.example"},
		{"webhook", url.Values{"kind": {"webhook"}, "url": {recv.URL + "/hook"}, "events": {"finding.opened"}}, http.StatusOK,
			`id="webhook-secret">kpwh_`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			admin.get("/notifications")
			p := admin.post("/notifications/channels", tt.form)
			require.Equal(t, tt.wantCode, p.code, p.body)
			require.Contains(t, p.body, tt.want)
		})
	}
	p := admin.get("/notifications")
	require.NotContains(t, p.body, "kpwh_", "the secret is shown once")
	require.Contains(t, p.body, "Categories: Storage")
	require.Contains(t, p.body, "Delivery: Daily digest")

	p = admin.post("/notifications/settings", url.Values{"repeat_every": {"5m0s"}})
	require.Equal(t, http.StatusBadRequest, p.code, p.body)
	require.Contains(t, p.body, `<p class="field-err" id="repeat_every-err">0 (no repeats) or from 15m to 168h`)

	hook := regexp.MustCompile(`<section class="card channel" aria-labelledby="c-([^"]+)" id="channel-[^"]+">\s*<h3[^>]*>Webhook:`).FindStringSubmatch(p.body)
	require.NotNil(t, hook)
	p = admin.post("/notifications/channels/"+hook[1]+"/test", nil)
	require.Contains(t, p.body, "A test message is on its way")
	failed := regexp.MustCompile(`<tr class="delivery state-failed"><td>Test message</td><td>Failed</td><td>[^<]+</td><td>1</td>\s*<td>HTTP 500`)
	for deadline := time.Now().Add(2 * time.Minute); !failed.MatchString(p.body); {
		require.True(t, time.Now().Before(deadline), "the delivery never showed failed: %s", p.body)
		time.Sleep(200 * time.Millisecond)
		p = admin.get("/notifications")
	}

	viewer := s.browser()
	viewer.login("viewer@acme.example")
	p = viewer.get("/notifications")
	require.Contains(t, p.body, "ops@acme.example")
	require.NotContains(t, p.body, `action="/notifications/channels`)
	require.NotContains(t, p.body, `id="repeat-form"`)
	require.Equal(t, http.StatusForbidden, viewer.post("/notifications/channels", tests[3].form).code)
	require.Equal(t, http.StatusForbidden, viewer.post("/notifications/channels/"+hook[1]+"/delete", url.Values{"confirm": {"yes"}}).code)
	require.Equal(t, http.StatusForbidden, viewer.post("/notifications/settings", url.Values{"repeat_every": {"1h0m0s"}}).code)

	partner := s.browser()
	partner.login("admin@r1.example")
	p = partner.get("/notifications")
	require.Equal(t, http.StatusOK, p.code, "a partner has the page, for its own organization")
	require.NotContains(t, p.body, "ops@acme.example")
	require.Equal(t, http.StatusNotFound, partner.post("/notifications/channels/"+hook[1]+"/delete", url.Values{"confirm": {"yes"}}).code)

	admin.get("/notifications?lang=de")
	p = admin.post("/notifications/channels/"+hook[1]+"/delete", nil)
	require.Equal(t, http.StatusBadRequest, p.code)
	require.Contains(t, p.body, "Kreuzen Sie das Kästchen zur Bestätigung an.")
	p = admin.post("/notifications/channels/"+hook[1]+"/delete", url.Values{"confirm": {"yes"}})
	require.Contains(t, p.body, "Der Kanal wurde gelöscht.")
	require.NotContains(t, p.body, recv.URL)
}

// A user edits a subscription: the form shows its settings, and saving
// replaces them; a wrong event gets the API's message at the events.
func TestSubscriptionEdit(t *testing.T) {
	s := newSite(t)
	viewer := s.browser()
	viewer.login("viewer@acme.example")
	viewer.get("/notifications")
	p := viewer.post("/notifications/subscriptions", url.Values{"events": {"finding.opened"}, "min_severity": {"critical"}})
	require.Contains(t, p.body, "You are subscribed.")
	id := regexp.MustCompile(`href="/notifications\?edit=([^#"]+)#sub-form"`).FindStringSubmatch(p.body)
	require.NotNil(t, id)
	p = viewer.get("/notifications?edit=" + id[1])
	require.Contains(t, p.body, "Edit the subscription")
	require.Contains(t, p.body, `action="/notifications/subscriptions/`+id[1]+`"`)
	require.Contains(t, p.body, `<option value="critical" selected>`)
	require.Contains(t, p.body, `value="finding.opened" checked`)
	p = viewer.post("/notifications/subscriptions/"+id[1], url.Values{"events": {"finding.opened", "asset.down"},
		"min_severity": {"warning"}, "categories": {"storage"}, "digest": {"hourly"}})
	require.Contains(t, p.body, "The subscription was saved.")
	require.Contains(t, p.body, "<td>Asset down, Finding opened</td><td>Warning</td>")
	require.Contains(t, p.body, "<td>Storage</td>")
	require.Contains(t, p.body, "Hourly digest")
	// A category the form does not offer (set through the API) shows as
	// it is and stays ticked when the subscription is edited.
	p = viewer.post("/notifications/subscriptions/"+id[1], url.Values{"events": {"finding.opened"}, "categories": {"storage", "ups-room"}})
	require.Contains(t, p.body, "<td>Storage, ups-room</td>")
	p = viewer.get("/notifications?edit=" + id[1])
	require.Contains(t, p.body, `value="ups-room" checked> ups-room</label>`)
	p = viewer.post("/notifications/subscriptions/"+id[1], url.Values{"events": {"finding.nope"}})
	require.Equal(t, http.StatusBadRequest, p.code)
	require.Contains(t, p.body, `<p class="field-err" id="sub-events-err">&#34;finding.nope&#34; is not an event`)
}
