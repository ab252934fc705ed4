package account

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// ErrUnauthenticated answers a request without a valid credential.
var ErrUnauthenticated = problem.New(problem.Unauthorized, "authentication required: send Authorization: Bearer <token>")

// ErrWrongSecret is the cause of every answer to a secret that is not
// right: an unknown, used or expired token or credential, or a wrong
// password where an invitation asks for one. The HTTP layer counts these
// per client address to stop guessing.
var ErrWrongSecret = errors.New("wrong secret")

// errWrongCredential answers a bearer token that is unknown, expired or
// of the wrong kind: ErrUnauthenticated, caused by a wrong secret.
var errWrongCredential = &problem.Error{Kind: problem.Unauthorized, Msg: ErrUnauthenticated.Msg,
	Err: fmt.Errorf("%w: %w", ErrUnauthenticated, ErrWrongSecret)}

// Credential is what a user's bearer token stands for: a session or an
// API token, acting as Principal.
type Credential struct {
	Principal visibility.Principal
	Session   *store.Session  // set for a session token
	APIToken  *store.APIToken // set for an API token
}

// Authenticate resolves a session token or an API token. Agent
// credentials and anything unknown or expired are ErrUnauthenticated.
func (s *Service) Authenticate(ctx context.Context, token string) (Credential, error) {
	var c Credential
	var userID, orgID string
	switch {
	case strings.HasPrefix(token, auth.PrefixSession):
		ses, err := s.st.SessionByHash(ctx, auth.Hash(token), s.now())
		if errors.Is(err, store.ErrNotFound) {
			return c, errWrongCredential
		}
		if err != nil {
			return c, fmt.Errorf("looking up session: %w", err)
		}
		userID, orgID, c.Session = ses.UserID, ses.OrgID, &ses
	case strings.HasPrefix(token, auth.PrefixAPIToken):
		t, err := s.st.APITokenByHash(ctx, auth.Hash(token), s.now())
		if errors.Is(err, store.ErrNotFound) {
			return c, errWrongCredential
		}
		if err != nil {
			return c, fmt.Errorf("looking up API token: %w", err)
		}
		userID, orgID, c.APIToken = t.UserID, t.OrgID, &t
	default:
		return c, errWrongCredential
	}
	p, err := s.Principal(ctx, userID, orgID)
	if err != nil {
		return c, err
	}
	c.Principal = p
	return c, nil
}

// Principal looks up the membership that gives a user its role in org. A
// membership removed after login ends the session's access at once: the
// answer is then ErrUnauthenticated.
func (s *Service) Principal(ctx context.Context, userID, orgID string) (visibility.Principal, error) {
	ms, err := s.st.Memberships(ctx, userID)
	if err != nil {
		return visibility.Principal{}, fmt.Errorf("loading memberships: %w", err)
	}
	for _, m := range ms {
		if m.OrgID == orgID {
			org, err := s.st.Organization(ctx, orgID)
			if err != nil {
				return visibility.Principal{}, fmt.Errorf("loading organization: %w", err)
			}
			return visibility.Principal{UserID: userID, OrgID: orgID, OrgKind: org.Kind, OUID: m.OUID, Role: m.Role}, nil
		}
	}
	return visibility.Principal{}, ErrUnauthenticated
}

// Agent resolves an agent credential.
func (s *Service) Agent(ctx context.Context, token string) (store.Agent, error) {
	if !strings.HasPrefix(token, auth.PrefixAgent) {
		return store.Agent{}, errWrongCredential
	}
	ag, err := s.st.AgentByTokenHash(ctx, auth.Hash(token))
	if errors.Is(err, store.ErrNotFound) {
		return ag, errWrongCredential
	}
	if err != nil {
		return ag, fmt.Errorf("looking up agent: %w", err)
	}
	return ag, nil
}

// Login is a login request.
type Login struct {
	Email    string
	Password string
	OrgID    string // empty: the user's first membership
}

// Session is a new session and the token that names it, shown once.
type Session struct {
	Token string
	store.Session
}

