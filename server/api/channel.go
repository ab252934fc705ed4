package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// customerAdmin passes admins of a customer organization at its root OU:
// channel partners, consent and device groups concern the whole customer.
func (a *API) customerAdmin(r *http.Request) (visibility.Principal, store.Organization, error) {
	p := principalFrom(r.Context())
	if p.OrgKind != store.Customer {
		return p, store.Organization{}, errCustomerOnly
	}
	o, err := a.store.Organization(r.Context(), p.OrgID)
	if err != nil {
		return p, o, err
	}
	if !p.IsAdmin() || p.OUID != o.RootOU {
		return p, o, &HTTPError{Code: http.StatusForbidden, Msg: "only admins of the whole organization (its top OU) may do this"}
	}
	return p, o, nil
}

// customerReader passes every user of a customer organization.
func customerReader(p visibility.Principal) error {
	if p.OrgKind != store.Customer {
		return errCustomerOnly
	}
	return nil
}

type partnerJSON struct {
	PartnerID       string        `json:"partner_id"`
	Name            string        `json:"name"`
	Kind            store.OrgKind `json:"kind"`
	DefaultReseller bool          `json:"default_reseller"`
	DefaultService  bool          `json:"default_service"`
	AddedAt         *time.Time    `json:"added_at,omitempty"`
}

// partnerByPublicID looks up a partner ID for a customer admin ("Check
// ID"), counting failed guesses like key guesses.
func (a *API) partnerByPublicID(r *http.Request, pid string) (store.Organization, error) {
	pid = strings.TrimSpace(pid)
	if pid == "" || len(pid) > 64 {
		return store.Organization{}, badRequest("partner_id: missing or too long")
	}
	done, err := a.keyGuess(r)
	if err != nil {
		return store.Organization{}, err
	}
	o, err := a.store.OrganizationByPartnerID(r.Context(), pid)
	if errors.Is(err, store.ErrNotFound) {
		done(false)
		return o, &HTTPError{Code: http.StatusNotFound, Msg: "unknown partner ID: check it with your partner"}
	}
	if err != nil {
		return o, err
	}
	done(true)
	return o, nil
}

// checkPartner is "Check ID": the partner's details before adding it.
func (a *API) checkPartner(w http.ResponseWriter, r *http.Request) error {
	if _, _, err := a.customerAdmin(r); err != nil {
		return err
	}
	o, err := a.partnerByPublicID(r, r.PathValue("partner_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, partnerJSON{PartnerID: o.PartnerID, Name: o.Name, Kind: o.Kind})
	return nil
}

func (a *API) listChannelPartners(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	if err := customerReader(p); err != nil {
		return err
	}
	cps, err := a.store.ChannelPartners(r.Context(), p.OrgID)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(cps))
	for _, cp := range cps {
		ids = append(ids, cp.PartnerOrgID)
	}
	orgs, err := a.store.OrganizationsByIDs(r.Context(), ids)
	if err != nil {
		return err
	}
	byID := map[string]store.Organization{}
	for _, o := range orgs {
		byID[o.ID] = o
	}
	o, err := a.store.Organization(r.Context(), p.OrgID)
	if err != nil {
		return err
	}
	out := []partnerJSON{}
	for _, cp := range cps {
		po := byID[cp.PartnerOrgID]
		at := cp.AddedAt.UTC()
		out = append(out, partnerJSON{PartnerID: po.PartnerID, Name: po.Name, Kind: po.Kind,
			DefaultReseller: cp.DefaultReseller, DefaultService: cp.DefaultService, AddedAt: &at})
	}
	writeJSON(w, http.StatusOK, map[string]any{"channel_partners": out, "consent": o.ChannelConsent})
	return nil
}

type channelPartnerRequest struct {
	PartnerID       string `json:"partner_id"`
	DefaultReseller bool   `json:"default_reseller"`
	DefaultService  bool   `json:"default_service"`
}

func (a *API) addChannelPartner(w http.ResponseWriter, r *http.Request) error {
	var req channelPartnerRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	p, _, err := a.customerAdmin(r)
	if err != nil {
		return err
	}
	po, err := a.partnerByPublicID(r, req.PartnerID)
	if err != nil {
		return err
	}
	err = a.store.AddChannelPartner(r.Context(), store.ChannelPartner{CustomerOrgID: p.OrgID, PartnerOrgID: po.ID,
		DefaultReseller: req.DefaultReseller, DefaultService: req.DefaultService, AddedBy: p.UserID, AddedAt: a.now()})
	if errors.Is(err, store.ErrConflict) {
		return &HTTPError{Code: http.StatusConflict, Msg: "this partner is already a channel partner"}
	}
	if err != nil {
		return err
	}
	if err := a.audit(r, p.OrgID, "channel_partner.add", "partner", po.ID, map[string]any{"partner_id": po.PartnerID,
		"default_reseller": req.DefaultReseller, "default_service": req.DefaultService}); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, partnerJSON{PartnerID: po.PartnerID, Name: po.Name, Kind: po.Kind,
		DefaultReseller: req.DefaultReseller, DefaultService: req.DefaultService})
	return nil
}

