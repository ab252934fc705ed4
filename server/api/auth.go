package api

import (
	"context"
	"net/http"
	"time"

	"github.com/kpilot/kpilot/server/account"
	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/ratelimit"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

type ctxKey int

const (
	principalKey ctxKey = iota
	agentKey
	sessionKey
	apiTokenKey
)

// userAuth resolves a session token or an API token to the principal
// acting in its organization. Agent credentials are not accepted here. A
// wrong token counts against the address's budget of failed secrets.
func (a *API) userAuth(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		tok, ok := auth.BearerToken(r.Header.Get("Authorization"))
		if !ok {
			return account.ErrUnauthenticated
		}
		if err := a.secretAllowed(r); err != nil {
			return err
		}
		c, err := a.accounts.Authenticate(r.Context(), tok)
		if err != nil {
			a.secretFailed(r, err)
			return err
		}
		ctx := context.WithValue(r.Context(), principalKey, c.Principal)
		if c.Session != nil {
			ctx = context.WithValue(ctx, sessionKey, *c.Session)
		}
		if c.APIToken != nil {
			ctx = context.WithValue(ctx, apiTokenKey, *c.APIToken)
		}
		return h(w, r.WithContext(ctx))
	}
}

func principalFrom(ctx context.Context) visibility.Principal {
	p, _ := ctx.Value(principalKey).(visibility.Principal)
	return p
}

// agentAuth resolves an agent credential; a wrong one counts against the
// address's budget of failed secrets.
func (a *API) agentAuth(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		tok, ok := auth.BearerToken(r.Header.Get("Authorization"))
		if !ok {
			return account.ErrUnauthenticated
		}
		if err := a.secretAllowed(r); err != nil {
			return err
		}
		ag, err := a.accounts.Agent(r.Context(), tok)
		if err != nil {
			a.secretFailed(r, err)
			return err
		}
		return h(w, r.WithContext(context.WithValue(r.Context(), agentKey, ag)))
	}
}

// limit counts a reset request per address and per client.
func (a *API) limit(r *http.Request, name string, perEmail, perClient int) account.Limit {
	return func(email string) (func(bool), error) {
		return a.attempt(r, name, ratelimit.Bucket{Key: "email:" + email, N: perEmail}, ratelimit.Bucket{Key: "ip:" + clientIP(r), N: perClient})
	}
}

type loginRequest struct {
	Email          string `json:"email"`
	Password       string `json:"password"`
	OrganizationID string `json:"organization_id,omitempty"` // default: the first membership
}

type loginResponse struct {
	Token          string    `json:"token"`
	ExpiresAt      time.Time `json:"expires_at"`
	OrganizationID string    `json:"organization_id"`
}

func (a *API) login(w http.ResponseWriter, r *http.Request) error {
	return withJSON(w, r, func(req loginRequest) error {
		s, err := a.accounts.Login(r.Context(), account.Login{Email: req.Email, Password: req.Password, OrgID: req.OrganizationID},
			a.loginLimit(r))
		return reply(w, http.StatusOK, loginResponse{Token: s.Token, ExpiresAt: s.ExpiresAt.UTC(), OrganizationID: s.OrgID}, err)
	})
}

func (a *API) logout(w http.ResponseWriter, r *http.Request) error {
	s, _ := r.Context().Value(sessionKey).(store.Session)
	return noContent(w, a.accounts.Logout(r.Context(), s.TokenHash))
}

func (a *API) me(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	pr, err := a.accounts.Profile(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"user_id": pr.User.ID, "email": pr.User.Email, "role": p.Role,
		"organization": map[string]any{"id": pr.Org.ID, "name": pr.Org.Name, "kind": pr.Org.Kind},
		"ou_id":        p.OUID,
		"memberships": each(pr.Memberships, func(m account.OrgRole) map[string]any {
			return map[string]any{"organization_id": m.Org.ID, "name": m.Org.Name, "kind": m.Org.Kind, "role": m.Role}
		}),
	})
	return nil
}

type switchOrgRequest struct {
	OrganizationID string `json:"organization_id"`
}

func (a *API) switchOrg(w http.ResponseWriter, r *http.Request) error {
	return withJSON(w, r, func(req switchOrgRequest) error {
		s, _ := r.Context().Value(sessionKey).(store.Session) // zero with an API token
		p, err := a.accounts.SwitchOrg(r.Context(), s, req.OrganizationID)
		return reply(w, http.StatusOK, map[string]any{"organization_id": p.OrgID, "role": p.Role, "ou_id": p.OUID}, err)
	})
}

type resetRequest struct {
	Email string `json:"email"`
}

func (a *API) passwordReset(w http.ResponseWriter, r *http.Request) error {
	return withJSON(w, r, func(req resetRequest) error {
		err := a.accounts.RequestPasswordReset(r.Context(), req.Email, a.limit(r, "password_reset", 3, 20))
		return reply(w, http.StatusAccepted, map[string]string{"status": "if the address has an account, a reset link is on its way"}, err)
	})
}

func (a *API) passwordResetConfirm(w http.ResponseWriter, r *http.Request) error {
	return withJSON(w, r, func(req tokenPassword) error {
		return noContent(w, a.accounts.ResetPassword(r.Context(), req.Token, req.Password))
	})
}
