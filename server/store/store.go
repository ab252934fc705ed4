// Package store is the server's relational metadata: organizations, the OU
// tree, users and their memberships, sessions, agents, enrollment tokens,
// assets and their inventory. Every row belongs to a tenant (an
// organization); the query layer filters by the caller's visible set
// (package visibility) before it calls the store.
//
// Implementations (sqlstore on SQLite, later PostgreSQL) keep nothing in
// memory that matters for correctness, so any server replica can answer any
// request.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
	// ErrOutsideOU: an agent reported an asset that exists in an OU the agent
	// was not enrolled into (or below).
	ErrOutsideOU = errors.New("asset belongs to an organization unit outside the agent's")
)

// OrgKind is the kind of an organization account.
type OrgKind string

// Organization kinds.
const (
	Distributor OrgKind = "distributor"
	Reseller    OrgKind = "reseller"
	Customer    OrgKind = "customer"
)

// Role of a user in one organization.
type Role string

// Roles.
const (
	Admin  Role = "admin"
	Viewer Role = "viewer" // read-only
)

// Organization is an account.
type Organization struct {
	ID        string
	Name      string
	Kind      OrgKind
	PartnerID string // public id of a partner; empty for customers
	RootOU    string // id of the root OU, created with the organization
	// ChannelConsent: the customer lets its channel partners see the
	// devices assigned to them (seed 003's opt-in).
	ChannelConsent bool
	InvitedByOrg   string // the partner whose invitation created it
	CreatedAt      time.Time
}

// IsPartner reports whether the organization is a reseller or distributor.
func (o Organization) IsPartner() bool { return o.Kind == Reseller || o.Kind == Distributor }

// OU is a node of a customer's organization tree.
type OU struct {
	ID       string
	OrgID    string
	ParentID string // empty for the root
	Name     string
}

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