// channelPartner resolves the partner ID in the path to a partner of the
// caller's customer organization.
func (a *API) channelPartner(r *http.Request, customer string) (store.Organization, store.ChannelPartner, error) {
	po, err := a.store.OrganizationByPartnerID(r.Context(), r.PathValue("partner_id"))
	if errors.Is(err, store.ErrNotFound) {
		return po, store.ChannelPartner{}, errNotFound
	}
	if err != nil {
		return po, store.ChannelPartner{}, err
	}
	cps, err := a.store.ChannelPartners(r.Context(), customer)
	if err != nil {
		return po, store.ChannelPartner{}, err
	}
	for _, cp := range cps {
		if cp.PartnerOrgID == po.ID {
			return po, cp, nil
		}
	}
	return po, store.ChannelPartner{}, errNotFound
}

type defaultsRequest struct {
	DefaultReseller *bool `json:"default_reseller"`
	DefaultService  *bool `json:"default_service"`
}

func (a *API) updateChannelPartner(w http.ResponseWriter, r *http.Request) error {
	var req defaultsRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	p, _, err := a.customerAdmin(r)
	if err != nil {
		return err
	}
	po, cp, err := a.channelPartner(r, p.OrgID)
	if err != nil {
		return err
	}
	if req.DefaultReseller != nil {
		cp.DefaultReseller = *req.DefaultReseller
	}
	if req.DefaultService != nil {
		cp.DefaultService = *req.DefaultService
	}
	if err := a.store.SetChannelDefaults(r.Context(), p.OrgID, po.ID, cp.DefaultReseller, cp.DefaultService); err != nil {
		return err
	}
	if err := a.audit(r, p.OrgID, "channel_partner.update", "partner", po.ID, map[string]any{"partner_id": po.PartnerID,
		"default_reseller": cp.DefaultReseller, "default_service": cp.DefaultService}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, partnerJSON{PartnerID: po.PartnerID, Name: po.Name, Kind: po.Kind,
		DefaultReseller: cp.DefaultReseller, DefaultService: cp.DefaultService})
	return nil
}

