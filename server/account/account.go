// Package account holds the rules of who may use the server: login and
// sessions, API tokens, users and their memberships, invitations, password
// resets and agent enrollment. It answers problem.Error for what the caller
// did wrong and records changes through an audit.Recorder; the HTTP layer
// (server/api) only decodes requests and writes the answers.
package account

import (
	"context"
	"log/slog"
	"time"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/store"
)

// Store is what the account rules need of the metadata store.
type Store interface {
	Organization(ctx context.Context, id string) (store.Organization, error)
	OrganizationsByIDs(ctx context.Context, ids []string) ([]store.Organization, error)
	OUs(ctx context.Context, orgID string) ([]store.OU, error)

	UserByEmail(ctx context.Context, email string) (store.User, error)
	User(ctx context.Context, id string) (store.User, error)
	SetPassword(ctx context.Context, userID, hash string) error
	Memberships(ctx context.Context, userID string) ([]store.Membership, error)
	Members(ctx context.Context, orgID string) ([]store.Member, error)
	SetMembership(ctx context.Context, m store.Membership) error
	RemoveMembership(ctx context.Context, userID, orgID string) error

	CreateSession(ctx context.Context, s store.Session) error
	SessionByHash(ctx context.Context, hash string, now time.Time) (store.Session, error)
	SetSessionOrg(ctx context.Context, hash, orgID string) error
	DeleteSession(ctx context.Context, hash string) error
	EndUserAccess(ctx context.Context, userID string) error

	CreateAPIToken(ctx context.Context, t *store.APIToken) error
	APITokenByHash(ctx context.Context, hash string, now time.Time) (store.APIToken, error)
	APITokens(ctx context.Context, userID, orgID string) ([]store.APIToken, error)
	DeleteAPIToken(ctx context.Context, userID, orgID, id string) error

	CreatePasswordReset(ctx context.Context, hash, userID string, now, expires time.Time) error
	UsePasswordReset(ctx context.Context, hash string, now time.Time) (string, error)

	CreateInvitation(ctx context.Context, inv *store.Invitation) error
	Invitation(ctx context.Context, hash string, now time.Time) (store.Invitation, error)
	InvitationsByOrg(ctx context.Context, org string) ([]store.Invitation, error)
	RevokeInvitation(ctx context.Context, org, id string, at time.Time) error
	AcceptInvitation(ctx context.Context, hash string, acc store.Acceptance) (store.Accepted, error)

	CreateEnrollmentToken(ctx context.Context, t store.EnrollmentToken) error
	EnrollAgent(ctx context.Context, tokenHash string, now time.Time, a *store.Agent) error
	AgentByTokenHash(ctx context.Context, hash string) (store.Agent, error)
	Agents(ctx context.Context, orgID string) ([]store.Agent, error)
}

// TTLs are how long the secrets handed out live.
type TTLs struct {
	Session         time.Duration
	Invitation      time.Duration
	PasswordReset   time.Duration
	EnrollmentToken time.Duration // when the admin asks for none
	APIToken        time.Duration // when the user asks for none; 90 days when 0
}

// Options configure a Service.
type Options struct {
	TTL    TTLs
	Mailer *Mailer          // nil: the server sends no email
	Now    func() time.Time // nil: time.Now
	Log    *slog.Logger     // nil: discard
}

// Service applies the account rules. It is safe for concurrent use.
type Service struct {
	st   Store
	rec  audit.Recorder
	mail *Mailer
	ttl  TTLs
	now  func() time.Time
	log  *slog.Logger
}

// New returns a Service on st that records to rec.
func New(st Store, rec audit.Recorder, o Options) *Service {
	s := &Service{st: st, rec: rec, mail: o.Mailer, ttl: o.TTL, now: o.Now, log: o.Log}
	if s.mail == nil {
		s.mail = &Mailer{}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Limit counts one attempt for email (a login, a reset request) and fails
// with a problem.TooMany error once too many were made; done(true) takes a
// successful attempt back, so only failures use up the allowance. The HTTP
// layer supplies it, since it knows the client's address.
type Limit func(email string) (done func(success bool), err error)
