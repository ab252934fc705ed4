package account_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/account"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
)

const msgResetGone = "the reset link is unknown, used or expired: ask for a new one"

// A reset link works once, sets the password and ends every session and
// API token.
func TestPasswordResetIsSingleUse(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	admin := e.user("admin@acme.example", e.org, e.org.RootOU, store.Admin)
	old, err := e.svc.Login(ctx, account.Login{Email: "admin@acme.example", Password: password}, (&noLimit{}).limit)
	require.NoError(t, err)
	_, apiToken, err := e.svc.CreateAPIToken(ctx, actor(admin), "grafana", "")
	require.NoError(t, err)

	var l noLimit
	require.NoError(t, e.svc.RequestPasswordReset(ctx, "Admin@Acme.example", l.limit))
	require.Equal(t, []string{"admin@acme.example"}, l.emails)
	m, tok := e.mails.last(t)
	require.Equal(t, "Reset your kpilot password", m.Subject)
	require.Contains(t, m.Text, "https://kpilot.example/reset-password#"+tok)
	require.Equal(t, 1, e.counts["password_reset/sent"])

	err = e.svc.ResetPassword(ctx, tok, "short")
	require.Equal(t, problem.Invalid, problem.KindOf(err), "got %v", err)
	const fresh = "a-brand-new-password"
	require.NoError(t, e.svc.ResetPassword(ctx, tok, fresh), "a refused password does not use up the link")
	requireProblem(t, e.svc.ResetPassword(ctx, tok, "yet-another-password"), problem.NotFound, msgResetGone)

	_, err = e.svc.Authenticate(ctx, old.Token)
	require.ErrorIs(t, err, account.ErrUnauthenticated, "the sessions of the old password end")
	_, err = e.svc.Authenticate(ctx, apiToken)
	require.ErrorIs(t, err, account.ErrUnauthenticated, "so do the API tokens made with it")
	_, err = e.svc.Login(ctx, account.Login{Email: "admin@acme.example", Password: password}, (&noLimit{}).limit)
	require.Equal(t, problem.Unauthorized, problem.KindOf(err))
	_, err = e.svc.Login(ctx, account.Login{Email: "admin@acme.example", Password: fresh}, (&noLimit{}).limit)
	require.NoError(t, err)
}

func TestPasswordResetExpires(t *testing.T) {
	e := newEnv(t)
	e.user("admin@acme.example", e.org, e.org.RootOU, store.Admin)
	require.NoError(t, e.svc.RequestPasswordReset(t.Context(), "admin@acme.example", (&noLimit{}).limit))
	_, tok := e.mails.last(t)
	e.now = e.now.Add(e.ttl.PasswordReset + time.Second)
	requireProblem(t, e.svc.ResetPassword(t.Context(), tok, "a-brand-new-password"), problem.NotFound, msgResetGone)
	requireProblem(t, e.svc.ResetPassword(t.Context(), "kpi_not-a-reset-token", "a-brand-new-password"), problem.NotFound, msgResetGone)
}

// The request does not tell who has an account: an unknown address and a
// failed mail both look like success to the caller.
func TestPasswordResetTellsNothing(t *testing.T) {
	e := newEnv(t)
	e.user("admin@acme.example", e.org, e.org.RootOU, store.Admin)
	require.NoError(t, e.svc.RequestPasswordReset(t.Context(), "nobody@acme.example", (&noLimit{}).limit))
	require.Empty(t, e.mails.msgs)

	e.mails.fail = true
	require.NoError(t, e.svc.RequestPasswordReset(t.Context(), "admin@acme.example", (&noLimit{}).limit))
	require.Equal(t, 1, e.counts["password_reset/failed"])

	err := e.svc.RequestPasswordReset(t.Context(), "not an address", (&noLimit{}).limit)
	requireProblem(t, err, problem.Invalid, `email "not an address": not an email address`)
}
