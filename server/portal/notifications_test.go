package portal_test

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
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
