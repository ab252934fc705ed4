package sharing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// Partner is a channel partner of a customer with its organization.
type Partner struct {
	store.ChannelPartner
	Org store.Organization
}

// partnerByPublicID looks up a partner ID a customer admin entered,
// counting failed guesses like key guesses.
func (s *Service) partnerByPublicID(ctx context.Context, guess Guess, pid string) (store.Organization, error) {
	pid = strings.TrimSpace(pid)
	if pid == "" || len(pid) > 64 {
		return store.Organization{}, problem.Invalidf("partner_id: missing or too long")
	}
	done, err := guess()
	if err != nil {
		return store.Organization{}, err
	}
	o, err := s.st.OrganizationByPartnerID(ctx, pid)
	if errors.Is(err, store.ErrNotFound) {
		done(false)
		return o, problem.New(problem.NotFound, "unknown partner ID: check it with your partner")
	}
	if err != nil {
		return o, fmt.Errorf("looking up partner ID: %w", err)
	}
	done(true)
	return o, nil
}

// CheckPartner is "Check ID": the partner organization of a partner ID,
// for a customer admin to see before adding it.
func (s *Service) CheckPartner(ctx context.Context, p visibility.Principal, guess Guess, pid string) (store.Organization, error) {
	if _, err := s.customerAdmin(ctx, p); err != nil {
		return store.Organization{}, err
	}
	return s.partnerByPublicID(ctx, guess, pid)
}

// ChannelPartners returns the channel partners of p's customer
// organization and whether it consents to their seeing its devices.
func (s *Service) ChannelPartners(ctx context.Context, p visibility.Principal) ([]Partner, bool, error) {
	if err := customerReader(p); err != nil {
		return nil, false, err
	}
	cps, err := s.st.ChannelPartners(ctx, p.OrgID)
	if err != nil {
		return nil, false, fmt.Errorf("loading channel partners: %w", err)
	}
	ids := make([]string, 0, len(cps))
	for _, cp := range cps {
		ids = append(ids, cp.PartnerOrgID)
	}
	byID, err := s.orgsByID(ctx, ids)
	if err != nil {
		return nil, false, err
	}
	o, err := s.st.Organization(ctx, p.OrgID)
	if err != nil {
		return nil, false, fmt.Errorf("loading organization %s: %w", p.OrgID, err)
	}
	out := make([]Partner, 0, len(cps))
	for _, cp := range cps {
		out = append(out, Partner{ChannelPartner: cp, Org: byID[cp.PartnerOrgID]})
	}
	return out, o.ChannelConsent, nil
}

// PartnerInput names a partner to add by its partner ID, and whether it
// becomes the default reseller and/or service partner.
type PartnerInput struct {
	PartnerID       string `json:"partner_id"`
	DefaultReseller bool   `json:"default_reseller"`
	DefaultService  bool   `json:"default_service"`
}

// AddChannelPartner adds a partner to p's customer organization, as a
// default if asked (taking the default from any other partner).
func (s *Service) AddChannelPartner(ctx context.Context, p visibility.Principal, who audit.Actor, guess Guess, in PartnerInput) (Partner, error) {
	if _, err := s.customerAdmin(ctx, p); err != nil {
		return Partner{}, err
	}
	po, err := s.partnerByPublicID(ctx, guess, in.PartnerID)
	if err != nil {
		return Partner{}, err
	}
	cp := store.ChannelPartner{CustomerOrgID: p.OrgID, PartnerOrgID: po.ID, DefaultReseller: in.DefaultReseller,
		DefaultService: in.DefaultService, AddedBy: p.UserID, AddedAt: s.now()}
	err = s.st.AddChannelPartner(ctx, cp)
	if errors.Is(err, store.ErrConflict) {
		return Partner{}, problem.New(problem.Conflict, "this partner is already a channel partner")
	}
	if err != nil {
		return Partner{}, fmt.Errorf("adding channel partner: %w", err)
	}
	err = s.record(ctx, who, p.OrgID, "channel_partner.add", "partner", po.ID, map[string]any{"partner_id": po.PartnerID,
		"default_reseller": in.DefaultReseller, "default_service": in.DefaultService})
	return Partner{ChannelPartner: cp, Org: po}, err
}