// Session is a logged-in user acting in one organization. Only the hash of
// its token is stored.
type Session struct {
	TokenHash string
	UserID    string
	OrgID     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// EnrollmentToken lets one agent enroll into an OU, once, before it expires.
type EnrollmentToken struct {
	TokenHash string
	OrgID     string
	OUID      string
	CreatedBy string // user id, or "cli"
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Agent is one enrolled kpilot-agent.
type Agent struct {
	ID         string
	OrgID      string
	OUID       string
	Name       string
	Hostname   string
	Version    string
	TokenHash  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// LastError is the latest problem with the agent's data, at LastErrorAt.
	LastError   string
	LastErrorAt time.Time
}

// Asset is a hardware or software component in one OU.
type Asset struct {
	ID           string
	OrgID        string
	OUID         string
	SourceKey    string // the agent-side asset id that first reported it
	Name         string
	Category     string
	Manufacturer string
	Product      string
	Type         string
	Version      string
	Serial       string
	CreatedByOrg string // a partner that created it with the OU key
	CreatedAt    time.Time
	// Identities are stored with the asset by CreateAsset (see package
	// server/inventory); they are not read back.
	Identities []string
	// LastPollAt and LastPollUp are the latest agent poll of the asset
	// (zero before the first): whether the device answered.
	LastPollAt time.Time
	LastPollUp bool
}

// AssetPoll is the latest poll result of an asset in one ingested batch.
type AssetPoll struct {
	AssetID string
	At      time.Time
	Up      bool
}

// InventoryChange is one inventory snapshot that differed from the one
// before it: Changes is a JSON list of inventory.Change, empty for the
// first snapshot of an asset.
type InventoryChange struct {
	CollectedAt time.Time
	Changes     []byte
}

// AssetFacts are the fields of an asset that its inventory sets.
type AssetFacts struct {
	Category     string // server, storage, backup, network, power, printer, software
	Manufacturer string
	Product      string
	Serial       string
}

// Store is the metadata store. Implementations are safe for concurrent use.
// Methods return ErrNotFound when a looked-up row does not exist.
type Store interface {
	// CreateOrganization stores o and its root OU (named after o) and sets
	// o.ID, o.RootOU and o.CreatedAt.
	CreateOrganization(ctx context.Context, o *Organization) error
	Organization(ctx context.Context, id string) (Organization, error)
	// CreateOU stores a child OU under u.ParentID (which must be an OU of
	// u.OrgID) and sets u.ID.
	CreateOU(ctx context.Context, u *OU) error
	// OUs returns every OU of an organization.
	OUs(ctx context.Context, orgID string) ([]OU, error)

	// CreateUser stores u (ErrConflict if the email is taken) and sets u.ID.
	CreateUser(ctx context.Context, u *User) error
	UserByEmail(ctx context.Context, email string) (User, error)
	User(ctx context.Context, id string) (User, error)
	AddMembership(ctx context.Context, m Membership) error
	Memberships(ctx context.Context, userID string) ([]Membership, error)

	CreateSession(ctx context.Context, s Session) error
	// SessionByHash returns an unexpired session.
	SessionByHash(ctx context.Context, hash string, now time.Time) (Session, error)
	DeleteSession(ctx context.Context, hash string) error

	CreateEnrollmentToken(ctx context.Context, t EnrollmentToken) error
	// EnrollAgent consumes an unexpired, unused enrollment token and stores
	// the agent in the token's OU, atomically: of two agents racing with the
	// same token exactly one succeeds. It sets a.ID, a.OrgID and a.OUID.
	EnrollAgent(ctx context.Context, tokenHash string, now time.Time, a *Agent) error
	AgentByTokenHash(ctx context.Context, hash string) (Agent, error)
	TouchAgent(ctx context.Context, id, version string, seen time.Time) error
	// SetAgentError records the latest problem with an agent's data (a
	// refused point, say); an empty msg keeps the last one.
	SetAgentError(ctx context.Context, id, msg string, at time.Time) error
	// Agents returns every agent of an organization.
	Agents(ctx context.Context, orgID string) ([]Agent, error)

	// EnsureAsset returns the asset of the agent's organization that the
	// agent-side id sourceKey reports, creating it in the agent's OU on
	// first sight. identities (strongest first, see package
	// server/inventory) name the device itself: when an asset of the
	// organization already has one of them, sourceKey is pointed at that
	// asset (a re-installed agent, a renamed target, an asset a partner
	// entered by hand), and the asset gains the others. If the asset lies
	// in an OU that is not the agent's or below it, EnsureAsset returns
	// ErrOutsideOU and changes nothing.
	EnsureAsset(ctx context.Context, a Agent, sourceKey string, identities []string) (Asset, error)
	Asset(ctx context.Context, id string) (Asset, error)
	// Assets returns every asset of an organization.
	Assets(ctx context.Context, orgID string) ([]Asset, error)
	// PutInventory replaces the latest inventory document of an asset if
	// collectedAt is newer than the stored one and then, when changes is
	// not nil, adds it to the asset's inventory history. It reports
	// whether the document was newer.
	PutInventory(ctx context.Context, assetID string, collectedAt time.Time, doc, changes []byte) (bool, error)
	// InventoryHistory returns up to limit history entries of an asset
	// collected before before (any time when zero), newest first.
	InventoryHistory(ctx context.Context, assetID string, before time.Time, limit int) ([]InventoryChange, error)
	Inventory(ctx context.Context, assetID string) (collectedAt time.Time, doc []byte, err error)
	// SetAssetFacts records what an inventory says about an asset: each
	// non-empty field of f replaces the stored one.
	SetAssetFacts(ctx context.Context, assetID string, f AssetFacts) error
	// SetAssetPolls records the latest poll of assets; an older poll than
	// the stored one is ignored.
	SetAssetPolls(ctx context.Context, polls []AssetPoll) error

	// BatchSeen reports whether an agent's batch id was stored before.
	BatchSeen(ctx context.Context, agentID, batchID string) (bool, error)
	// RecordBatch remembers a stored batch id.
	RecordBatch(ctx context.Context, agentID, batchID string, at time.Time) error

	Sharing
	Checkups
	Webhooks
	ReportSchedules
	Pruner
	Leases

	Close() error
}
