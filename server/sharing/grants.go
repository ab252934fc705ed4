package sharing

import (
	"context"
	"errors"
	"fmt"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// GrantView is a grant as one caller may see it.
type GrantView struct {
	store.Grant
	// AssetName is empty for a partner that no longer sees the asset.
	AssetName         string
	Customer, Partner store.Organization
}

// Grants returns the created and system-key grants a customer gave on
// assets p sees (set is p's visible set), or those p's partner
// organization holds; all includes revoked ones.
func (s *Service) Grants(ctx context.Context, p visibility.Principal, set visibility.Set, all bool) ([]GrantView, error) {
	f := store.GrantFilter{LiveOnly: !all}
	if p.IsPartner() {
		f.PartnerOrgID = p.OrgID
	} else {
		f.CustomerOrgID = p.OrgID
	}
	gs, err := s.st.Grants(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("loading grants: %w", err)
	}
	var assetIDs, orgIDs []string
	for _, g := range gs {
		assetIDs = append(assetIDs, g.AssetID)
		orgIDs = append(orgIDs, g.CustomerOrgID, g.PartnerOrgID)
	}
	assets, err := s.st.AssetsByIDs(ctx, assetIDs)
	if err != nil {
		return nil, fmt.Errorf("loading assets: %w", err)
	}
	byAsset := map[string]store.Asset{}
	for _, as := range assets {
		byAsset[as.ID] = as
	}
	byOrg, err := s.orgsByID(ctx, orgIDs)
	if err != nil {
		return nil, err
	}
	out := []GrantView{}
	for _, g := range gs {
		as, ok := byAsset[g.AssetID]
		// A customer user sees grants on the assets below its OU; a partner
		// lists its own grants, revoked ones included on request, but never
		// the asset of a revoked grant unless it still sees it otherwise.
		if !ok || (!p.IsPartner() && !set.CanSee(as)) {
			continue
		}
		name := as.Name
		if p.IsPartner() && !set.CanSee(as) {
			name = ""
		}
		out = append(out, GrantView{Grant: g, AssetName: name, Customer: byOrg[g.CustomerOrgID], Partner: byOrg[g.PartnerOrgID]})
	}
	return out, nil
}

// RevokeGrant ends the grant id: the customer's admins revoke what they
// gave (for an asset they administer, by set, p's visible set); a
// partner's admins may give one up. Either takes effect on the partner's
// next request. A grant revoked already is left as it is.
func (s *Service) RevokeGrant(ctx context.Context, p visibility.Principal, who audit.Actor, id string) error {
	g, err := s.st.Grant(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return problem.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("loading grant %s: %w", id, err)
	}
	switch {
	case g.CustomerOrgID == p.OrgID:
		_, acc, err := s.vis.Asset(ctx, p, g.AssetID)
		if errors.Is(err, store.ErrNotFound) || err == nil && acc.Class != visibility.Owner {
			return problem.ErrNotFound // a grant of an asset gone or out of reach
		}
		if err != nil {
			return fmt.Errorf("checking asset %s: %w", g.AssetID, err)
		}
	case g.PartnerOrgID == p.OrgID:
	default:
		return problem.ErrNotFound
	}
	if err := requireAdmin(p); err != nil {
		return err
	}
	if !g.Live() {
		return nil
	}
	if err := s.st.RevokeGrant(ctx, g.ID, p.UserID, s.now()); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("revoking grant %s: %w", g.ID, err)
	}
	// The customer's admins of the asset's OU read it; an asset gone is
	// the whole organization's.
	var ouID string
	if as, err := s.st.Asset(ctx, g.AssetID); err == nil {
		ouID = as.OUID
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("loading asset %s: %w", g.AssetID, err)
	}
	return s.recordOU(ctx, who, g.CustomerOrgID, ouID, "grant.revoke", "grant", g.ID, map[string]any{"asset_id": g.AssetID,
		"partner_org_id": g.PartnerOrgID, "kind": g.Kind})
}
