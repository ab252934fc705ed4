package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// TestRemovedUserLosesSessionsAndTokens: removing a user from an
// organization (DELETE /api/v1/users/{id}) ends its sessions and API
// tokens there at once, for good: they answer 401, and stay dead when the
// user is added again. Other users' tokens go on working.
func TestRemovedUserLosesSessionsAndTokens(t *testing.T) {
	w := newWorld(t)
	token := func(caller, name string) string {
		r := w.do(caller, "POST", "/api/v1/api-tokens", map[string]string{"name": name})
		require.Equal(t, http.StatusCreated, r.code, "%s", r.raw)
		return r.body["token"].(string)
	}
	viewerTok, adminTok := token("acme_viewer", "viewer-script"), token("acme_admin", "admin-script")
	for _, c := range []string{"acme_viewer", viewerTok, adminTok} {
		require.Equal(t, http.StatusOK, w.do(c, "GET", "/api/v1/assets", nil).code, "before the removal")
	}

	require.Equal(t, http.StatusNoContent, w.do("acme_admin", "DELETE", "/api/v1/users/"+w.users["acme_viewer"], nil).code)
	for name, c := range map[string]string{"session": "acme_viewer", "API token": viewerTok} {
		r := w.do(c, "GET", "/api/v1/assets", nil)
		require.Equal(t, http.StatusUnauthorized, r.code, "the removed user's %s: %s", name, r.raw)
	}
	require.Equal(t, http.StatusOK, w.do(adminTok, "GET", "/api/v1/assets", nil).code, "another user's token works on")

	// Added again (by a new invitation, say), the user starts afresh: the
	// old token does not come back.
	acme := w.orgs["acme"]
	require.NoError(t, w.store.AddMembership(t.Context(), store.Membership{UserID: w.users["acme_viewer"], OrgID: acme.ID,
		OUID: acme.RootOU, Role: store.Viewer}))
	require.Equal(t, http.StatusUnauthorized, w.do(viewerTok, "GET", "/api/v1/assets", nil).code, "the token was deleted, not suspended")
}
