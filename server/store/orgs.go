package store

import (
	"context"
	"time"
)

// OrgKind is the kind of an organization account.
type OrgKind string

// Organization kinds.
const (
	Distributor OrgKind = "distributor"
	Reseller    OrgKind = "reseller"
	Customer    OrgKind = "customer"
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

// Organizations stores the tenants and each one's tree of organization
// units. Every OU belongs to one organization; a method that takes an
// organization and an OU id returns ErrNotFound for an OU of another one.
type Organizations interface {
	// CreateOrganization stores o and its root OU (named after o), in one
	// transaction, and sets o.ID, o.RootOU and o.CreatedAt. A partner id
	// another organization has is ErrConflict.
	CreateOrganization(ctx context.Context, o *Organization) error
	// Organization returns an organization by id.
	Organization(ctx context.Context, id string) (Organization, error)
	// OrganizationByPartnerID finds a reseller or distributor by its public
	// partner id; never a customer.
	OrganizationByPartnerID(ctx context.Context, partnerID string) (Organization, error)
	// OrganizationsByIDs returns the organizations that exist among ids, by
	// name; unknown ids are left out.
	OrganizationsByIDs(ctx context.Context, ids []string) ([]Organization, error)
	// OrganizationIDs lists every organization's id, sorted; the check-up
	// scheduler evaluates each.
	OrganizationIDs(ctx context.Context) ([]string, error)
	// SetChannelConsent records whether a customer lets its channel
	// partners see the devices assigned to them.
	SetChannelConsent(ctx context.Context, orgID string, consent bool) error
	// ChannelConsent reads what SetChannelConsent recorded.
	ChannelConsent(ctx context.Context, orgID string) (bool, error)

	// CreateOU stores a child OU under u.ParentID, which must be an OU of
	// u.OrgID, and sets u.ID.
	CreateOU(ctx context.Context, u *OU) error
	// OUs returns every OU of an organization, in the order they were
	// created.
	OUs(ctx context.Context, orgID string) ([]OU, error)
	// RenameOU renames an OU of orgID.
	RenameOU(ctx context.Context, orgID, id, name string) error
	// MoveOU puts an OU of orgID under another of its OUs, in one
	// transaction. It refuses (ErrInvalid) to move the root or to move an
	// OU below itself.
	MoveOU(ctx context.Context, orgID, id, parentID string) error
	// DeleteOU removes an OU of orgID with its OU key and enrollment
	// tokens, in one transaction. It refuses an OU that holds child OUs,
	// assets, agents, members or open invitations (ErrNotEmpty), and the
	// root (ErrInvalid).
	DeleteOU(ctx context.Context, orgID, id string) error
}
