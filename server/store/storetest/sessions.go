package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// sessionTests cover store.Sessions: browser sessions and API tokens.
var sessionTests = []test{
	{"SessionsExpire", testSessionsExpire},
	{"APITokens", testAPITokens},
	{"EndUserAccess", testEndUserAccess},
}

// testEndUserAccess: a password reset ends the user's sessions and API
// tokens in every organization, and nobody else's.
func testEndUserAccess(t *testing.T, s store.Store) {
	ctx := t.Context()
	o, o2 := newOrg(t, s, "Acme"), newOrg(t, s, "Globex")
	u := user(t, s, "u@example.com", o, store.Admin)
	require.NoError(t, s.AddMembership(ctx, store.Membership{UserID: u.ID, OrgID: o2.ID, OUID: o2.RootOU, Role: store.Viewer}))
	other := user(t, s, "other@example.com", o, store.Admin)
	now := time.Now()
	for i, c := range []struct{ user, org string }{{u.ID, o.ID}, {u.ID, o2.ID}, {other.ID, o.ID}} {
		n := string(rune('a' + i))
		require.NoError(t, s.CreateSession(ctx, store.Session{TokenHash: "s" + n, UserID: c.user, OrgID: c.org, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
		require.NoError(t, s.CreateAPIToken(ctx, &store.APIToken{TokenHash: "t" + n, UserID: c.user, OrgID: c.org, Name: n, Hint: "kpt_" + n, CreatedAt: now}))
	}
	require.NoError(t, s.EndUserAccess(ctx, u.ID))
	for _, h := range []string{"sa", "sb"} {
		_, err := s.SessionByHash(ctx, h, now)
		require.ErrorIs(t, err, store.ErrNotFound, "session %s", h)
	}
	for _, h := range []string{"ta", "tb"} {
		_, err := s.APITokenByHash(ctx, h, now)
		require.ErrorIs(t, err, store.ErrNotFound, "API token %s", h)
	}
	_, err := s.SessionByHash(ctx, "sc", now)
	require.NoError(t, err, "another user's session stays")
	_, err = s.APITokenByHash(ctx, "tc", now)
	require.NoError(t, err, "another user's API token stays")
}

func testSessionsExpire(t *testing.T, s store.Store) {
	o := newOrg(t, s, "A")
	u := store.User{Email: "x@example.com", PasswordHash: "h"}
	require.NoError(t, s.CreateUser(t.Context(), &u))
	now := time.Now()
	require.NoError(t, s.CreateSession(t.Context(), store.Session{TokenHash: "h1", UserID: u.ID, OrgID: o.ID,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	got, err := s.SessionByHash(t.Context(), "h1", now)
	require.NoError(t, err)
	require.Equal(t, u.ID, got.UserID)
	_, err = s.SessionByHash(t.Context(), "h1", now.Add(2*time.Hour))
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, s.DeleteSession(t.Context(), "h1"))
	_, err = s.SessionByHash(t.Context(), "h1", now)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testAPITokens(t *testing.T, s store.Store) {
	o, other := newOrg(t, s, "Acme"), newOrg(t, s, "Other")
	u := user(t, s, "a@example.com", o, store.Admin)
	v := user(t, s, "v@example.com", o, store.Viewer)
	now := time.Now()
	tok := store.APIToken{TokenHash: "t1", UserID: u.ID, OrgID: o.ID, Name: "grafana", Hint: "kpt_abcd", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	require.NoError(t, s.CreateAPIToken(t.Context(), &tok))
	bad := store.APIToken{TokenHash: "t2", UserID: u.ID, OrgID: other.ID, Name: "x", CreatedAt: now}
	require.NoError(t, s.CreateAPIToken(t.Context(), &bad))
	_, err := s.APITokenByHash(t.Context(), "t2", now)
	require.ErrorIs(t, err, store.ErrNotFound, "no token for an organization the user is not in")

	got, err := s.APITokenByHash(t.Context(), "t1", now.Add(2*time.Minute))
	require.NoError(t, err)
	require.Equal(t, tok.ID, got.ID)
	_, err = s.APITokenByHash(t.Context(), "t1", now.Add(2*time.Hour))
	require.ErrorIs(t, err, store.ErrNotFound, "expired")
	list, err := s.APITokens(t.Context(), u.ID, o.ID)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.False(t, list[0].LastUsedAt.IsZero(), "use is recorded")
	require.ErrorIs(t, s.DeleteAPIToken(t.Context(), v.ID, o.ID, tok.ID), store.ErrNotFound, "only its owner deletes it")
	require.NoError(t, s.DeleteAPIToken(t.Context(), u.ID, o.ID, tok.ID))
	_, err = s.APITokenByHash(t.Context(), "t1", now)
	require.ErrorIs(t, err, store.ErrNotFound)
}
