package portal_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLoginWaitIsShown: after the free failures of an address for an
// account, the login page answers 429 with Retry-After and says when to
// try again, in the reader's language; another account is not held up.
func TestLoginWaitIsShown(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	for i := range 5 {
		p := b.post("/login", url.Values{"email": {"viewer@acme.example"}, "password": {"wrong-password-1"}})
		require.Equal(t, http.StatusUnauthorized, p.code, "failure %d: %s", i+1, p.body)
	}
	p := b.post("/login", url.Values{"email": {"viewer@acme.example"}, "password": {password}})
	require.Equal(t, http.StatusTooManyRequests, p.code, "%s", p.body)
	require.Equal(t, "2", p.header.Get("Retry-After"))
	require.Contains(t, p.body, "Too many attempts. Try again in 2 seconds.")
	p = b.post("/login?lang=de", url.Values{"email": {"viewer@acme.example"}, "password": {password}})
	require.Equal(t, http.StatusTooManyRequests, p.code)
	require.Contains(t, p.body, "Zu viele Versuche. Versuchen Sie es in")
	b.login("admin@acme.example")
}
