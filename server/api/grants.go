package api

import (
	"net/http"
	"time"

	"github.com/kpilot/kpilot/server/sharing"
	"github.com/kpilot/kpilot/server/store"
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

// listGrants answers the caller's grants; ?all=true includes revoked ones.
func (a *API) listGrants(w http.ResponseWriter, r *http.Request) error {
	p, set, err := a.visibleSet(r)
	if err != nil {
		return err
	}
	gs, err := a.sharing.Grants(r.Context(), p, set, r.URL.Query().Get("all") == "true")
	return reply(w, http.StatusOK, map[string]any{"grants": each(gs, toGrantJSON)}, err)
}

func toGrantJSON(g sharing.GrantView) grantJSON {
	c, pa := g.Customer, g.Partner
	j := grantJSON{ID: g.ID, Kind: g.Kind, AssetID: g.AssetID, AssetName: g.AssetName,
		Customer: orgRef{ID: c.ID, Name: c.Name}, Partner: partnerRef{ID: pa.ID, Name: pa.Name, PartnerID: pa.PartnerID},
		GrantedAt: g.GrantedAt.UTC()}
	if !g.Live() {
		t := g.RevokedAt.UTC()
		j.RevokedAt = &t
	}
	return j
}

func (a *API) revokeGrant(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, a.sharing.RevokeGrant(r.Context(), principalFrom(r.Context()), a.actor(r), r.PathValue("id")))
}
