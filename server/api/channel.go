package api

import (
	"net/http"
	"time"

	"github.com/kpilot/kpilot/server/sharing"
	"github.com/kpilot/kpilot/server/store"
)

type partnerJSON struct {
	PartnerID       string        `json:"partner_id"`
	Name            string        `json:"name"`
	Kind            store.OrgKind `json:"kind"`
	DefaultReseller bool          `json:"default_reseller"`
	DefaultService  bool          `json:"default_service"`
	AddedAt         *time.Time    `json:"added_at,omitempty"`
}

func toPartnerJSON(cp sharing.Partner) partnerJSON {
	return partnerJSON{PartnerID: cp.Org.PartnerID, Name: cp.Org.Name, Kind: cp.Org.Kind,
		DefaultReseller: cp.DefaultReseller, DefaultService: cp.DefaultService}
}

// checkPartner is "Check ID": the partner's details before adding it.
func (a *API) checkPartner(w http.ResponseWriter, r *http.Request) error {
	ctx, p, _ := a.caller(r)
	o, err := a.sharing.CheckPartner(ctx, p, a.keyGuesser(r), r.PathValue("partner_id"))
	return reply(w, http.StatusOK, partnerJSON{PartnerID: o.PartnerID, Name: o.Name, Kind: o.Kind}, err)
}

func (a *API) listChannelPartners(w http.ResponseWriter, r *http.Request) error {
	ctx, p, _ := a.caller(r)
	cps, consent, err := a.sharing.ChannelPartners(ctx, p)
	out := each(cps, func(cp sharing.Partner) partnerJSON {
		j, at := toPartnerJSON(cp), cp.AddedAt.UTC()
		j.AddedAt = &at
		return j
	})
	return reply(w, http.StatusOK, map[string]any{"channel_partners": out, "consent": consent}, err)
}

func (a *API) addChannelPartner(w http.ResponseWriter, r *http.Request) error {
	return withJSON(w, r, func(req sharing.PartnerInput) error {
		ctx, p, who := a.caller(r)
		cp, err := a.sharing.AddChannelPartner(ctx, p, who, a.keyGuesser(r), req)
		return reply(w, http.StatusCreated, toPartnerJSON(cp), err)
	})
}

func (a *API) updateChannelPartner(w http.ResponseWriter, r *http.Request) error {
	return withJSON(w, r, func(req sharing.Defaults) error {
		ctx, p, who := a.caller(r)
		cp, err := a.sharing.UpdateChannelPartner(ctx, p, who, r.PathValue("partner_id"), req)
		return reply(w, http.StatusOK, toPartnerJSON(cp), err)
	})
}

func (a *API) removeChannelPartner(w http.ResponseWriter, r *http.Request) error {
	ctx, p, who := a.caller(r)
	return noContent(w, a.sharing.RemoveChannelPartner(ctx, p, who, r.PathValue("partner_id")))
}

type assignmentJSON struct {
	ID         string            `json:"id"`
	PartnerID  string            `json:"partner_id"`
	Role       store.ChannelRole `json:"role"`
	AssetID    string            `json:"asset_id,omitempty"`
	GroupID    string            `json:"group_id,omitempty"`
	AssignedAt time.Time         `json:"assigned_at"`
}

func toAssignmentJSON(x sharing.Assignment) assignmentJSON {
	return assignmentJSON{ID: x.ID, PartnerID: x.PartnerID, Role: x.Role, AssetID: x.AssetID, GroupID: x.GroupID,
		AssignedAt: x.AssignedAt.UTC()}
}

func (a *API) listAssignments(w http.ResponseWriter, r *http.Request) error {
	ctx, p, _ := a.caller(r)
	as, err := a.sharing.Assignments(ctx, p)
	return reply(w, http.StatusOK, map[string]any{"assignments": each(as, toAssignmentJSON)}, err)
}

func (a *API) setAssignment(w http.ResponseWriter, r *http.Request) error {
	return withJSON(w, r, func(req sharing.AssignmentInput) error {
		ctx, p, who := a.caller(r)
		x, err := a.sharing.Assign(ctx, p, who, a.keyGuesser(r), req)
		return reply(w, http.StatusOK, toAssignmentJSON(x), err)
	})
}

func (a *API) deleteAssignment(w http.ResponseWriter, r *http.Request) error {
	ctx, p, who := a.caller(r)
	return noContent(w, a.sharing.Unassign(ctx, p, who, r.PathValue("id")))
}

// channelDevices: who holds each device the caller sees, in each role.
func (a *API) channelDevices(w http.ResponseWriter, r *http.Request) error {
	p, _, assets, _, err := a.visibleAssets(r)
	if err != nil {
		return err
	}
	ds, err := a.sharing.ChannelDevices(r.Context(), p, assets)
	return reply(w, http.StatusOK, map[string]any{"devices": ds}, err)
}

func (a *API) setConsent(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Consent *bool `json:"consent"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	ctx, p, who := a.caller(r)
	if err := a.sharing.SetConsent(ctx, p, who, req.Consent); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"consent": *req.Consent})
	return nil
}
