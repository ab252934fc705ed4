package sharing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/input"
	"github.com/kpilot/kpilot/server/inventory"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// AssetInput is an asset as a user enters it by hand (JSON names as the
// API takes them).
type AssetInput struct {
	Name         string `json:"name"`
	Category     string `json:"category"`
	Manufacturer string `json:"manufacturer"`
	Product      string `json:"product"`
	Type         string `json:"type"`
	Version      string `json:"version"`
	Serial       string `json:"serial"`
}

// NewAsset checks in and returns it as an asset without organization or
// OU. The manufacturer and serial, when both given, become an identity:
// an agent that reports the device later finds this asset.
func (s *Service) NewAsset(in AssetInput) (store.Asset, error) {
	name, err := input.Name("asset.name", in.Name)
	if err != nil {
		return store.Asset{}, err
	}
	cat := strings.ToLower(strings.TrimSpace(in.Category))
	if !s.cats[cat] {
		return store.Asset{}, problem.Invalidf("asset.category %q: one of server, storage, backup, network, power, printer, software, licence", in.Category)
	}
	a := store.Asset{Name: name, Category: cat}
	for _, f := range []struct {
		name string
		in   string
		out  *string
	}{{"manufacturer", in.Manufacturer, &a.Manufacturer}, {"product", in.Product, &a.Product},
		{"type", in.Type, &a.Type}, {"version", in.Version, &a.Version}, {"serial", in.Serial, &a.Serial}} {
		v := strings.TrimSpace(f.in)
		if len(v) > 200 || strings.ContainsAny(v, "\x00\r\n") {
			return store.Asset{}, problem.Invalidf("asset.%s: at most 200 characters on one line", f.name)
		}
		*f.out = v
	}
	if id := inventory.SerialIdentity(a.Manufacturer, a.Serial); id != "" {
		a.Identities = []string{id}
	}
	return a, nil
}

// createAsset stores an asset entered by hand (with the grant g, if not
// nil); a device the organization already has (same manufacturer and
// serial) is a conflict.
func (s *Service) createAsset(ctx context.Context, as *store.Asset, g *store.Grant) error {
	err := s.st.CreateAsset(ctx, as, g)
	if errors.Is(err, store.ErrConflict) {
		return &problem.Error{Kind: problem.Conflict, Err: err,
			Msg: "the organization already has an asset with this manufacturer and serial number"}
	}
	if err != nil {
		return fmt.Errorf("creating asset: %w", err)
	}
	return nil
}

// CreateAsset stores as (from NewAsset), entered by hand by an admin of p's
// organization into u, an OU p administers: a device no agent reports,
// such as a licence.
func (s *Service) CreateAsset(ctx context.Context, p visibility.Principal, who audit.Actor, u store.OU, as store.Asset) (store.Asset, error) {
	as.OrgID, as.OUID = p.OrgID, u.ID
	if err := s.createAsset(ctx, &as, nil); err != nil {
		return as, err
	}
	return as, s.recordOU(ctx, who, p.OrgID, u.ID, "asset.create", "asset", as.ID, map[string]any{"name": as.Name, "ou_id": u.ID})
}

// AssetPartner is a partner that sees an asset, and why.
type AssetPartner struct {
	Org     store.Organization
	Via     store.GrantKind
	Role    store.ChannelRole
	GrantID string // created and system-key grants
	// Effective: a channel partner sees the asset now (the customer
	// consents).
	Effective bool
}

// AssetPartners tells the asset's owner (acc, p's access to as, is Owner)
// which partners see it and why: its live grants, then its channel
// reseller and service partner.
func (s *Service) AssetPartners(ctx context.Context, as store.Asset, acc visibility.Access) ([]AssetPartner, error) {
	if acc.Class != visibility.Owner {
		return nil, problem.ErrReadOnly
	}
	grants, err := s.st.Grants(ctx, store.GrantFilter{CustomerOrgID: as.OrgID, AssetID: as.ID, LiveOnly: true})
	if err != nil {
		return nil, fmt.Errorf("loading grants: %w", err)
	}
	cust, err := s.st.Organization(ctx, as.OrgID)
	if err != nil {
		return nil, fmt.Errorf("loading organization %s: %w", as.OrgID, err)
	}
	ch := visibility.Channel{Customer: cust, Assets: []store.Asset{as}}
	if ch.Partners, err = s.st.ChannelPartners(ctx, cust.ID); err != nil {
		return nil, fmt.Errorf("loading channel partners: %w", err)
	}
	if ch.Assignments, err = s.st.ChannelAssignments(ctx, cust.ID); err != nil {
		return nil, fmt.Errorf("loading channel assignments: %w", err)
	}
	if ch.Groups, err = s.st.DeviceGroups(ctx, cust.ID); err != nil {
		return nil, fmt.Errorf("loading device groups: %w", err)
	}
	roles := visibility.EffectivePartners(ch)[as.ID]
	ids := []string{}
	for _, g := range grants {
		ids = append(ids, g.PartnerOrgID)
	}
	for _, pid := range roles {
		ids = append(ids, pid)
	}
	byID, err := s.orgsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := []AssetPartner{}
	for _, g := range grants {
		out = append(out, AssetPartner{Org: byID[g.PartnerOrgID], Via: g.Kind, Role: store.RoleReseller, GrantID: g.ID})
	}
	for _, role := range []store.ChannelRole{store.RoleReseller, store.RoleService} {
		if pid, ok := roles[role]; ok {
			out = append(out, AssetPartner{Org: byID[pid], Via: store.GrantChannel, Role: role, Effective: cust.ChannelConsent})
		}
	}
	return out, nil
}
