package api

import (
	"net/http"

	"github.com/kpilot/kpilot/server/sharing"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// createAsset lets a customer admin enter an asset by hand (one no agent
// reports, such as a licence) into an OU it administers.
func (a *API) createAsset(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		OUID string `json:"ou_id"`
		sharing.AssetInput
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	ctx, p, who := a.caller(r)
	as, err := a.sharing.EnterAsset(ctx, p, who, req.OUID, req.AssetInput)
	return reply(w, http.StatusCreated, map[string]any{"asset": toAssetJSON(as, visibility.Access{Class: visibility.Owner}, a.now())}, err)
}

func (a *API) readSystemKey(w http.ResponseWriter, r *http.Request) error {
	return a.systemKey(w, r, false)
}

func (a *API) rotateSystemKey(w http.ResponseWriter, r *http.Request) error {
	return a.systemKey(w, r, true)
}

func (a *API) systemKey(w http.ResponseWriter, r *http.Request, rotate bool) error {
	p, as, err := a.ownedAsset(r)
	if err != nil {
		return err
	}
	key, err := a.sharing.SystemKey(r.Context(), p, a.actor(r), as, rotate)
	return reply(w, http.StatusOK, map[string]string{"asset_id": as.ID, "system_key": key}, err)
}

func (a *API) sendSystemKey(w http.ResponseWriter, r *http.Request) error {
	to, err := decodeKeyMail(w, r)
	if err != nil {
		return err
	}
	p, as, err := a.ownedAsset(r)
	if err != nil {
		return err
	}
	err = a.sharing.SendSystemKey(r.Context(), p, a.actor(r), as, to)
	return reply(w, http.StatusAccepted, map[string]string{"sent_to": to}, err)
}

type assetPartnerJSON struct {
	PartnerID string          `json:"partner_id"`
	Name      string          `json:"name"`
	Via       store.GrantKind `json:"via"`
	Role      string          `json:"role"`                // reseller or service
	GrantID   string          `json:"grant_id,omitempty"`  // created and system-key grants
	Effective bool            `json:"effective,omitempty"` // channel: sees it now (consent given)
}

// assetPartners tells the asset's owner which partners see it and why.
func (a *API) assetPartners(w http.ResponseWriter, r *http.Request) error {
	_, as, acc, err := a.visibleAsset(r)
	if err != nil {
		return err
	}
	ps, err := a.sharing.AssetPartners(r.Context(), as, acc)
	out := each(ps, func(x sharing.AssetPartner) assetPartnerJSON {
		return assetPartnerJSON{PartnerID: x.Org.PartnerID, Name: x.Org.Name, Via: x.Via, Role: string(x.Role),
			GrantID: x.GrantID, Effective: x.Effective}
	})
	return reply(w, http.StatusOK, map[string]any{"asset_id": as.ID, "partners": out}, err)
}
