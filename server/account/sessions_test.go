package account_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/account"
	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
)

func TestLogin(t *testing.T) {
	e := newEnv(t)
	admin := e.user("admin@acme.example", e.org, e.org.RootOU, store.Admin)
	other := store.Organization{Name: "Other", Kind: store.Customer}
	require.NoError(t, e.st.CreateOrganization(t.Context(), &other))

	tests := []struct {
		name        string
		login       account.Login
		wantKind    problem.Kind
		wantMsg     string
		wantResults []bool // what the limit was told
	}{
		{"wrong password", account.Login{Email: "admin@acme.example", Password: "wrong-password-123"},
			problem.Unauthorized, "wrong email or password", []bool{false}},
		{"unknown user gets the same answer", account.Login{Email: "nobody@acme.example", Password: password},
			problem.Unauthorized, "wrong email or password", []bool{false}},
		{"no address", account.Login{Email: "  ", Password: password}, problem.Invalid, "email: missing or too long", nil},
		{"not a member of the organization asked for", account.Login{Email: "admin@acme.example", Password: password, OrgID: other.ID},
			problem.Forbidden, "this account has no access to the requested organization", []bool{true}},
		{"address in any case", account.Login{Email: " ADMIN@acme.example ", Password: password}, 0, "", []bool{true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l noLimit
			s, err := e.svc.Login(t.Context(), tt.login, l.limit)
			require.Equal(t, tt.wantResults, l.results)
			if tt.wantKind != 0 {
				requireProblem(t, err, tt.wantKind, tt.wantMsg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, []string{"admin@acme.example"}, l.emails, "the limit counts the normalised address")
			require.Equal(t, e.now.Add(e.ttl.Session), s.ExpiresAt)
			c, err := e.svc.Authenticate(t.Context(), s.Token)
			require.NoError(t, err)
			require.Equal(t, admin, c.Principal)
			require.NotNil(t, c.Session)
			require.Nil(t, c.APIToken)
		})
	}
}

func TestLoginStopsAtTheLimit(t *testing.T) {
	e := newEnv(t)
	e.user("admin@acme.example", e.org, e.org.RootOU, store.Admin)
	tooMany := &problem.Error{Kind: problem.TooMany, Msg: "too many attempts; try again in 15m0s", RetryAfter: 15 * time.Minute}
	limit := func(string) (func(bool), error) { return nil, tooMany }
	_, err := e.svc.Login(t.Context(), account.Login{Email: "admin@acme.example", Password: password}, limit)
	require.ErrorIs(t, err, tooMany, "the right password does not help once the limit is reached")
}

func TestSessionLifetime(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.user("admin@acme.example", e.org, e.org.RootOU, store.Admin)
	login := func() account.Session {
		s, err := e.svc.Login(ctx, account.Login{Email: "admin@acme.example", Password: password}, (&noLimit{}).limit)
		require.NoError(t, err)
		return s
	}

	s := login()
	e.now = e.now.Add(e.ttl.Session + time.Second)
	_, err := e.svc.Authenticate(ctx, s.Token)
	require.ErrorIs(t, err, account.ErrUnauthenticated, "an expired session")

	s = login()
	require.NoError(t, e.svc.Logout(ctx, s.TokenHash))
	_, err = e.svc.Authenticate(ctx, s.Token)
	require.ErrorIs(t, err, account.ErrUnauthenticated, "a logged-out session")

	for name, tok := range map[string]string{"guess": "kps_guess", "agent credential": "kpa_x", "empty": ""} {
		_, err = e.svc.Authenticate(ctx, tok)
		require.ErrorIs(t, err, account.ErrUnauthenticated, name)
	}
}

func TestSwitchOrg(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.user("eng@acme.example", e.org, e.org.RootOU, store.Viewer)
	msp := store.Organization{Name: "MSP", Kind: store.Reseller, PartnerID: auth.NewPartnerID()}
	require.NoError(t, e.st.CreateOrganization(ctx, &msp))
	stranger := store.Organization{Name: "Stranger", Kind: store.Customer}
	require.NoError(t, e.st.CreateOrganization(ctx, &stranger))
	u, err := e.st.UserByEmail(ctx, "eng@acme.example")
	require.NoError(t, err)
	require.NoError(t, e.st.AddMembership(ctx, store.Membership{UserID: u.ID, OrgID: msp.ID, OUID: msp.RootOU, Role: store.Admin}))

	s, err := e.svc.Login(ctx, account.Login{Email: "eng@acme.example", Password: password, OrgID: e.org.ID}, (&noLimit{}).limit)
	require.NoError(t, err)
	p, err := e.svc.SwitchOrg(ctx, s.Session, msp.ID)
	require.NoError(t, err)
	require.Equal(t, store.Admin, p.Role)
	require.True(t, p.IsPartner())
	c, err := e.svc.Authenticate(ctx, s.Token)
	require.NoError(t, err)
	require.Equal(t, msp.ID, c.Principal.OrgID, "the session itself moved")

	_, err = e.svc.SwitchOrg(ctx, s.Session, stranger.ID)
	require.ErrorIs(t, err, problem.ErrNotFound)
	_, err = e.svc.SwitchOrg(ctx, store.Session{}, msp.ID)
	requireProblem(t, err, problem.Invalid, "API tokens belong to one organization; log in to switch")

	pr, err := e.svc.Profile(ctx, c.Principal)
	require.NoError(t, err)
	require.Equal(t, "MSP", pr.Org.Name)
	roles := map[string]store.Role{}
	for _, m := range pr.Memberships {
		roles[m.Org.Name] = m.Role
	}
	require.Equal(t, map[string]store.Role{"Acme": store.Viewer, "MSP": store.Admin}, roles)
}

func TestAgentCredential(t *testing.T) {
	e := newEnv(t)
	admin := e.user("admin@acme.example", e.org, e.org.RootOU, store.Admin)
	tok, err := e.svc.CreateEnrollmentToken(t.Context(), actor(admin), admin, "", "")
	require.NoError(t, err)
	ag, cred, err := e.svc.Enroll(t.Context(), account.Enrollment{Token: tok.Token, Hostname: "site-a"})
	require.NoError(t, err)

	got, err := e.svc.Agent(t.Context(), cred)
	require.NoError(t, err)
	require.Equal(t, ag.ID, got.ID)
	for name, c := range map[string]string{"guess": "kpa_guess", "session token": "kps_x", "enrollment token": tok.Token} {
		_, err := e.svc.Agent(t.Context(), c)
		require.True(t, errors.Is(err, account.ErrUnauthenticated), "%s: got %v", name, err)
	}
}
