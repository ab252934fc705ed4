package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

type grantJSON struct {
	ID        string          `json:"id"`
	Kind      store.GrantKind `json:"kind"`
	AssetID   string          `json:"asset_id"`
	AssetName string          `json:"asset_name"`
	Customer  orgRef          `json:"customer"`
	Partner   partnerRef      `json:"partner"`
	GrantedAt time.Time       `json:"granted_at"`
	RevokedAt *time.Time      `json:"revoked_at,omitempty"`
}

type partnerRef struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	PartnerID string `json:"partner_id"`
}

// listGrants answers the created and system-key grants a customer gave on
// assets the caller sees, or those a partner holds. ?all=true includes
// revoked ones.
func (a *API) listGrants(w http.ResponseWriter, r *http.Request) error {
	p, set, err := a.visibleSet(r)
	if err != nil {
		return err
	}
	f := store.GrantFilter{LiveOnly: r.URL.Query().Get("all") != "true"}
	if p.IsPartner() {
		f.PartnerOrgID = p.OrgID
	} else {
		f.CustomerOrgID = p.OrgID
	}
	gs, err := a.store.Grants(r.Context(), f)
	if err != nil {
		return err
	}
	var assetIDs, orgIDs []string
	for _, g := range gs {
		assetIDs = append(assetIDs, g.AssetID)
		orgIDs = append(orgIDs, g.CustomerOrgID, g.PartnerOrgID)
	}
	assets, err := a.store.AssetsByIDs(r.Context(), assetIDs)
	if err != nil {
		return err
	}
	byAsset := map[string]store.Asset{}
	for _, as := range assets {
		byAsset[as.ID] = as
	}
	orgs, err := a.store.OrganizationsByIDs(r.Context(), orgIDs)
	if err != nil {
		return err
	}
	byOrg := map[string]store.Organization{}
	for _, o := range orgs {
		byOrg[o.ID] = o
	}
	out := []grantJSON{}
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
		c, pa := byOrg[g.CustomerOrgID], byOrg[g.PartnerOrgID]
		j := grantJSON{ID: g.ID, Kind: g.Kind, AssetID: g.AssetID, AssetName: name,
			Customer: orgRef{ID: c.ID, Name: c.Name}, Partner: partnerRef{ID: pa.ID, Name: pa.Name, PartnerID: pa.PartnerID},
			GrantedAt: g.GrantedAt.UTC()}
		if !g.Live() {
			t := g.RevokedAt.UTC()
			j.RevokedAt = &t
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"grants": out})
	return nil
}

// revokeGrant ends a grant: the customer's admins revoke what they gave
// (for an asset they administer); a partner's admins may give one up.
// Either takes effect on the partner's next request.
func (a *API) revokeGrant(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	g, err := a.store.Grant(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	switch {
	case g.CustomerOrgID == p.OrgID:
		_, _, acc, err := a.visibleAssetID(r, g.AssetID)
		if err != nil {
			return err
		}
		if acc.Class != visibility.Owner {
			return errNotFound
		}
	case g.PartnerOrgID == p.OrgID:
	default:
		return errNotFound
	}
	if err := requireAdmin(p); err != nil {
		return err
	}
	if !g.Live() {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err := a.store.RevokeGrant(r.Context(), g.ID, p.UserID, a.now()); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := a.audit(r, g.CustomerOrgID, "grant.revoke", "grant", g.ID, map[string]any{"asset_id": g.AssetID,
		"partner_org_id": g.PartnerOrgID, "kind": g.Kind}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
