package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/auth"
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

var errUnauthenticated = &HTTPError{Code: http.StatusUnauthorized, Msg: "authentication required: send Authorization: Bearer <token>"}

// userAuth resolves a session token or an API token to the principal
// acting in its organization. Agent credentials are not accepted here.
func (a *API) userAuth(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		tok, ok := auth.BearerToken(r.Header.Get("Authorization"))
		if !ok {
			return errUnauthenticated
		}
		ctx := r.Context()
		var userID, orgID string
		switch {
		case strings.HasPrefix(tok, auth.PrefixSession):
			s, err := a.store.SessionByHash(ctx, auth.Hash(tok), a.now())
			if errors.Is(err, store.ErrNotFound) {
				return errUnauthenticated
			}
			if err != nil {
				return err
			}
			userID, orgID = s.UserID, s.OrgID
			ctx = context.WithValue(ctx, sessionKey, s)
		case strings.HasPrefix(tok, auth.PrefixAPIToken):
			t, err := a.store.APITokenByHash(ctx, auth.Hash(tok), a.now())
			if errors.Is(err, store.ErrNotFound) {
				return errUnauthenticated
			}
			if err != nil {
				return err
			}
			userID, orgID = t.UserID, t.OrgID
			ctx = context.WithValue(ctx, apiTokenKey, t)
		default:
			return errUnauthenticated
		}
		p, err := a.principal(ctx, userID, orgID)
		if err != nil {
			return err
		}
		ctx = context.WithValue(ctx, principalKey, p)
		return h(w, r.WithContext(ctx))
	}
}

// principal looks up the membership that gives a user its role in org. A
// membership removed after login ends the session's access at once.
func (a *API) principal(ctx context.Context, userID, orgID string) (visibility.Principal, error) {
	ms, err := a.store.Memberships(ctx, userID)
	if err != nil {
		return visibility.Principal{}, err
	}
	for _, m := range ms {
		if m.OrgID == orgID {
			org, err := a.store.Organization(ctx, orgID)
			if err != nil {
				return visibility.Principal{}, err
			}
			return visibility.Principal{UserID: userID, OrgID: orgID, OrgKind: org.Kind, OUID: m.OUID, Role: m.Role}, nil
		}
	}
	return visibility.Principal{}, errUnauthenticated
}

func principalFrom(ctx context.Context) visibility.Principal {
	p, _ := ctx.Value(principalKey).(visibility.Principal)
	return p
}

// agentAuth resolves an agent credential.
func (a *API) agentAuth(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		tok, ok := auth.BearerToken(r.Header.Get("Authorization"))
		if !ok || !strings.HasPrefix(tok, auth.PrefixAgent) {
			return errUnauthenticated
		}
		ag, err := a.store.AgentByTokenHash(r.Context(), auth.Hash(tok))
		if errors.Is(err, store.ErrNotFound) {
			return errUnauthenticated
		}
		if err != nil {
			return err
		}
		return h(w, r.WithContext(context.WithValue(r.Context(), agentKey, ag)))
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
	var req loginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	email := strings.ToLower(strings.TrimSpace(req.Email))
	if email == "" || len(email) > 254 {
		return badRequest("email: missing or too long")
	}
	n := a.limits.LoginFailures
	done, err := a.attempt(r, "login", bucket{"email:" + email, n}, bucket{"ip:" + clientIP(r), 2 * n})
	if err != nil {
		return err
	}
	u, err := a.store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// CheckPassword spends the same time for unknown users.
	if !auth.CheckPassword(u.PasswordHash, req.Password) {
		done(false)
		return &HTTPError{Code: http.StatusUnauthorized, Msg: "wrong email or password"}
	}
	done(true)
	ms, err := a.store.Memberships(ctx, u.ID)
	if err != nil {
		return err
	}
	org := ""
	for _, m := range ms {
		if req.OrganizationID == "" || m.OrgID == req.OrganizationID {
			org = m.OrgID
			break
		}
	}
	if org == "" {
		return &HTTPError{Code: http.StatusForbidden, Msg: "this account has no access to the requested organization"}
	}
	tok, hash := auth.NewToken(auth.PrefixSession)
	now := a.now()
	s := store.Session{TokenHash: hash, UserID: u.ID, OrgID: org, CreatedAt: now, ExpiresAt: now.Add(a.limits.SessionTTL)}
	if err := a.store.CreateSession(ctx, s); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, loginResponse{Token: tok, ExpiresAt: s.ExpiresAt.UTC(), OrganizationID: org})
	return nil
}

