package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNotificationChannelsAPI: an admin of the whole organization adds an
// email channel and a Teams channel; the Teams URL (its secret) is never
// answered; internal addresses, a digest on Teams and bad addresses are
// refused; a test send reaches the real SMTP server and its delivery
// shows with its attempt; others' channels are not found.
func TestNotificationChannelsAPI(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"internal address", map[string]any{"kind": "teams", "url": "http://169.254.169.254/x", "events": []string{"*"}}, "not allowed"},
		{"digest on teams", map[string]any{"kind": "teams", "url": "https://example.webhook.office.com/w", "events": []string{"*"}, "digest": "daily"}, "for email only"},
		{"bad address", map[string]any{"kind": "email", "addresses": []string{"ops@example.com, x@y"}, "events": []string{"*"}}, "not an email address"},
		{"sharing event on slack", map[string]any{"kind": "slack", "url": "https://hooks.slack.example/s", "events": []string{"sharing.*"}}, "not an event"},
		{"unknown kind", map[string]any{"kind": "pager", "events": []string{"*"}}, "one of webhook, teams, slack, email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.do("acme_admin", "POST", "/api/v1/notification-channels", tc.body)
			require.Equal(t, http.StatusBadRequest, r.code, "%s", r.raw)
			require.Contains(t, string(r.raw), tc.want)
		})
	}

	teams := w.do("acme_admin", "POST", "/api/v1/notification-channels", map[string]any{"kind": "teams",
		"url": "https://prod.westeurope.logic.azure.example/workflows/abc/triggers/manual/paths/invoke?sig=SECRET", "events": []string{"asset.*"}})
	require.Equal(t, http.StatusCreated, teams.code, "%s", teams.raw)
	require.Equal(t, "https://prod.westeurope.logic.azure.example/…", teams.body["url"])
	list := w.do("acme_viewer", "GET", "/api/v1/notification-channels", nil)
	require.Equal(t, http.StatusOK, list.code)
	require.NotContains(t, string(list.raw), "SECRET", "a Teams URL is a secret")

	email := w.do("acme_admin", "POST", "/api/v1/notification-channels", map[string]any{"kind": "email",
		"addresses": []string{"ops@acme.example"}, "events": []string{"finding.*"}, "language": "de"})
	require.Equal(t, http.StatusCreated, email.code, "%s", email.raw)
	id := email.body["id"].(string)
	require.Equal(t, []any{"ops@acme.example"}, email.body["addresses"])
	require.Equal(t, http.StatusAccepted, w.do("acme_admin", "POST", "/api/v1/notification-channels/"+id+"/test", nil).code)
	require.NoError(t, w.hooks.SendDue(t.Context()))
	m := w.smtp.Wait(t, 1)
	require.Equal(t, []string{"ops@acme.example"}, m.To)
	require.Equal(t, "kpilot: Test", m.Subject)
	require.True(t, strings.Contains(m.Body, "Testbenachrichtigung"), m.Body)
	ds := w.do("branch_admin", "GET", "/api/v1/notification-channels/"+id+"/deliveries", nil)
	require.Equal(t, http.StatusOK, ds.code)
	d := ds.body["deliveries"].([]any)[0].(map[string]any)
	require.Equal(t, "delivered", d["state"])
	require.Len(t, d["attempts"], 1)

	for _, c := range []string{"globex_admin", "s1_admin", "r4_admin"} {
		require.Equal(t, http.StatusNotFound, w.do(c, "GET", "/api/v1/notification-channels/"+id, nil).code, c)
	}
	require.Equal(t, http.StatusForbidden, w.do("branch_admin", "DELETE", "/api/v1/notification-channels/"+id, nil).code)
	require.Equal(t, http.StatusNotFound, w.do("acme_admin", "GET", "/api/v1/webhooks/"+id+"/deliveries", nil).code,
		"a channel is not a webhook of the webhooks endpoints")
}

// TestSubscriptionsAPI: each user manages their own subscriptions; no one
// else reads or changes them.
func TestSubscriptionsAPI(t *testing.T) {
	w := newWorld(t)
	r := w.do("s1_admin", "POST", "/api/v1/me/subscriptions", map[string]any{"events": []string{"finding.opened", "finding.resolved"},
		"min_severity": "critical", "digest": "hourly"})
	require.Equal(t, http.StatusCreated, r.code, "%s", r.raw)
	require.Equal(t, "email", r.body["kind"])
	id := r.body["id"].(string)
	mine := w.do("s1_admin", "GET", "/api/v1/me/subscriptions", nil)
	require.Len(t, mine.body["subscriptions"], 1)
	require.Equal(t, http.StatusNotFound, w.do("acme_admin", "DELETE", "/api/v1/me/subscriptions/"+id, nil).code)
	require.Equal(t, http.StatusNotFound, w.do("acme_admin", "GET", "/api/v1/notification-channels/"+id, nil).code,
		"a subscription is no organization channel")
	bad := w.do("s1_admin", "PUT", "/api/v1/me/subscriptions/"+id, map[string]any{"kind": "slack", "url": "https://hooks.slack.example/x", "events": []string{"*"}})
	require.Equal(t, http.StatusBadRequest, bad.code)
	require.Contains(t, string(bad.raw), "subscriptions are email to your own address")
	require.Equal(t, http.StatusNoContent, w.do("s1_admin", "DELETE", "/api/v1/me/subscriptions/"+id, nil).code)

	set := w.do("acme_admin", "PUT", "/api/v1/notification-settings", map[string]string{"repeat_every": "4h"})
	require.Equal(t, http.StatusOK, set.code, "%s", set.raw)
	require.Equal(t, "4h0m0s", w.do("acme_viewer", "GET", "/api/v1/notification-settings", nil).body["repeat_every"])
	require.Equal(t, http.StatusBadRequest, w.do("acme_admin", "PUT", "/api/v1/notification-settings", map[string]string{"repeat_every": "1m"}).code)
}
