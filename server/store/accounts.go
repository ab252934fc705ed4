package store

import (
	"context"
	"time"
)

// Role of a user in one organization.
type Role string

// Roles.
const (
	Admin  Role = "admin"
	Viewer Role = "viewer" // read-only
)

// User is a person who logs in; roles are per organization (Membership).
type User struct {
	ID           string
	Email        string
	PasswordHash string
	CreatedAt    time.Time
}

// Membership gives a user a role in an organization, at an OU and below.
type Membership struct {
	UserID string
	OrgID  string
	OUID   string
	Role   Role
}

// Member is a user with their membership in one organization.
type Member struct {
	User
	Membership
}

// InvitationKind is what accepting an invitation creates.
type InvitationKind string

// Invitation kinds.
const (
	InviteUser     InvitationKind = "user"     // a user joins an existing organization
	InviteCustomer InvitationKind = "customer" // a partner invites a new customer and its first asset
	InviteReseller InvitationKind = "reseller" // a distributor invites a new reseller
)

// Invitation is a single-use, expiring link bound to one email address.
type Invitation struct {
	ID           string
	TokenHash    string
	Kind         InvitationKind
	Email        string
	OrgID        string // InviteUser: the organization joined
	OUID         string // InviteUser: the OU of the membership
	Role         Role
	Company      string // InviteCustomer, InviteReseller: the new organization's name
	Asset        *Asset // InviteCustomer: the first asset
	InvitedBy    string // user id
	InvitedByOrg string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	AcceptedAt   time.Time
	RevokedAt    time.Time
	ResultOrgID  string // the organization the accepted invitation made or joined
}

// Acceptance is what the invited person supplies.
type Acceptance struct {
	// NewPasswordHash creates the user when no account has the invited
	// email yet. An existing user (already verified by the caller) just
	// gains the membership.
	NewPasswordHash string
	// PartnerID is the public id of a new reseller organization.
	PartnerID string
	Now       time.Time
}

// Accepted is what accepting an invitation did.
type Accepted struct {
	UserID      string
	OrgID       string
	AssetID     string // InviteCustomer: the first asset
	CreatedUser bool
}

// Accounts stores the people who log in: users, their memberships,
// invitations and password resets. Emails are kept trimmed and lowercased,
// so they match in any case.
type Accounts interface {
	// CreateUser stores u and sets u.ID and u.CreatedAt; an email another
	// user has is ErrConflict.
	CreateUser(ctx context.Context, u *User) error
	// User returns a user by id.
	User(ctx context.Context, id string) (User, error)
	// UserByEmail returns the user with an email, in any case.
	UserByEmail(ctx context.Context, email string) (User, error)
	// SetPassword replaces a user's password hash. Sessions and API
	// tokens stay: the caller ends them (Sessions.EndUserAccess).
	SetPassword(ctx context.Context, userID, hash string) error

	// AddMembership gives a user a role in an organization; m.OUID must be
	// an OU of m.OrgID, and a second membership in the same organization
	// is ErrConflict.
	AddMembership(ctx context.Context, m Membership) error
	// Memberships returns a user's memberships, one per organization, by
	// organization id.
	Memberships(ctx context.Context, userID string) ([]Membership, error)
	// Members returns the users of an organization with their
	// memberships, by email.
	Members(ctx context.Context, orgID string) ([]Member, error)
	// SetMembership changes the role and OU of an existing membership; the
	// OU must be the organization's.
	SetMembership(ctx context.Context, m Membership) error
	// RemoveMembership ends a user's membership in an organization and,
	// in the same transaction, the user's sessions and API tokens there.
	RemoveMembership(ctx context.Context, userID, orgID string) error

	// CreateInvitation stores inv and sets inv.ID. Of inv.Asset only the
	// descriptive fields (name, category, manufacturer, product, type,
	// version, serial) are kept.
	CreateInvitation(ctx context.Context, inv *Invitation) error
	// Invitation returns an invitation by its token hash: unexpired at
	// now, not revoked and not yet accepted (ErrNotFound otherwise,
	// without saying which).
	Invitation(ctx context.Context, tokenHash string, now time.Time) (Invitation, error)
	// InvitationsByOrg returns every invitation an organization sent, in
	// any state, newest first.
	InvitationsByOrg(ctx context.Context, invitedByOrg string) ([]Invitation, error)
	// RevokeInvitation revokes an open invitation the organization sent;
	// an accepted or revoked one is ErrNotFound.
	RevokeInvitation(ctx context.Context, invitedByOrg, id string, at time.Time) error
	// AcceptInvitation consumes an open invitation and does what it
	// promises, in one transaction: of two racing accepts exactly one
	// succeeds, the other gets ErrNotFound. The user is the one with the
	// invited email, or a new one with acc.NewPasswordHash (ErrInvalid
	// when that is empty). InviteCustomer and InviteReseller create the
	// organization (a partner id taken is ErrConflict) and, for a
	// customer, its first asset with a GrantCreated grant to the inviting
	// partner. A user who is a member already is ErrConflict; an OU that
	// went away is ErrNotFound.
	AcceptInvitation(ctx context.Context, tokenHash string, acc Acceptance) (Accepted, error)

	// CreatePasswordReset stores a reset token of a user, usable until
	// expires.
	CreatePasswordReset(ctx context.Context, tokenHash, userID string, now, expires time.Time) error
	// UsePasswordReset consumes an unexpired, unused reset token and
	// returns its user's id. A token works once: of two racing uses one
	// succeeds, the other gets ErrNotFound.
	UsePasswordReset(ctx context.Context, tokenHash string, now time.Time) (string, error)
}
