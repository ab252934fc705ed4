package portal_test

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

var (
	newToken    = regexp.MustCompile(`id="new-token">(kpt_[A-Za-z0-9_-]+)<`)
	deleteToken = regexp.MustCompile(`action="(/tokens/[^"/]+/delete)"`)
)

// TestAPITokensInThePortal: a user makes an API token on /tokens, sees it
// once, finds it listed by name, and deletes it there; the API then
// refuses it.
func TestAPITokensInThePortal(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.login("viewer@acme.example")
	require.Contains(t, b.get("/tokens").body, "No API tokens.")

	p := b.post("/tokens", url.Values{"name": {"grafana"}, "ttl": {"720h"}})
	require.Equal(t, http.StatusOK, p.code, "%s", p.body)
	m := newToken.FindStringSubmatch(p.body)
	require.NotNil(t, m, "the new token is shown: %s", p.body)
	tok := m[1]
	require.Equal(t, http.StatusOK, apiGet(t, s.url, tok), "the token reads the API")

	list := b.get("/tokens")
	require.Contains(t, list.body, "<td>grafana</td>")
	require.NotContains(t, list.body, tok, "shown once only")
	del := deleteToken.FindAllStringSubmatch(list.body, -1)
	require.Len(t, del, 1)

	p = b.post(del[0][1], nil)
	require.Equal(t, http.StatusOK, p.code, "%s", p.body)
	require.Contains(t, p.body, "The API token was deleted.")
	require.Contains(t, p.body, "No API tokens.")
	require.Equal(t, http.StatusUnauthorized, apiGet(t, s.url, tok), "a deleted token is refused")
}

func apiGet(t *testing.T, base, token string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/api/v1/assets", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}
