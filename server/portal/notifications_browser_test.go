package portal_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server"
)

// TestNotificationsInChromium: Acme's admin adds a Slack channel in
// Chromium (a URL that is none gets the API's message at the field), the
// page shows its host only; "Send test" reaches an HTTP receiver on
// 127.0.0.1 and the delivery shows delivered with its attempt. The admin
// edits the channel, sets the repeat interval and deletes the channel
// after ticking the confirmation. A viewer sees the channels without any
// form, and subscribes to critical findings by email.
func TestNotificationsInChromium(t *testing.T) {
	s := newSite(t, func(c *server.Config) { c.Webhooks.AllowedNetworks = []string{"127.0.0.0/8"} })
	shots := newShooter(t)
	received := make(chan map[string]any, 10)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &body); err != nil {
			body = map[string]any{"unparsed": string(raw)}
		}
		body["path"] = r.URL.Path
		received <- body
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(recv.Close)
	slackURL := recv.URL + "/services/T000/B000/secretpath"

	var errs []string
	admin := chromeTab(t, s, &errs)
	admin.login("admin@acme.example")
	admin.open("/notifications?lang=en")
	require.Contains(t, admin.text("main"), "No channels yet.")

	admin.run(chromedp.SetValue("#ch-kind", "slack", chromedp.ByID), chromedp.SetValue("#ch-url", "not a url", chromedp.ByID),
		chromedp.Click(`#ch-form input[name="events"][value="finding.opened"]`, chromedp.ByQuery),
		chromedp.Click(`#ch-form input[name="events"][value="finding.resolved"]`, chromedp.ByQuery))
	admin.submit("#ch-form")
	require.Contains(t, admin.text("#ch-url-err"), "an http:// or https:// URL", "the API's message at its field")
	var kind string
	admin.run(chromedp.Value("#ch-kind", &kind, chromedp.ByID))
	require.Equal(t, "slack", kind, "the form keeps what was entered")

	admin.run(chromedp.SetValue("#ch-url", slackURL, chromedp.ByID), chromedp.SetValue("#ch-sev", "warning", chromedp.ByID),
		chromedp.SetValue("#ch-desc", "NOC channel", chromedp.ByID))
	admin.submit("#ch-form")
	require.Contains(t, admin.text(".flash.ok"), "The channel was added.")
	card := admin.text(".channel h3")
	require.Contains(t, card, "Slack: "+recv.URL+"/…", "the host only")
	require.NotContains(t, admin.text("body"), "secretpath", "a Slack URL is a secret")
	require.Contains(t, admin.text(".channel .meta"), "Finding opened, Finding resolved")
	require.Contains(t, admin.text(".channel .meta"), "Minimum severity: Warning")
	var id string
	admin.run(chromedp.Evaluate(`document.querySelector("section.channel").id.replace("channel-", "")`, &id))
	require.NotEmpty(t, id)

	admin.submit("#channel-" + id + " .test-form")
	require.Contains(t, admin.text(".flash.ok"), "A test message is on its way")
	select {
	case body := <-received:
		require.Equal(t, "/services/T000/B000/secretpath", body["path"], "sent to the whole secret URL")
	case <-time.After(2 * time.Minute):
		t.Fatal("the receiver got no test message")
	}
	// The delivery is stored as delivered right after the answer; the
	// page shows it from then on.
	for deadline := time.Now().Add(2 * time.Minute); ; {
		admin.open("/notifications?lang=en")
		if admin.exists("#channel-" + id + " tr.delivery.state-delivered") {
			break
		}
		require.True(t, time.Now().Before(deadline), "the delivery never showed delivered: %s", admin.text("#channel-"+id))
		time.Sleep(200 * time.Millisecond)
	}
	row := admin.text("#channel-" + id + " tr.delivery")
	require.Contains(t, row, "Test message")
	require.Contains(t, row, "Delivered")
	require.Contains(t, row, "HTTP 200")
	require.Equal(t, "1", admin.text("#channel-"+id+" tr.delivery td:nth-child(4)"), "one attempt")

	admin.run(chromedp.SetValue("#repeat_every", "4h0m0s", chromedp.ByID))
	admin.submit("#repeat-form")
	require.Contains(t, admin.text(".flash.ok"), "The repeat interval was saved.")
	var every string
	admin.run(chromedp.Value("#repeat_every", &every, chromedp.ByID))
	require.Equal(t, "4h0m0s", every)
	settings, err := s.store.NotificationSettings(t.Context(), s.orgs["acme"].ID)
	require.NoError(t, err)
	require.Equal(t, 4*time.Hour, settings.RepeatEvery)
	admin.run(shots.shot("notifications"))

	// Edit: a Slack URL is entered again (the page never has it).
	admin.follow(chromedp.Click("#channel-"+id+" a.edit-channel", chromedp.ByQuery), chromedp.WaitReady("main", chromedp.ByQuery))
	require.Contains(t, admin.text("#ch-form-h"), "Edit the channel")
	var url, sev string
	admin.run(chromedp.Value("#ch-url", &url, chromedp.ByID), chromedp.Value("#ch-sev", &sev, chromedp.ByID))
	require.Empty(t, url)
	require.Equal(t, "warning", sev, "the form shows the channel's settings")
	admin.run(chromedp.SetValue("#ch-url", slackURL, chromedp.ByID), chromedp.SetValue("#ch-sev", "critical", chromedp.ByID))
	admin.submit("#ch-form")
	require.Contains(t, admin.text(".flash.ok"), "The channel was saved.")
	require.Contains(t, admin.text("#channel-"+id+" .meta"), "Minimum severity: Critical")

	// A viewer sees the channel and its deliveries, without forms, and
	// subscribes to critical findings by email.
	viewer := chromeTab(t, s, &errs)
	viewer.login("viewer@acme.example")
	viewer.open("/notifications?lang=en")
	require.Contains(t, viewer.text("#channel-"+id+" h3"), "Slack: "+recv.URL)
	require.Contains(t, viewer.text("#channel-"+id), "Delivered")
	for _, sel := range []string{"#ch-form", ".test-form", ".delete-form", "a.edit-channel", "#repeat-form"} {
		require.False(t, viewer.exists(sel), "a viewer has no %s", sel)
	}
	require.Contains(t, viewer.text("#repeat-current"), "4 hours")
	viewer.run(chromedp.Click(`#sub-form input[name="events"][value="finding.opened"]`, chromedp.ByQuery),
		chromedp.SetValue("#sub-sev", "critical", chromedp.ByID))
	viewer.submit("#sub-form")
	require.Contains(t, viewer.text(".flash.ok"), "You are subscribed.")
	sub := viewer.text("tr.subscription")
	require.Contains(t, sub, "Finding opened")
	require.Contains(t, sub, "Critical")
	require.Contains(t, sub, "At once")
	viewer.run(shots.shot("notifications-viewer"))

	// Delete, with the confirmation.
	admin.open("/notifications?lang=en")
	admin.submit("#delete-" + id)
	require.Contains(t, admin.text("#delete-"+id+" .confirm-err"), "Tick the box to confirm.")
	admin.run(chromedp.Click("#delete-"+id+` input[name="confirm"]`, chromedp.ByQuery))
	admin.submit("#delete-" + id)
	require.Contains(t, admin.text(".flash.ok"), "The channel was deleted.")
	require.Contains(t, admin.text("main"), "No channels yet.")
	require.False(t, strings.Contains(admin.text("main"), "NOC channel"))
	require.Empty(t, errs)
}