// channelPartner resolves a partner ID to a channel partner of the
// customer; any other is not found.
func (s *Service) channelPartner(ctx context.Context, customer, pid string) (Partner, error) {
	po, err := s.st.OrganizationByPartnerID(ctx, pid)
	if errors.Is(err, store.ErrNotFound) {
		return Partner{}, problem.ErrNotFound
	}
	if err != nil {
		return Partner{}, fmt.Errorf("looking up partner ID: %w", err)
	}
	cps, err := s.st.ChannelPartners(ctx, customer)
	if err != nil {
		return Partner{}, fmt.Errorf("loading channel partners: %w", err)
	}
	for _, cp := range cps {
		if cp.PartnerOrgID == po.ID {
			return Partner{ChannelPartner: cp, Org: po}, nil
		}
	}
	return Partner{}, problem.ErrNotFound
}

// Defaults are the default flags of a channel partner to set or clear;
// nil keeps one as it is.
type Defaults struct {
	Reseller *bool `json:"default_reseller"`
	Service  *bool `json:"default_service"`
}

// UpdateChannelPartner changes the default flags of the channel partner
// pid of p's customer organization.
func (s *Service) UpdateChannelPartner(ctx context.Context, p visibility.Principal, who audit.Actor, pid string, d Defaults) (Partner, error) {
	if _, err := s.customerAdmin(ctx, p); err != nil {
		return Partner{}, err
	}
	cp, err := s.channelPartner(ctx, p.OrgID, pid)
	if err != nil {
		return cp, err
	}
	if d.Reseller != nil {
		cp.DefaultReseller = *d.Reseller
	}
	if d.Service != nil {
		cp.DefaultService = *d.Service
	}
	if err := s.st.SetChannelDefaults(ctx, p.OrgID, cp.Org.ID, cp.DefaultReseller, cp.DefaultService); err != nil {
		return cp, fmt.Errorf("setting channel defaults: %w", err)
	}
	return cp, s.record(ctx, who, p.OrgID, "channel_partner.update", "partner", cp.Org.ID, map[string]any{
		"partner_id": cp.Org.PartnerID, "default_reseller": cp.DefaultReseller, "default_service": cp.DefaultService})
}

// RemoveChannelPartner removes the channel partner pid and its
// assignments. A default partner stays until another is the default:
// its devices would be left without one.
func (s *Service) RemoveChannelPartner(ctx context.Context, p visibility.Principal, who audit.Actor, pid string) error {
	if _, err := s.customerAdmin(ctx, p); err != nil {
		return err
	}
	cp, err := s.channelPartner(ctx, p.OrgID, pid)
	if err != nil {
		return err
	}
	err = s.st.RemoveChannelPartner(ctx, p.OrgID, cp.Org.ID)
	if errors.Is(err, store.ErrInvalid) {
		return problem.New(problem.Conflict, "a default partner cannot be removed: make another partner the default first")
	}
	if err != nil {
		return fmt.Errorf("removing channel partner: %w", err)
	}
	return s.record(ctx, who, p.OrgID, "channel_partner.remove", "partner", cp.Org.ID, map[string]any{"partner_id": cp.Org.PartnerID})
}

// Assignment is a channel assignment with the public ID of its partner.
type Assignment struct {
	store.ChannelAssignment
	PartnerID string
}

// Assignments returns the channel assignments of p's customer
// organization.
func (s *Service) Assignments(ctx context.Context, p visibility.Principal) ([]Assignment, error) {
	if err := customerReader(p); err != nil {
		return nil, err
	}
	as, err := s.st.ChannelAssignments(ctx, p.OrgID)
	if err != nil {
		return nil, fmt.Errorf("loading channel assignments: %w", err)
	}
	partners, _, err := s.ChannelPartners(ctx, p)
	if err != nil {
		return nil, err
	}
	pids := map[string]string{}
	for _, cp := range partners {
		pids[cp.PartnerOrgID] = cp.Org.PartnerID
	}
	out := make([]Assignment, 0, len(as))
	for _, x := range as {
		out = append(out, Assignment{ChannelAssignment: x, PartnerID: pids[x.PartnerOrgID]})
	}
	return out, nil
}

