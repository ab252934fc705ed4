package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/kpilot/kpilot/server/inventory"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

type assetInput struct {
	Name         string `json:"name"`
	Category     string `json:"category"`
	Manufacturer string `json:"manufacturer"`
	Product      string `json:"product"`
	Type         string `json:"type"`
	Version      string `json:"version"`
	Serial       string `json:"serial"`
}

// asset validates the input into an asset without organization or OU.
func (in assetInput) asset() (store.Asset, error) {
	name, err := checkName("asset.name", in.Name)
	if err != nil {
		return store.Asset{}, err
	}
	cat := strings.ToLower(strings.TrimSpace(in.Category))
	if !categories[cat] {
		return store.Asset{}, badRequest("asset.category %q: one of server, storage, backup, network, power, printer, software, licence", in.Category)
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
			return store.Asset{}, badRequest("asset.%s: at most 200 characters on one line", f.name)
		}
		*f.out = v
	}
	if id := inventory.SerialIdentity(a.Manufacturer, a.Serial); id != "" {
		// An agent that reports this device later finds this asset.
		a.Identities = []string{id}
	}
	return a, nil
}

// createStoredAsset stores an asset entered by hand; a device the
// organization already has (same manufacturer and serial) is a conflict.
func (a *API) createStoredAsset(r *http.Request, as *store.Asset, g *store.Grant) error {
	err := a.store.CreateAsset(r.Context(), as, g)
	if errors.Is(err, store.ErrConflict) {
		return &HTTPError{Code: http.StatusConflict, Err: err,
			Msg: "the organization already has an asset with this manufacturer and serial number"}
	}
	return err
}

type createAssetRequest struct {
	OUID string `json:"ou_id"`
	assetInput
}

// createAsset lets a customer admin enter an asset by hand (one no agent
// reports, such as a licence) into an OU it administers.
func (a *API) createAsset(w http.ResponseWriter, r *http.Request) error {
	var req createAssetRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	as, err := req.asset()
	if err != nil {
		return err
	}
	p := principalFrom(r.Context())
	if req.OUID == "" {
		req.OUID = p.OUID
	}
	p, u, _, err := a.adminOU(r, req.OUID)
	if err != nil {
		return err
	}
	as.OrgID, as.OUID = p.OrgID, u.ID
	if err := a.createStoredAsset(r, &as, nil); err != nil {
		return err
	}
	if err := a.audit(r, p.OrgID, "asset.create", "asset", as.ID, map[string]any{"name": as.Name, "ou_id": u.ID}); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"asset": toAssetJSON(as, visibility.Access{Class: visibility.Owner}, a.now())})
	return nil
}

func (a *API) readSystemKey(w http.ResponseWriter, r *http.Request) error {
	p, as, err := a.ownedAsset(r)
	if err != nil {
		return err
	}
	return a.showKey(w, r, a.systemKeys(), p.OrgID, as.ID, false)
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
	return a.mailKey(w, r, a.systemKeys(), p, as.ID, as.Name, to)
}

func (a *API) rotateSystemKey(w http.ResponseWriter, r *http.Request) error {
	p, as, err := a.ownedAsset(r)
	if err != nil {
		return err
	}
	return a.showKey(w, r, a.systemKeys(), p.OrgID, as.ID, true)
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
	if acc.Class != visibility.Owner {
		return errReadOnly
	}
	ctx := r.Context()
	grants, err := a.store.Grants(ctx, store.GrantFilter{CustomerOrgID: as.OrgID, AssetID: as.ID, LiveOnly: true})
	if err != nil {
		return err
	}
	cust, err := a.store.Organization(ctx, as.OrgID)
	if err != nil {
		return err
	}
	ch := visibility.Channel{Customer: cust, Assets: []store.Asset{as}}
	if ch.Partners, err = a.store.ChannelPartners(ctx, cust.ID); err != nil {
		return err
	}
	if ch.Assignments, err = a.store.ChannelAssignments(ctx, cust.ID); err != nil {
		return err
	}
	if ch.Groups, err = a.store.DeviceGroups(ctx, cust.ID); err != nil {
		return err
	}
	roles := visibility.EffectivePartners(ch)[as.ID]
	ids := []string{}
	for _, g := range grants {
		ids = append(ids, g.PartnerOrgID)
	}
	for _, pid := range roles {
		ids = append(ids, pid)
	}
	orgs, err := a.store.OrganizationsByIDs(ctx, ids)
	if err != nil {
		return err
	}
	byID := map[string]store.Organization{}
	for _, o := range orgs {
		byID[o.ID] = o
	}
	out := []assetPartnerJSON{}
	for _, g := range grants {
		o := byID[g.PartnerOrgID]
		out = append(out, assetPartnerJSON{PartnerID: o.PartnerID, Name: o.Name, Via: g.Kind, Role: "reseller", GrantID: g.ID})
	}
	for _, role := range []store.ChannelRole{store.RoleReseller, store.RoleService} {
		if pid, ok := roles[role]; ok {
			o := byID[pid]
			out = append(out, assetPartnerJSON{PartnerID: o.PartnerID, Name: o.Name, Via: store.GrantChannel, Role: string(role),
				Effective: cust.ChannelConsent})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"asset_id": as.ID, "partners": out})
	return nil
}
