package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// partnerAdmin passes admins of reseller and distributor organizations:
// only they redeem keys and invite customers.
func partnerAdmin(p visibility.Principal) error {
	if !p.IsPartner() {
		return errPartnerOnly
	}
	return requireAdmin(p)
}

var (
	errUnknownOUKey     = &HTTPError{Code: http.StatusNotFound, Msg: "unknown OU key: check it, or ask the customer for the current one (keys can be rotated)"}
	errUnknownSystemKey = &HTTPError{Code: http.StatusNotFound, Msg: "unknown system key: check it, or ask the customer for the current one (keys can be rotated)"}
)

// ouByKey looks up an OU key for a partner admin, counting failed guesses.
func (a *API) ouByKey(r *http.Request, key string) (visibility.Principal, store.OU, store.Organization, error) {
	p := principalFrom(r.Context())
	if err := partnerAdmin(p); err != nil {
		return p, store.OU{}, store.Organization{}, err
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return p, store.OU{}, store.Organization{}, badRequest("ou_key: missing")
	}
	done, err := a.keyGuess(r)
	if err != nil {
		return p, store.OU{}, store.Organization{}, err
	}
	var u store.OU
	if strings.HasPrefix(key, auth.PrefixOUKey) && len(key) <= 128 {
		u, err = a.store.OUByKey(r.Context(), key)
	} else {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		done(false)
		return p, u, store.Organization{}, errUnknownOUKey
	}
	if err != nil {
		return p, u, store.Organization{}, err
	}
	done(true)
	cust, err := a.store.Organization(r.Context(), u.OrgID)
	if err != nil {
		return p, u, cust, err
	}
	if cust.Kind != store.Customer || cust.ID == p.OrgID {
		return p, u, cust, errUnknownOUKey
	}
	return p, u, cust, nil
}

type ouKeyRequest struct {
	OUKey string      `json:"ou_key"`
	Asset *assetInput `json:"asset,omitempty"`
}

// verifyOUKey is the partner portal's "Verify": it tells a partner which
// customer and OU a key belongs to before assets are created with it.
func (a *API) verifyOUKey(w http.ResponseWriter, r *http.Request) error {
	var req ouKeyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	_, u, cust, err := a.ouByKey(r, req.OUKey)
	if err != nil {
		return err
	}
	if err := a.audit(r, cust.ID, "ou_key.verify", "ou", u.ID, nil); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"customer": orgRef{ID: cust.ID, Name: cust.Name}, "ou": ouJSON{ID: u.ID, Name: u.Name}})
	return nil
}

// partnerCreateAsset creates an asset in the OU of an OU key; the partner
// sees it by a `created` grant, and nothing else of the OU.
func (a *API) partnerCreateAsset(w http.ResponseWriter, r *http.Request) error {
	var req ouKeyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Asset == nil {
		return badRequest("asset: missing")
	}
	as, err := req.Asset.asset()
	if err != nil {
		return err
	}
	p, u, cust, err := a.ouByKey(r, req.OUKey)
	if err != nil {
		return err
	}
	as.OrgID, as.OUID, as.CreatedByOrg = cust.ID, u.ID, p.OrgID
	g := store.Grant{PartnerOrgID: p.OrgID, Kind: store.GrantCreated, GrantedBy: p.UserID}
	if err := a.createStoredAsset(r, &as, &g); err != nil {
		return err
	}
	if err := a.audit(r, cust.ID, "ou_key.use", "asset", as.ID, map[string]any{"ou_id": u.ID, "name": as.Name, "grant_id": g.ID}); err != nil {
		return err
	}
	j := toAssetJSON(as, visibility.Access{Class: visibility.Reseller, Via: []store.GrantKind{store.GrantCreated}}, a.now())
	j.Customer = &orgRef{ID: cust.ID, Name: cust.Name}
	writeJSON(w, http.StatusCreated, map[string]any{"asset": j, "grant_id": g.ID})
	return nil
}

type systemKeyRequest struct {
	SystemKey string `json:"system_key"`
}