// AssignmentInput names a device or a device group (exactly one) and the
// channel partner to take it in a role.
type AssignmentInput struct {
	PartnerID string            `json:"partner_id"`
	Role      store.ChannelRole `json:"role"`
	AssetID   string            `json:"asset_id"`
	GroupID   string            `json:"group_id"`
}

// Assign gives a device or device group of p's customer organization to
// one of its channel partners in a role, replacing the previous partner of
// that role. A partner the customer has not listed cannot be assigned.
// The partner ID is looked up as a guess, like in CheckPartner, so this
// is no way around the limit on partner ID guesses.
func (s *Service) Assign(ctx context.Context, p visibility.Principal, who audit.Actor, guess Guess, in AssignmentInput) (Assignment, error) {
	if in.Role != store.RoleReseller && in.Role != store.RoleService {
		return Assignment{}, problem.Invalidf("role %q: reseller or service", in.Role)
	}
	if (in.AssetID == "") == (in.GroupID == "") {
		return Assignment{}, problem.Invalidf("name either asset_id or group_id")
	}
	if _, err := s.customerAdmin(ctx, p); err != nil {
		return Assignment{}, err
	}
	po, err := s.partnerByPublicID(ctx, guess, in.PartnerID)
	if problem.KindOf(err) == problem.NotFound {
		return Assignment{}, problem.New(problem.NotFound, "partner_id: not a channel partner of this organization; add it first")
	}
	if err != nil {
		return Assignment{}, err
	}
	as := store.ChannelAssignment{CustomerOrgID: p.OrgID, PartnerOrgID: po.ID, Role: in.Role, AssetID: in.AssetID,
		GroupID: in.GroupID, AssignedBy: p.UserID, AssignedAt: s.now()}
	err = s.st.SetChannelAssignment(ctx, &as)
	if errors.Is(err, store.ErrNotFound) {
		return Assignment{}, problem.New(problem.NotFound, "no such channel partner, device or device group in this organization")
	}
	if err != nil {
		return Assignment{}, fmt.Errorf("assigning: %w", err)
	}
	err = s.record(ctx, who, p.OrgID, "channel.assign", "assignment", as.ID, map[string]any{"partner_id": po.PartnerID,
		"role": as.Role, "asset_id": as.AssetID, "group_id": as.GroupID})
	return Assignment{ChannelAssignment: as, PartnerID: po.PartnerID}, err
}

// Unassign deletes an assignment: its device or group returns to the
// default partner.
func (s *Service) Unassign(ctx context.Context, p visibility.Principal, who audit.Actor, id string) error {
	if _, err := s.customerAdmin(ctx, p); err != nil {
		return err
	}
	err := s.st.DeleteChannelAssignment(ctx, p.OrgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return problem.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("deleting assignment %s: %w", id, err)
	}
	return s.record(ctx, who, p.OrgID, "channel.unassign", "assignment", id, nil)
}

// SetConsent gives (true) or withdraws the customer's consent to its
// channel partners' seeing their devices; nil is refused. It takes effect
// on the partners' next request.
func (s *Service) SetConsent(ctx context.Context, p visibility.Principal, who audit.Actor, consent *bool) error {
	if consent == nil {
		return problem.Invalidf("consent: true or false")
	}
	if _, err := s.customerAdmin(ctx, p); err != nil {
		return err
	}
	if err := s.st.SetChannelConsent(ctx, p.OrgID, *consent); err != nil {
		return fmt.Errorf("setting consent: %w", err)
	}
	action := "channel.consent_withdraw"
	if *consent {
		action = "channel.consent_give"
	}
	return s.record(ctx, who, p.OrgID, action, "organization", p.OrgID, nil)
}
