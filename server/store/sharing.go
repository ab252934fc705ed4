package store

import (
	"context"
	"errors"
	"time"
)

// More errors callers branch on.
var (
	// ErrNotEmpty: an OU still holds child OUs, assets, agents or users.
	ErrNotEmpty = errors.New("not empty")
	// ErrInvalid: the change would break the model (a cycle in the OU
	// tree, a second default partner, removing a default partner).
	ErrInvalid = errors.New("not allowed")
)

// GrantKind says why a partner may see an asset.
type GrantKind string

// Grant kinds stored as grants; channel visibility is computed from
// channel partners and assignments instead (package visibility).
const (
	GrantCreated   GrantKind = "created"    // the partner created the asset with the OU key
	GrantSystemKey GrantKind = "system-key" // the partner entered the asset's system key
	GrantChannel   GrantKind = "channel"    // computed, never stored
)

// Grant lets a partner organization see one asset of a customer.
type Grant struct {
	ID            string
	AssetID       string
	CustomerOrgID string
	PartnerOrgID  string
	Kind          GrantKind
	GrantedBy     string // user id
	GrantedAt     time.Time
	RevokedAt     time.Time // zero while in force
	RevokedBy     string
}

// Live reports whether the grant is in force.
func (g Grant) Live() bool { return g.RevokedAt.IsZero() }

// GrantFilter selects grants; empty fields match everything. At least one
// of PartnerOrgID, CustomerOrgID is required.
type GrantFilter struct {
	PartnerOrgID  string
	CustomerOrgID string
	AssetID       string
	LiveOnly      bool
}

// ChannelRole is what a channel partner does for a customer's device.
type ChannelRole string

// Channel roles (seed 003): a reseller sees inventory, KPIs and reports; a
// service partner also sees health events and check-up findings.
const (
	RoleReseller ChannelRole = "reseller"
	RoleService  ChannelRole = "service"
)

// ChannelPartner links a customer to a partner organization.
type ChannelPartner struct {
	CustomerOrgID   string
	PartnerOrgID    string
	DefaultReseller bool
	DefaultService  bool
	AddedBy         string
	AddedAt         time.Time
}

// ChannelAssignment gives one device, or every device of a group, to a
// partner in a role. Exactly one of AssetID and GroupID is set.
type ChannelAssignment struct {
	ID            string
	CustomerOrgID string
	PartnerOrgID  string
	Role          ChannelRole
	AssetID       string
	GroupID       string
	AssignedBy    string
	AssignedAt    time.Time
}

