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
	// The 2-second delay runs from the fifth failure, which was counted
	// before its password check (bcrypt: up to a second on a busy host
	// with -race), so what is left of it may have been rounded up to 1.
	wait := p.header.Get("Retry-After")
	require.Contains(t, []string{"1", "2"}, wait)
	require.Contains(t, p.body, "Too many attempts. Try again in "+wait+" second")
	p = b.post("/login?lang=de", url.Values{"email": {"viewer@acme.example"}, "password": {password}})
	require.Equal(t, http.StatusTooManyRequests, p.code)
	require.Contains(t, p.body, "Zu viele Versuche. Versuchen Sie es in")
	b.login("admin@acme.example")
}
