package store

import (
	"context"
	"time"
)

// Session is a logged-in user acting in one organization. Only the hash of
// its token is stored.
type Session struct {
	TokenHash string
	UserID    string
	OrgID     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// APIToken lets a script act as one user in one organization. Only its
// hash is stored; Hint is the first characters, for recognising it.
type APIToken struct {
	ID         string
	TokenHash  string
	UserID     string
	OrgID      string
	Name       string
	Hint       string
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	LastUsedAt time.Time
}

// Sessions stores the credentials users act with: browser sessions and API
// tokens. Only the hashes of their tokens are stored (package auth makes
// them). A lookup by hash finds an unexpired credential or returns
// ErrNotFound, without saying whether it was unknown or expired.
type Sessions interface {
	// CreateSession stores s.
	CreateSession(ctx context.Context, s Session) error
	// SessionByHash returns a session unexpired at now.
	SessionByHash(ctx context.Context, hash string, now time.Time) (Session, error)
	// SetSessionOrg moves a session to another organization of its user;
	// ErrNotFound when the user is no member there.
	SetSessionOrg(ctx context.Context, hash, orgID string) error
	// DeleteSession ends a session; ending an unknown one is no error.
	DeleteSession(ctx context.Context, hash string) error
	// EndUserAccess ends every session and deletes every API token of a
	// user, in every organization, at once: after a password reset
	// nothing made with the old password still works.
	EndUserAccess(ctx context.Context, userID string) error

	// CreateAPIToken stores t and sets t.ID. A token of a user who is no
	// member of t.OrgID is not stored, and no error says so: the caller
	// acts for a member.
	CreateAPIToken(ctx context.Context, t *APIToken) error
	// APITokenByHash returns a token unexpired at now and records its use
	// (LastUsedAt moves at most once a minute, so a busy script does not
	// write on every request).
	APITokenByHash(ctx context.Context, hash string, now time.Time) (APIToken, error)
	// APITokens returns a user's tokens in one organization, oldest first.
	APITokens(ctx context.Context, userID, orgID string) ([]APIToken, error)
	// DeleteAPIToken deletes a token of the user in the organization.
	DeleteAPIToken(ctx context.Context, userID, orgID, id string) error
}
