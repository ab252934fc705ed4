package api

import (
	"context"
	"net/http"

	"github.com/kpilot/kpilot/server/sharing"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

type ouKeyRequest struct {
	OUKey string              `json:"ou_key"`
	Asset *sharing.AssetInput `json:"asset,omitempty"`
}

// verifyOUKey is the partner portal's "Verify".
func (a *API) verifyOUKey(w http.ResponseWriter, r *http.Request) error {
	return withJSON(w, r, func(req ouKeyRequest) error {
		ctx, p, who := a.caller(r)
		u, cust, err := a.sharing.VerifyOUKey(ctx, p, who, a.keyGuesser(r), req.OUKey)
		return reply(w, http.StatusOK, map[string]any{"customer": orgRef{ID: cust.ID, Name: cust.Name}, "ou": ouJSON{ID: u.ID, Name: u.Name}}, err)
	})
}

func (a *API) partnerCreateAsset(w http.ResponseWriter, r *http.Request) error {
	return withJSON(w, r, func(req ouKeyRequest) error {
		ctx, p, who := a.caller(r)
		c, err := a.sharing.CreateAssetWithOUKey(ctx, p, who, a.keyGuesser(r), req.OUKey, req.Asset)
		return a.writeCreated(w, c, store.GrantCreated, err)
	})
}

// writeCreated answers an asset a partner reached with a key.
func (a *API) writeCreated(w http.ResponseWriter, c sharing.Created, via store.GrantKind, err error) error {
	if err != nil {
		return err
	}
	j := toAssetJSON(c.Asset, visibility.Access{Class: visibility.Reseller, Via: []store.GrantKind{via}}, a.now())
	j.Customer = &orgRef{ID: c.Customer.ID, Name: c.Customer.Name}
	writeJSON(w, http.StatusCreated, map[string]any{"asset": j, "grant_id": c.Grant.ID})
	return nil
}

type systemKeyRequest struct {
	SystemKey string `json:"system_key"`
}

// verifySystemKey is the partner portal's "Check".
func (a *API) verifySystemKey(w http.ResponseWriter, r *http.Request) error {
	return withJSON(w, r, func(req systemKeyRequest) error {
		ctx, p, who := a.caller(r)
		as, cust, err := a.sharing.VerifySystemKey(ctx, p, who, a.keyGuesser(r), req.SystemKey)
		return reply(w, http.StatusOK, map[string]any{"customer": orgRef{ID: cust.ID, Name: cust.Name},
			"asset": map[string]string{"id": as.ID, "name": as.Name, "category": as.Category}}, err)
	})
}

func (a *API) useSystemKey(w http.ResponseWriter, r *http.Request) error {
	return withJSON(w, r, func(req systemKeyRequest) error {
		ctx, p, who := a.caller(r)
		c, err := a.sharing.UseSystemKey(ctx, p, who, a.keyGuesser(r), req.SystemKey)
		return a.writeCreated(w, c, store.GrantSystemKey, err)
	})
}

func (a *API) inviteCustomer(w http.ResponseWriter, r *http.Request) error {
	return a.inviteOrg(w, r, (*sharing.Service).InviteCustomer)
}

func (a *API) inviteReseller(w http.ResponseWriter, r *http.Request) error {
	return a.inviteOrg(w, r, (*sharing.Service).InviteReseller)
}

func (a *API) inviteOrg(w http.ResponseWriter, r *http.Request,
	prepare func(*sharing.Service, context.Context, visibility.Principal, sharing.InviteInput) (sharing.Invitation, error)) error {
	var req sharing.InviteInput
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	inv, err := prepare(a.sharing, r.Context(), principalFrom(r.Context()), req)
	if err != nil {
		return err
	}
	return a.createInvitation(w, r, inv.Invitation, inv.Inviter, inv.What)
}