// Login checks a user's password and opens a session in one of its
// organizations. limit counts the attempt before the password is checked.
// A wrong password and an unknown address get the same answer, in the
// same time.
func (s *Service) Login(ctx context.Context, req Login, limit Limit) (Session, error) {
	email := strings.ToLower(strings.TrimSpace(req.Email))
	if email == "" || len(email) > 254 {
		return Session{}, problem.Invalidf("email: missing or too long")
	}
	done, err := limit(email)
	if err != nil {
		return Session{}, err
	}
	u, err := s.st.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Session{}, fmt.Errorf("looking up user: %w", err)
	}
	if !auth.CheckPassword(u.PasswordHash, req.Password) {
		done(false)
		return Session{}, problem.New(problem.Unauthorized, "wrong email or password")
	}
	done(true)
	ms, err := s.st.Memberships(ctx, u.ID)
	if err != nil {
		return Session{}, fmt.Errorf("loading memberships: %w", err)
	}
	org := ""
	for _, m := range ms {
		if req.OrgID == "" || m.OrgID == req.OrgID {
			org = m.OrgID
			break
		}
	}
	if org == "" {
		return Session{}, problem.New(problem.Forbidden, "this account has no access to the requested organization")
	}
	tok, hash := auth.NewToken(auth.PrefixSession)
	now := s.now()
	ses := store.Session{TokenHash: hash, UserID: u.ID, OrgID: org, CreatedAt: now, ExpiresAt: now.Add(s.ttl.Session)}
	if err := s.st.CreateSession(ctx, ses); err != nil {
		return Session{}, fmt.Errorf("creating session: %w", err)
	}
	return Session{Token: tok, Session: ses}, nil
}

// Logout ends the session whose token hashes to tokenHash.
func (s *Service) Logout(ctx context.Context, tokenHash string) error {
	if err := s.st.DeleteSession(ctx, tokenHash); err != nil {
		return fmt.Errorf("deleting session: %w", err)
	}
	return nil
}

// SwitchOrg moves a session to another organization its user belongs to
// (an MSP engineer who is also admin of a customer). ses is the zero
// Session for a request with an API token, which belongs to one
// organization.
func (s *Service) SwitchOrg(ctx context.Context, ses store.Session, orgID string) (visibility.Principal, error) {
	if ses.TokenHash == "" {
		return visibility.Principal{}, problem.Invalidf("API tokens belong to one organization; log in to switch")
	}
	err := s.st.SetSessionOrg(ctx, ses.TokenHash, orgID)
	if errors.Is(err, store.ErrNotFound) {
		return visibility.Principal{}, problem.ErrNotFound
	}
	if err != nil {
		return visibility.Principal{}, fmt.Errorf("switching session: %w", err)
	}
	return s.Principal(ctx, ses.UserID, orgID)
}

// Profile is who a principal is: its user, the organization it acts in and
// every organization it belongs to.
type Profile struct {
	User        store.User
	Org         store.Organization
	Memberships []OrgRole
}

// OrgRole is an organization and the user's role in it.
type OrgRole struct {
	Org  store.Organization
	Role store.Role
}

// Profile loads p's user and organizations.
func (s *Service) Profile(ctx context.Context, p visibility.Principal) (Profile, error) {
	var out Profile
	var err error
	if out.User, err = s.st.User(ctx, p.UserID); err != nil {
		return out, fmt.Errorf("loading user: %w", err)
	}
	if out.Org, err = s.st.Organization(ctx, p.OrgID); err != nil {
		return out, fmt.Errorf("loading organization: %w", err)
	}
	ms, err := s.st.Memberships(ctx, p.UserID)
	if err != nil {
		return out, fmt.Errorf("loading memberships: %w", err)
	}
	ids := make([]string, 0, len(ms))
	role := map[string]store.Role{}
	for _, m := range ms {
		ids = append(ids, m.OrgID)
		role[m.OrgID] = m.Role
	}
	orgs, err := s.st.OrganizationsByIDs(ctx, ids)
	if err != nil {
		return out, fmt.Errorf("loading organizations: %w", err)
	}
	for _, o := range orgs {
		out.Memberships = append(out.Memberships, OrgRole{Org: o, Role: role[o.ID]})
	}
	return out, nil
}
