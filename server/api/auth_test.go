package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/store"
)

func (e *env) user(email string, org store.Organization, ou string, role store.Role) {
	e.t.Helper()
	hash, err := auth.HashPassword("correct-horse-battery")
	require.NoError(e.t, err)
	u := store.User{Email: email, PasswordHash: hash}
	require.NoError(e.t, e.store.CreateUser(e.t.Context(), &u))
	require.NoError(e.t, e.store.AddMembership(e.t.Context(), store.Membership{UserID: u.ID, OrgID: org.ID, OUID: ou, Role: role}))
}

func (e *env) call(method, path, token string, body any) (int, map[string]any) {
	e.t.Helper()
	var buf bytes.Buffer
	if body != nil {
		require.NoError(e.t, json.NewEncoder(&buf).Encode(body))
	}
	req, err := http.NewRequest(method, e.url+path, &buf)
	require.NoError(e.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (e *env) login(email string) string {
	e.t.Helper()
	code, out := e.call(http.MethodPost, "/api/v1/login", "", map[string]string{"email": email, "password": "correct-horse-battery"})
	require.Equal(e.t, http.StatusOK, code, "%v", out)
	return out["token"].(string)
}

func TestLoginAndSessions(t *testing.T) {
	e := newEnv(t, nil, "http://127.0.0.1:1")
	e.user("admin@acme.example", e.org, e.org.RootOU, store.Admin)

	for name, body := range map[string]map[string]string{
		"wrong password": {"email": "admin@acme.example", "password": "wrong-password-123"},
		"unknown user":   {"email": "nobody@acme.example", "password": "correct-horse-battery"},
	} {
		code, out := e.call(http.MethodPost, "/api/v1/login", "", body)
		require.Equal(t, http.StatusUnauthorized, code, name)
		require.Equal(t, "wrong email or password", out["error"], "%s: the answer does not tell which part was wrong", name)
	}
	code, _ := e.call(http.MethodPost, "/api/v1/login", "", map[string]any{"email": "x", "password": "y", "extra": 1})
	require.Equal(t, http.StatusBadRequest, code, "unknown fields are refused")

	tok := e.login("ADMIN@acme.example")
	code, me := e.call(http.MethodGet, "/api/v1/me", tok, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "admin", me["role"])

	code, _ = e.call(http.MethodPost, "/api/v1/logout", tok, nil)
	require.Equal(t, http.StatusNoContent, code)
	code, _ = e.call(http.MethodGet, "/api/v1/me", tok, nil)
	require.Equal(t, http.StatusUnauthorized, code, "a logged-out session is dead")

	code, _ = e.call(http.MethodGet, "/api/v1/me", e.cred, nil)
	require.Equal(t, http.StatusUnauthorized, code, "an agent credential is not a user session")
}

func TestEnrollmentTokens(t *testing.T) {
	e := newEnv(t, nil, "http://127.0.0.1:1")
	e.user("admin@acme.example", e.org, e.branch.ID, store.Admin)
	e.user("viewer@acme.example", e.org, e.org.RootOU, store.Viewer)
	other := store.Organization{Name: "Other", Kind: store.Customer}
	require.NoError(t, e.store.CreateOrganization(t.Context(), &other))

	admin, viewer := e.login("admin@acme.example"), e.login("viewer@acme.example")

	code, _ := e.call(http.MethodPost, "/api/v1/enrollment-tokens", viewer, nil)
	require.Equal(t, http.StatusForbidden, code, "viewers are read-only")

	code, _ = e.call(http.MethodPost, "/api/v1/enrollment-tokens", admin, map[string]string{"ou_id": e.org.RootOU})
	require.Equal(t, http.StatusNotFound, code, "a branch admin cannot enroll into the parent OU")
	code, _ = e.call(http.MethodPost, "/api/v1/enrollment-tokens", admin, map[string]string{"ou_id": other.RootOU})
	require.Equal(t, http.StatusNotFound, code, "nor into another organization")
	code, _ = e.call(http.MethodPost, "/api/v1/enrollment-tokens", admin, map[string]string{"ttl": "30d"})
	require.Equal(t, http.StatusBadRequest, code)

	code, out := e.call(http.MethodPost, "/api/v1/enrollment-tokens", admin, map[string]string{"ttl": "10m"})
	require.Equal(t, http.StatusCreated, code, "%v", out)
	require.Equal(t, e.branch.ID, out["ou_id"])
	token := out["token"].(string)

	code, first := e.call(http.MethodPost, "/api/v1/agents/enroll", "", map[string]string{"token": token, "name": "site-a"})
	require.Equal(t, http.StatusCreated, code, "%v", first)
	require.Regexp(t, `^kpa_`, first["credential"])
	code, _ = e.call(http.MethodPost, "/api/v1/agents/enroll", "", map[string]string{"token": token, "name": "site-b"})
	require.Equal(t, http.StatusUnauthorized, code, "single use")
	code, _ = e.call(http.MethodPost, "/api/v1/agents/enroll", "", map[string]string{"token": "kpe_guess"})
	require.Equal(t, http.StatusUnauthorized, code)

	// The credential names the agent to itself (kpilot-agent check), and
	// nothing else gets through that endpoint.
	code, self := e.call(http.MethodGet, "/api/v1/agents/self", first["credential"].(string), nil)
	require.Equal(t, http.StatusOK, code, "%v", self)
	require.Equal(t, first["agent_id"], self["agent_id"])
	require.Equal(t, "site-a", self["name"])
	require.Equal(t, e.branch.ID, self["ou_id"])
	for name, tok := range map[string]string{"anonymous": "", "user session": admin, "guess": "kpa_guess"} {
		code, _ = e.call(http.MethodGet, "/api/v1/agents/self", tok, nil)
		require.Equal(t, http.StatusUnauthorized, code, name)
	}
}

func TestAssetVisibility(t *testing.T) {
	e := newEnv(t, nil, "http://127.0.0.1:1")
	e.user("root@acme.example", e.org, e.org.RootOU, store.Viewer)
	e.user("branch@acme.example", e.org, e.branch.ID, store.Viewer)
	sibling := store.OU{OrgID: e.org.ID, ParentID: e.org.RootOU, Name: "Sibling"}
	require.NoError(t, e.store.CreateOU(t.Context(), &sibling))
	e.user("sibling@acme.example", e.org, sibling.ID, store.Admin)
	other := store.Organization{Name: "Other", Kind: store.Customer}
	require.NoError(t, e.store.CreateOrganization(t.Context(), &other))
	e.user("admin@other.example", other, other.RootOU, store.Admin)

	ag, err := e.store.AgentByTokenHash(t.Context(), auth.Hash(e.cred))
	require.NoError(t, err)
	asset, err := e.store.EnsureAsset(t.Context(), ag, "branch-switch", nil, 0)
	require.NoError(t, err)

	tests := []struct {
		email    string
		wantSees bool
	}{
		{"root@acme.example", true},
		{"branch@acme.example", true},
		{"sibling@acme.example", false},
		{"admin@other.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			tok := e.login(tt.email)
			code, list := e.call(http.MethodGet, "/api/v1/assets", tok, nil)
			require.Equal(t, http.StatusOK, code)
			code, _ = e.call(http.MethodGet, "/api/v1/assets/"+asset.ID, tok, nil)
			if tt.wantSees {
				require.Len(t, list["assets"], 1)
				require.Equal(t, http.StatusOK, code)
			} else {
				require.Empty(t, list["assets"])
				require.Equal(t, http.StatusNotFound, code)
				// Invisible assets never reach the time-series backend
				// (which is unreachable here and would answer 503).
				code, _ = e.call(http.MethodGet, "/api/v1/assets/"+asset.ID+"/latest", tok, nil)
				require.Equal(t, http.StatusNotFound, code)
			}
		})
	}
}
