package account_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/account"
	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
)

// An API token acts as its user, in one organization, with the user's
// role; it cannot make more tokens, and it dies when deleted or expired.
func TestAPITokenScope(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	viewer := e.user("viewer@acme.example", e.org, e.branch.ID, store.Viewer)
	other := e.user("other@acme.example", e.org, e.org.RootOU, store.Admin)

	tk, tok, err := e.svc.CreateAPIToken(ctx, actor(viewer), "  ci script ", "")
	require.NoError(t, err)
	require.Equal(t, "ci script", tk.Name)
	require.True(t, strings.HasPrefix(tok, tk.Hint), "the hint is the token's start")
	require.Equal(t, e.now.Add(account.DefaultAPITokenTTL), tk.ExpiresAt, "without a ttl, the default lifetime")

	c, err := e.svc.Authenticate(ctx, tok)
	require.NoError(t, err)
	require.Equal(t, viewer, c.Principal, "the token has its user's role and OU")
	require.NotNil(t, c.APIToken)
	require.Nil(t, c.Session)

	via := actor(viewer)
	via.APITokenID = c.APIToken.ID
	_, _, err = e.svc.CreateAPIToken(ctx, via, "another", "")
	requireProblem(t, err, problem.Forbidden, "API tokens cannot create API tokens; log in")

	mine, err := e.svc.APITokens(ctx, actor(viewer))
	require.NoError(t, err)
	require.Len(t, mine, 1)
	theirs, err := e.svc.APITokens(ctx, actor(other))
	require.NoError(t, err)
	require.Empty(t, theirs, "tokens are their user's own")
	require.ErrorIs(t, e.svc.DeleteAPIToken(ctx, actor(other), tk.ID), problem.ErrNotFound)

	require.NoError(t, e.svc.DeleteAPIToken(ctx, via, tk.ID), "a token may delete itself")
	_, err = e.svc.Authenticate(ctx, tok)
	require.Error(t, err)
	evs := e.audited(e.org.ID, "api_token.delete")
	require.Len(t, evs, 1)
	require.JSONEq(t, `{"api_token_id":"`+tk.ID+`"}`, evs[0].Detail, "the audit names the token that acted")
	require.Len(t, e.audited(e.org.ID, "api_token.create"), 1)
}

func TestAPITokenTTL(t *testing.T) {
	e := newEnv(t)
	viewer := e.user("viewer@acme.example", e.org, e.org.RootOU, store.Viewer)
	tests := []struct {
		name    string
		ttl     string
		wantErr bool
	}{
		{"an hour", "1h", false},
		{"two years", "17568h", false},
		{"under an hour", "59m", true},
		{"over two years", "17569h", true},
		{"not a duration", "30d", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk, tok, err := e.svc.CreateAPIToken(t.Context(), actor(viewer), tt.name, tt.ttl)
			if tt.wantErr {
				requireProblem(t, err, problem.Invalid, `ttl "`+tt.ttl+`": a duration from 1h to 17568h (two years)`)
				return
			}
			require.NoError(t, err)
			d, _ := time.ParseDuration(tt.ttl)
			require.Equal(t, e.now.Add(d), tk.ExpiresAt)
			_, err = e.svc.Authenticate(t.Context(), tok)
			require.NoError(t, err)
		})
	}

	// The server's default lifetime applies to a token made without one.
	e2 := newEnv(t)
	e2.ttl.APIToken = 30 * 24 * time.Hour
	e2.svc = account.New(e2.st, audit.New(e2.st, nil, func() time.Time { return e2.now }), account.Options{TTL: e2.ttl, Now: func() time.Time { return e2.now }})
	v2 := e2.user("viewer@acme.example", e2.org, e2.org.RootOU, store.Viewer)
	tk, _, err := e2.svc.CreateAPIToken(t.Context(), actor(v2), "cron", "")
	require.NoError(t, err)
	require.Equal(t, e2.now.Add(30*24*time.Hour), tk.ExpiresAt)

	_, tok, err := e.svc.CreateAPIToken(t.Context(), actor(viewer), "short-lived", "1h")
	require.NoError(t, err)
	e.now = e.now.Add(time.Hour + time.Second)
	_, err = e.svc.Authenticate(t.Context(), tok)
	require.Error(t, err, "an expired token")

	for _, name := range []string{"", "two\nlines", strings.Repeat("x", 201)} {
		_, _, err := e.svc.CreateAPIToken(t.Context(), actor(viewer), name, "")
		requireProblem(t, err, problem.Invalid, "name: 1 to 200 characters on one line")
	}
}