func (a *API) assetBySystemKey(r *http.Request, key string) (visibility.Principal, store.Asset, store.Organization, error) {
	p := principalFrom(r.Context())
	if err := partnerAdmin(p); err != nil {
		return p, store.Asset{}, store.Organization{}, err
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return p, store.Asset{}, store.Organization{}, badRequest("system_key: missing")
	}
	done, err := a.keyGuess(r)
	if err != nil {
		return p, store.Asset{}, store.Organization{}, err
	}
	var as store.Asset
	if strings.HasPrefix(key, auth.PrefixSystemKey) && len(key) <= 128 {
		as, err = a.store.AssetBySystemKey(r.Context(), key)
	} else {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		done(false)
		return p, as, store.Organization{}, errUnknownSystemKey
	}
	if err != nil {
		return p, as, store.Organization{}, err
	}
	done(true)
	cust, err := a.store.Organization(r.Context(), as.OrgID)
	if err != nil {
		return p, as, cust, err
	}
	if cust.ID == p.OrgID {
		return p, as, cust, errUnknownSystemKey
	}
	return p, as, cust, nil
}

// verifySystemKey is the partner portal's "Check".
func (a *API) verifySystemKey(w http.ResponseWriter, r *http.Request) error {
	var req systemKeyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	_, as, cust, err := a.assetBySystemKey(r, req.SystemKey)
	if err != nil {
		return err
	}
	if err := a.audit(r, cust.ID, "system_key.verify", "asset", as.ID, nil); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"customer": orgRef{ID: cust.ID, Name: cust.Name},
		"asset": map[string]string{"id": as.ID, "name": as.Name, "category": as.Category}})
	return nil
}

// useSystemKey adds the one asset of a system key to the partner's view.
func (a *API) useSystemKey(w http.ResponseWriter, r *http.Request) error {
	var req systemKeyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	p, as, cust, err := a.assetBySystemKey(r, req.SystemKey)
	if err != nil {
		return err
	}
	g := store.Grant{AssetID: as.ID, CustomerOrgID: cust.ID, PartnerOrgID: p.OrgID, Kind: store.GrantSystemKey, GrantedBy: p.UserID}
	if err := a.store.CreateGrant(r.Context(), &g); err != nil {
		return err
	}
	if err := a.audit(r, cust.ID, "system_key.use", "asset", as.ID, map[string]any{"grant_id": g.ID}); err != nil {
		return err
	}
	j := toAssetJSON(as, visibility.Access{Class: visibility.Reseller, Via: []store.GrantKind{store.GrantSystemKey}}, a.now())
	j.Customer = &orgRef{ID: cust.ID, Name: cust.Name}
	writeJSON(w, http.StatusCreated, map[string]any{"asset": j, "grant_id": g.ID})
	return nil
}

type inviteOrgRequest struct {
	Company string      `json:"company"`
	Email   string      `json:"email"`
	Asset   *assetInput `json:"asset,omitempty"`
}

// inviteCustomer: a partner invites a new customer together with its
// first asset (seed 000). Accepting creates the customer, its admin and
// the asset, which the partner sees by a `created` grant.
func (a *API) inviteCustomer(w http.ResponseWriter, r *http.Request) error {
	var req inviteOrgRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	p := principalFrom(r.Context())
	if err := partnerAdmin(p); err != nil {
		return err
	}
	if req.Asset == nil {
		return badRequest("asset: the customer's first asset is required")
	}
	as, err := req.Asset.asset()
	if err != nil {
		return err
	}
	return a.inviteOrg(w, r, p, req, store.InviteCustomer, &as)
}

// inviteReseller: a distributor invites a new reseller.
func (a *API) inviteReseller(w http.ResponseWriter, r *http.Request) error {
	var req inviteOrgRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	p := principalFrom(r.Context())
	if p.OrgKind != store.Distributor {
		return &HTTPError{Code: http.StatusForbidden, Msg: "only distributors invite resellers"}
	}
	if err := requireAdmin(p); err != nil {
		return err
	}
	if req.Asset != nil {
		return badRequest("asset: only customer invitations carry an asset")
	}
	return a.inviteOrg(w, r, p, req, store.InviteReseller, nil)
}

func (a *API) inviteOrg(w http.ResponseWriter, r *http.Request, p visibility.Principal, req inviteOrgRequest, kind store.InvitationKind, as *store.Asset) error {
	company, err := checkName("company", req.Company)
	if err != nil {
		return err
	}
	to, err := parseEmail("email", req.Email)
	if err != nil {
		return err
	}
	inviter, err := a.store.Organization(r.Context(), p.OrgID)
	if err != nil {
		return err
	}
	inv := store.Invitation{Kind: kind, Email: to, Role: store.Admin, Company: company, Asset: as,
		InvitedBy: p.UserID, InvitedByOrg: p.OrgID}
	what := fmt.Sprintf("as the first administrator of %s", company)
	return a.createInvitation(w, r, inv, inviter.Name, what)
}