func (a *API) removeChannelPartner(w http.ResponseWriter, r *http.Request) error {
	p, _, err := a.customerAdmin(r)
	if err != nil {
		return err
	}
	po, _, err := a.channelPartner(r, p.OrgID)
	if err != nil {
		return err
	}
	err = a.store.RemoveChannelPartner(r.Context(), p.OrgID, po.ID)
	if errors.Is(err, store.ErrInvalid) {
		return &HTTPError{Code: http.StatusConflict, Msg: "a default partner cannot be removed: make another partner the default first"}
	}
	if err != nil {
		return err
	}
	if err := a.audit(r, p.OrgID, "channel_partner.remove", "partner", po.ID, map[string]any{"partner_id": po.PartnerID}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type assignmentJSON struct {
	ID         string            `json:"id"`
	PartnerID  string            `json:"partner_id"`
	Role       store.ChannelRole `json:"role"`
	AssetID    string            `json:"asset_id,omitempty"`
	GroupID    string            `json:"group_id,omitempty"`
	AssignedAt time.Time         `json:"assigned_at"`
}

func (a *API) listAssignments(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	if err := customerReader(p); err != nil {
		return err
	}
	as, err := a.store.ChannelAssignments(r.Context(), p.OrgID)
	if err != nil {
		return err
	}
	pids, err := a.partnerIDs(r, p.OrgID)
	if err != nil {
		return err
	}
	out := []assignmentJSON{}
	for _, x := range as {
		out = append(out, assignmentJSON{ID: x.ID, PartnerID: pids[x.PartnerOrgID], Role: x.Role, AssetID: x.AssetID,
			GroupID: x.GroupID, AssignedAt: x.AssignedAt.UTC()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"assignments": out})
	return nil
}

// partnerIDs maps the organization ids of a customer's channel partners
// to their public partner IDs.
func (a *API) partnerIDs(r *http.Request, customer string) (map[string]string, error) {
	cps, err := a.store.ChannelPartners(r.Context(), customer)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(cps))
	for _, cp := range cps {
		ids = append(ids, cp.PartnerOrgID)
	}
	orgs, err := a.store.OrganizationsByIDs(r.Context(), ids)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, o := range orgs {
		out[o.ID] = o.PartnerID
	}
	return out, nil
}

type assignRequest struct {
	PartnerID string            `json:"partner_id"`
	Role      store.ChannelRole `json:"role"`
	AssetID   string            `json:"asset_id"`
	GroupID   string            `json:"group_id"`
}

// setAssignment gives a device or device group to a channel partner in a
// role, replacing the previous partner of that role.
func (a *API) setAssignment(w http.ResponseWriter, r *http.Request) error {
	var req assignRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Role != store.RoleReseller && req.Role != store.RoleService {
		return badRequest("role %q: reseller or service", req.Role)
	}
	if (req.AssetID == "") == (req.GroupID == "") {
		return badRequest("name either asset_id or group_id")
	}
	p, _, err := a.customerAdmin(r)
	if err != nil {
		return err
	}
	po, err := a.store.OrganizationByPartnerID(r.Context(), req.PartnerID)
	if errors.Is(err, store.ErrNotFound) {
		return &HTTPError{Code: http.StatusNotFound, Msg: "partner_id: not a channel partner of this organization; add it first"}
	}
	if err != nil {
		return err
	}
	as := store.ChannelAssignment{CustomerOrgID: p.OrgID, PartnerOrgID: po.ID, Role: req.Role, AssetID: req.AssetID,
		GroupID: req.GroupID, AssignedBy: p.UserID, AssignedAt: a.now()}
	err = a.store.SetChannelAssignment(r.Context(), &as)
	if errors.Is(err, store.ErrNotFound) {
		return &HTTPError{Code: http.StatusNotFound, Msg: "no such channel partner, device or device group in this organization"}
	}
	if err != nil {
		return err
	}
	if err := a.audit(r, p.OrgID, "channel.assign", "assignment", as.ID, map[string]any{"partner_id": po.PartnerID,
		"role": as.Role, "asset_id": as.AssetID, "group_id": as.GroupID}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, assignmentJSON{ID: as.ID, PartnerID: po.PartnerID, Role: as.Role, AssetID: as.AssetID,
		GroupID: as.GroupID, AssignedAt: as.AssignedAt.UTC()})
	return nil
}

// deleteAssignment returns a device or group to the default partner.
func (a *API) deleteAssignment(w http.ResponseWriter, r *http.Request) error {
	p, _, err := a.customerAdmin(r)
	if err != nil {
		return err
	}
	err = a.store.DeleteChannelAssignment(r.Context(), p.OrgID, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	if err := a.audit(r, p.OrgID, "channel.unassign", "assignment", r.PathValue("id"), nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type consentRequest struct {
	Consent *bool `json:"consent"`
}

// setConsent switches channel-partner visibility on or off for the whole
// customer; it takes effect on the partners' next request.
func (a *API) setConsent(w http.ResponseWriter, r *http.Request) error {
	var req consentRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Consent == nil {
		return badRequest("consent: true or false")
	}
	p, _, err := a.customerAdmin(r)
	if err != nil {
		return err
	}
	if err := a.store.SetChannelConsent(r.Context(), p.OrgID, *req.Consent); err != nil {
		return err
	}
	action := "channel.consent_withdraw"
	if *req.Consent {
		action = "channel.consent_give"
	}
	if err := a.audit(r, p.OrgID, action, "organization", p.OrgID, nil); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"consent": *req.Consent})
	return nil
}
