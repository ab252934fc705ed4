package store

import (
	"context"
	"time"
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

// Channel stores what partner organizations may see of a customer's
// assets: grants of single assets, and the channel — the customer's
// partners with a default partner per role, assignments of devices or
// device groups to partners, and the device groups. A method that names
// the customer returns ErrNotFound for a row of another customer.
type Channel interface {
	// CreateGrant stores g and sets g.ID (and g.GrantedAt when zero); an
	// equal live grant (same asset, partner and kind) already there is
	// returned in g instead, so ErrConflict is never returned. A grant of
	// an asset that is not g.CustomerOrgID's is not stored, and no error
	// says so: the caller checks the asset first.
	CreateGrant(ctx context.Context, g *Grant) error
	// Grant returns a grant by id, live or revoked.
	Grant(ctx context.Context, id string) (Grant, error)
	// Grants returns the grants f selects, oldest first; f without a
	// partner and a customer is ErrInvalid.
	Grants(ctx context.Context, f GrantFilter) ([]Grant, error)
	// RevokeGrant revokes a live grant; one revoked already is ErrNotFound.
	RevokeGrant(ctx context.Context, id, by string, at time.Time) error

	// AddChannelPartner stores the link (ErrConflict when it exists); a
	// default flag set here takes the default from any other partner of
	// the customer, in the same transaction, so a customer has at most one
	// default partner per role.
	AddChannelPartner(ctx context.Context, cp ChannelPartner) error
	// SetChannelDefaults sets or clears the partner's default flags the
	// same way.
	SetChannelDefaults(ctx context.Context, customerOrgID, partnerOrgID string, reseller, service bool) error
	// RemoveChannelPartner removes a partner and its assignments, in one
	// transaction; a default partner cannot be removed (ErrInvalid).
	RemoveChannelPartner(ctx context.Context, customerOrgID, partnerOrgID string) error
	// ChannelPartners returns the links of a customer, oldest first.
	ChannelPartners(ctx context.Context, customerOrgID string) ([]ChannelPartner, error)
	// ChannelCustomers returns the links where partnerOrgID is the
	// partner, oldest first.
	ChannelCustomers(ctx context.Context, partnerOrgID string) ([]ChannelPartner, error)
	// SetChannelAssignment replaces the assignment of the same device (or
	// group) and role, in one transaction, and sets a.ID (and a.AssignedAt
	// when zero). It needs exactly one of a.AssetID and a.GroupID and a
	// known role (ErrInvalid); the partner must be a channel partner of the
	// customer and the device or group the customer's (ErrNotFound).
	SetChannelAssignment(ctx context.Context, a *ChannelAssignment) error
	// DeleteChannelAssignment returns the device (or group) to the default.
	DeleteChannelAssignment(ctx context.Context, customerOrgID, id string) error
	// ChannelAssignments returns a customer's assignments, oldest first.
	ChannelAssignments(ctx context.Context, customerOrgID string) ([]ChannelAssignment, error)

	// CreateDeviceGroup stores g with its members, in one transaction, and
	// sets g.ID and g.CreatedAt; every member must be an asset of g.OrgID.
	CreateDeviceGroup(ctx context.Context, g *DeviceGroup) error
	// SetDeviceGroupMembers replaces the members, in one transaction; the
	// group and every asset must be the organization's.
	SetDeviceGroupMembers(ctx context.Context, orgID, groupID string, assetIDs []string) error
	// DeleteDeviceGroup removes a group with its members and assignments,
	// so its devices return to their defaults.
	DeleteDeviceGroup(ctx context.Context, orgID, groupID string) error
	// DeviceGroups returns an organization's groups by name, each with its
	// members.
	DeviceGroups(ctx context.Context, orgID string) ([]DeviceGroup, error)
}
