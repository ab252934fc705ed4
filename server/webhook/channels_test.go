package webhook

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// TestEveryChannelKindReceivesItsFormat: one asset goes down; the Teams
// Workflows URL gets an Adaptive Card in a message envelope, Slack text
// and blocks, the webhook its signed envelope, and every address of the
// email channels a mail in its language whose subject names severity,
// event, asset and finding and whose body links to the asset's page.
func TestEveryChannelKindReceivesItsFormat(t *testing.T) {
	f := newFixture(t, Options{})
	teams, slack, hook := newReceiver(t, 202), newReceiver(t, 200), newReceiver(t, 204)
	f.channel(store.Webhook{Kind: store.KindTeams, URL: "display", Secret: teams.URL + "/workflows/x", Events: []string{"asset.down"}})
	f.channel(store.Webhook{Kind: store.KindSlack, URL: "display", Secret: slack.URL + "/services/T/B/x", Events: []string{"asset.down"}})
	f.channel(store.Webhook{Kind: store.KindWebhook, URL: hook.URL, Secret: "kpwh_s", Events: []string{"asset.down"}})
	en := f.channel(store.Webhook{Kind: store.KindEmail, URL: "mailto:ops@example.com,noc@example.com", Events: []string{"asset.down"}})
	f.channel(store.Webhook{Kind: store.KindEmail, URL: "mailto:technik@example.de", Events: []string{"asset.down"}, Language: "de"})

	f.evaluate(down(f.a1))
	f.send()

	link := publicURL + "/assets/" + f.a1.ID
	require.Len(t, teams.got(), 1)
	tb := teams.got()[0]
	require.Equal(t, "message", tb["type"])
	att := tb["attachments"].([]any)[0].(map[string]any)
	require.Equal(t, "application/vnd.microsoft.card.adaptive", att["contentType"])
	card := att["content"].(map[string]any)
	require.Equal(t, "AdaptiveCard", card["type"])
	require.Equal(t, "1.4", card["version"])
	require.Contains(t, card["body"].([]any)[0].(map[string]any)["text"], "[Critical] Asset down: db-01 – not reachable for 10 minutes")
	require.Equal(t, link, card["actions"].([]any)[0].(map[string]any)["url"])

	require.Len(t, slack.got(), 1)
	sb := slack.got()[0]
	require.Equal(t, "[Critical] Asset down: db-01 – not reachable for 10 minutes", sb["text"])
	blocks := sb["blocks"].([]any)
	require.Equal(t, "section", blocks[0].(map[string]any)["type"])
	require.Contains(t, blocks[len(blocks)-1].(map[string]any)["elements"].([]any)[0].(map[string]any)["text"], "<"+link+"|")

	require.Len(t, hook.got(), 1)
	require.Equal(t, "asset.down", hook.got()[0]["event"])
	require.NotEmpty(t, hook.hdrs[0].Get(HeaderSignature), "webhooks stay signed")
	require.Empty(t, teams.hdrs[0].Get(HeaderSignature), "Teams gets no signature header")

	f.smtp.Wait(t, 3)
	byTo := map[string]int{}
	for _, m := range f.smtp.Messages() {
		require.Len(t, m.To, 1)
		byTo[m.To[0]]++
		require.Contains(t, m.Body, link, "the text links to the asset")
		require.Contains(t, m.HTML, `<a href="`+link+`">`, "the HTML links to the asset")
		if m.To[0] == "technik@example.de" {
			require.Equal(t, "[Kritisch] Gerät nicht erreichbar: db-01 – not reachable for 10 minutes", m.Subject)
			require.Contains(t, m.Body, "Gerät in kpilot öffnen")
		} else {
			require.Equal(t, "[Critical] Asset down: db-01 – not reachable for 10 minutes", m.Subject)
			require.Contains(t, m.Body, "Customer: Acme")
		}
	}
	require.Equal(t, map[string]int{"ops@example.com": 1, "noc@example.com": 1, "technik@example.de": 1}, byTo)
	ds := f.deliveries(en)["asset.down"]
	require.Len(t, ds, 2, "one delivery per address")
	for _, v := range ds {
		require.Equal(t, store.DeliveryDelivered, v.State)
	}
}

// TestFailingChannelsAreRetriedAndShownFailed: a receiver answering 500,
// one that hangs, a mail server that is down and an internal address
// each fail with their reason, are retried, and end failed (never
// dropped); a working channel is delivered in the same round.
func TestFailingChannelsAreRetriedAndShownFailed(t *testing.T) {
	// The attempt timeout bounds the hanging receiver; it is no limit the
	// test measures.
	f := newFixture(t, Options{MaxAttempts: 2, Timeout: 500 * time.Millisecond})
	broken := newReceiver(t, 500)
	hang := make(chan struct{})
	hanging := newReceiver(t, 200)
	hanging.Config.Handler = hangHandler(hang)
	t.Cleanup(func() { close(hang) }) // before the receiver closes
	ok := newReceiver(t, 200)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadSMTP := ln.Addr().String()
	require.NoError(t, ln.Close())

	c500 := f.channel(store.Webhook{Kind: store.KindSlack, URL: "d", Secret: broken.URL, Events: []string{"finding.opened"}})
	cHang := f.channel(store.Webhook{Kind: store.KindTeams, URL: "d", Secret: hanging.URL, Events: []string{"finding.opened"}})
	cOK := f.channel(store.Webhook{Kind: store.KindSlack, URL: "d", Secret: ok.URL, Events: []string{"finding.opened"}})
	cMail := f.channel(store.Webhook{Kind: store.KindEmail, URL: "mailto:ops@example.com", Events: []string{"finding.opened"}})
	f.d.opts.Mail = mustSMTP(t, deadSMTP)
	// Link-local (cloud metadata): refused at connect time.
	cRefused := f.channel(store.Webhook{Kind: store.KindTeams, URL: "d", Secret: "http://169.254.169.254/latest/meta-data", Events: []string{"finding.opened"}})

	f.evaluate(full(f.a1))
	f.send()
	require.Len(t, ok.got(), 1, "the working channel is delivered whatever the others do")
	for _, c := range []store.Webhook{c500, cHang, cMail, cRefused} {
		v := f.deliveries(c)["finding.opened"][0]
		require.Equal(t, store.DeliveryPending, v.State, "%s: retried", c.Kind)
		require.Equal(t, 1, v.Attempts)
		require.True(t, v.NextAttemptAt.After(f.now), "%s: later", c.Kind)
	}
	f.now = f.now.Add(2 * time.Hour)
	f.send()
	want := map[string]string{c500.ID: "HTTP 500", cHang.ID: "deadline exceeded", cMail.ID: "connection refused", cRefused.ID: "address not allowed"}
	for _, c := range []store.Webhook{c500, cHang, cMail, cRefused} {
		v := f.deliveries(c)["finding.opened"][0]
		require.Equal(t, store.DeliveryFailed, v.State, "%s: given up and shown", c.Kind)
		require.Equal(t, 2, v.Attempts)
		require.Contains(t, v.LastError, want[c.ID], c.Kind)
		atts, err := f.st.Attempts(t.Context(), v.ID)
		require.NoError(t, err)
		require.Len(t, atts, 2, "every attempt is kept")
	}
	require.Equal(t, store.DeliveryDelivered, f.deliveries(cOK)["finding.opened"][0].State)
	require.Empty(t, f.smtp.Messages())
}