func (a *API) logout(w http.ResponseWriter, r *http.Request) error {
	s, _ := r.Context().Value(sessionKey).(store.Session)
	if err := a.store.DeleteSession(r.Context(), s.TokenHash); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) me(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	u, err := a.store.User(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	org, err := a.store.Organization(r.Context(), p.OrgID)
	if err != nil {
		return err
	}
	ms, err := a.store.Memberships(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(ms))
	for _, m := range ms {
		ids = append(ids, m.OrgID)
	}
	orgs, err := a.store.OrganizationsByIDs(r.Context(), ids)
	if err != nil {
		return err
	}
	role := map[string]store.Role{}
	for _, m := range ms {
		role[m.OrgID] = m.Role
	}
	memberships := []map[string]any{}
	for _, o := range orgs {
		memberships = append(memberships, map[string]any{"organization_id": o.ID, "name": o.Name, "kind": o.Kind, "role": role[o.ID]})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"user_id": u.ID, "email": u.Email, "role": p.Role,
		"organization": map[string]any{"id": org.ID, "name": org.Name, "kind": org.Kind},
		"ou_id":        p.OUID,
		"memberships":  memberships,
	})
	return nil
}

type enrollmentTokenRequest struct {
	OUID string `json:"ou_id,omitempty"` // default: the admin's own OU
	TTL  string `json:"ttl,omitempty"`   // Go duration, default 1h, at most 7 days
}

// createEnrollmentToken lets an admin make a single-use token that enrolls
// one agent into an OU the admin administers.
func (a *API) createEnrollmentToken(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	if !p.IsAdmin() {
		return &HTTPError{Code: http.StatusForbidden, Msg: "only admins may create enrollment tokens"}
	}
	if p.IsPartner() {
		return errCustomerOnly
	}
	var req enrollmentTokenRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			return err
		}
	}
	ttl := a.limits.EnrollmentTokenTTL
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d < time.Minute || d > 7*24*time.Hour {
			return badRequest("ttl %q: a duration from 1m to 168h", req.TTL)
		}
		ttl = d
	}
	ou := req.OUID
	if ou == "" {
		ou = p.OUID
	}
	ous, err := a.store.OUs(r.Context(), p.OrgID)
	if err != nil {
		return err
	}
	if !visibility.Subtree(p.OrgID, p.OUID, ous)[ou] {
		return errNotFound
	}
	tok, hash := auth.NewToken(auth.PrefixEnrollment)
	now := a.now()
	t := store.EnrollmentToken{TokenHash: hash, OrgID: p.OrgID, OUID: ou, CreatedBy: p.UserID, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := a.store.CreateEnrollmentToken(r.Context(), t); err != nil {
		return err
	}
	if err := a.audit(r, p.OrgID, "enrollment_token.create", "ou", ou, map[string]any{"expires_at": t.ExpiresAt.UTC()}); err != nil {
		return err
	}
	a.log.Info("enrollment token created", "org_id", p.OrgID, "ou_id", ou, "by", p.UserID, "expires_at", t.ExpiresAt)
	writeJSON(w, http.StatusCreated, map[string]any{"token": tok, "ou_id": ou, "expires_at": t.ExpiresAt.UTC()})
	return nil
}

type enrollRequest struct {
	Token    string `json:"token"`
	Name     string `json:"name"`
	Hostname string `json:"hostname"`
	Version  string `json:"version"`
}

// enroll trades a single-use enrollment token for an agent credential.
func (a *API) enroll(w http.ResponseWriter, r *http.Request) error {
	var req enrollRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if !strings.HasPrefix(req.Token, auth.PrefixEnrollment) || len(req.Token) > 256 {
		return &HTTPError{Code: http.StatusUnauthorized, Msg: "enrollment token is unknown, expired or already used"}
	}
	for _, f := range []*string{&req.Name, &req.Hostname, &req.Version} {
		*f = truncate(strings.TrimSpace(*f), 200)
	}
	if req.Name == "" {
		req.Name = req.Hostname
	}
	cred, hash := auth.NewToken(auth.PrefixAgent)
	ag := store.Agent{Name: req.Name, Hostname: req.Hostname, Version: req.Version, TokenHash: hash}
	err := a.store.EnrollAgent(r.Context(), auth.Hash(req.Token), a.now(), &ag)
	if errors.Is(err, store.ErrNotFound) {
		return &HTTPError{Code: http.StatusUnauthorized, Msg: "enrollment token is unknown, expired or already used", Err: err}
	}
	if err != nil {
		return err
	}
	a.log.Info("agent enrolled", "agent_id", ag.ID, "org_id", ag.OrgID, "ou_id", ag.OUID, "name", ag.Name)
	writeJSON(w, http.StatusCreated, map[string]string{"agent_id": ag.ID, "credential": cred})
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// agentSelf tells an agent who the server takes it for; `kpilot-agent
// check` uses it to verify the server address, TLS trust and credential.
func (a *API) agentSelf(w http.ResponseWriter, r *http.Request) error {
	ag, _ := r.Context().Value(agentKey).(store.Agent)
	writeJSON(w, http.StatusOK, map[string]any{
		"agent_id": ag.ID, "name": ag.Name, "organization_id": ag.OrgID, "ou_id": ag.OUID,
	})
	return nil
}