// DeviceGroup is a named set of a customer's assets.
type DeviceGroup struct {
	ID        string
	OrgID     string
	Name      string
	AssetIDs  []string
	CreatedAt time.Time
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

// Member is a user with their membership in one organization.
type Member struct {
	User
	Membership
}

// AuditEvent is one entry of the audit trail. OrgID is the organization
// whose admins read it; ActorOrgID, when another organization acted (a
// partner using a key), lets that organization's admins read it too.
type AuditEvent struct {
	ID          string
	OrgID       string
	ActorOrgID  string
	ActorUserID string
	Action      string // ou_key.read, system_key.send, grant.revoke, …
	TargetType  string // ou, asset, grant, user, channel_partner, …
	TargetID    string
	Detail      string // JSON object
	RemoteAddr  string
	At          time.Time
}

// AuditFilter pages through an organization's audit trail, newest first.
type AuditFilter struct {
	OrgID    string
	BeforeID string // page: events older than this id
	Action   string // optional exact action
	Limit    int
}

// Sharing is the part of the store behind keys, partners and users.
type Sharing interface {
	// OrganizationByPartnerID finds a partner by its public id.
	OrganizationByPartnerID(ctx context.Context, partnerID string) (Organization, error)
	// OrganizationsByIDs returns the organizations that exist among ids.
	OrganizationsByIDs(ctx context.Context, ids []string) ([]Organization, error)
	SetChannelConsent(ctx context.Context, orgID string, consent bool) error
	ChannelConsent(ctx context.Context, orgID string) (bool, error)

	// RenameOU, MoveOU and DeleteOU change the tree of one organization.
	// MoveOU refuses (ErrInvalid) to move the root or to move an OU below
	// itself; DeleteOU refuses (ErrNotEmpty) an OU with children, assets,
	// agents or members, and the root (ErrInvalid).
	RenameOU(ctx context.Context, orgID, id, name string) error
	MoveOU(ctx context.Context, orgID, id, parentID string) error
	DeleteOU(ctx context.Context, orgID, id string) error

	// OUKey returns the OU's key, making one on first use. RotateOUKey
	// replaces it. OUByKey finds the OU of a key (compared in constant time).
	OUKey(ctx context.Context, ouID string) (string, error)
	RotateOUKey(ctx context.Context, ouID string) (string, error)
	OUByKey(ctx context.Context, key string) (OU, error)
	SystemKey(ctx context.Context, assetID string) (string, error)
	RotateSystemKey(ctx context.Context, assetID string) (string, error)
	AssetBySystemKey(ctx context.Context, key string) (Asset, error)

	// CreateAsset stores an asset entered by hand (not reported by an
	// agent) and sets a.ID and a.CreatedAt. If grant is not nil it is
	// stored with the asset, atomically (a partner creating with an OU key).
	CreateAsset(ctx context.Context, a *Asset, grant *Grant) error
	// AssetsByIDs returns the assets that exist among ids.
	AssetsByIDs(ctx context.Context, ids []string) ([]Asset, error)

	// CreateGrant stores g and sets its id; an equal live grant already
	// there is returned instead (ErrConflict is never returned).
	CreateGrant(ctx context.Context, g *Grant) error
	Grant(ctx context.Context, id string) (Grant, error)
	Grants(ctx context.Context, f GrantFilter) ([]Grant, error)
	RevokeGrant(ctx context.Context, id, by string, at time.Time) error

	// AddChannelPartner stores the link; a default flag set here takes the
	// default from any other partner of the customer.
	AddChannelPartner(ctx context.Context, cp ChannelPartner) error
	// SetChannelDefaults sets or clears the partner's default flags the
	// same way.
	SetChannelDefaults(ctx context.Context, customerOrgID, partnerOrgID string, reseller, service bool) error
	// RemoveChannelPartner removes a partner and its assignments; a
	// default partner cannot be removed (ErrInvalid).
	RemoveChannelPartner(ctx context.Context, customerOrgID, partnerOrgID string) error
	ChannelPartners(ctx context.Context, customerOrgID string) ([]ChannelPartner, error)
	// ChannelCustomers returns the links where orgID is the partner.
	ChannelCustomers(ctx context.Context, partnerOrgID string) ([]ChannelPartner, error)
	// SetChannelAssignment replaces the assignment of the same device (or
	// group) and role. The partner must be a channel partner of the
	// customer and the device or group the customer's (ErrNotFound).
	SetChannelAssignment(ctx context.Context, a *ChannelAssignment) error
	// DeleteChannelAssignment returns the device (or group) to the default.
	DeleteChannelAssignment(ctx context.Context, customerOrgID, id string) error
	ChannelAssignments(ctx context.Context, customerOrgID string) ([]ChannelAssignment, error)

	CreateDeviceGroup(ctx context.Context, g *DeviceGroup) error
	// SetDeviceGroupMembers replaces the members; every asset must be the
	// group's organization's (ErrNotFound otherwise).
	SetDeviceGroupMembers(ctx context.Context, orgID, groupID string, assetIDs []string) error
	DeleteDeviceGroup(ctx context.Context, orgID, groupID string) error
	DeviceGroups(ctx context.Context, orgID string) ([]DeviceGroup, error)

	Members(ctx context.Context, orgID string) ([]Member, error)
	SetMembership(ctx context.Context, m Membership) error
	RemoveMembership(ctx context.Context, userID, orgID string) error
	SetPassword(ctx context.Context, userID, hash string) error
	// DeleteUserSessions ends every session of a user.
	DeleteUserSessions(ctx context.Context, userID string) error
	// SetSessionOrg moves a session to another organization of its user.
	SetSessionOrg(ctx context.Context, hash, orgID string) error

	CreateInvitation(ctx context.Context, inv *Invitation) error
	// Invitation returns an invitation by its token hash: unexpired, not
	// revoked and not yet accepted (ErrNotFound otherwise).
	Invitation(ctx context.Context, tokenHash string, now time.Time) (Invitation, error)
	InvitationsByOrg(ctx context.Context, invitedByOrg string) ([]Invitation, error)
	RevokeInvitation(ctx context.Context, invitedByOrg, id string, at time.Time) error
	// AcceptInvitation consumes the invitation and does what it promises,
	// in one transaction: of two racing accepts exactly one succeeds.
	AcceptInvitation(ctx context.Context, tokenHash string, acc Acceptance) (Accepted, error)

	CreatePasswordReset(ctx context.Context, tokenHash, userID string, now, expires time.Time) error
	// UsePasswordReset consumes an unexpired reset token and returns its user.
	UsePasswordReset(ctx context.Context, tokenHash string, now time.Time) (string, error)

	CreateAPIToken(ctx context.Context, t *APIToken) error
	// APITokenByHash returns an unexpired token and records its use.
	APITokenByHash(ctx context.Context, hash string, now time.Time) (APIToken, error)
	APITokens(ctx context.Context, userID, orgID string) ([]APIToken, error)
	DeleteAPIToken(ctx context.Context, userID, orgID, id string) error

	AppendAudit(ctx context.Context, e AuditEvent) error
	// AuditEvents returns events of f.OrgID (as the organization or as the
	// acting one), newest first.
	AuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error)

	// Hit counts one attempt in bucket for a fixed window and returns the
	// attempts so far in the window and when it ends. Unhit takes one back
	// (after a success). Buckets live in the store, so every replica sees
	// the same counts.
	Hit(ctx context.Context, bucket string, window time.Duration, now time.Time) (int, time.Time, error)
	Unhit(ctx context.Context, bucket string) error
}
