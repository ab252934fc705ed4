package api

import (
	"net/http"

	"github.com/kpilot/kpilot/server/store"
)

type orgJSON struct {
	ID             string        `json:"id"`
	Name           string        `json:"name"`
	Kind           store.OrgKind `json:"kind"`
	PartnerID      string        `json:"partner_id,omitempty"`
	RootOUID       string        `json:"root_ou_id"`
	ChannelConsent bool          `json:"channel_consent"`
}

func (a *API) organization(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	o, err := a.store.Organization(r.Context(), p.OrgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, orgJSON{ID: o.ID, Name: o.Name, Kind: o.Kind, PartnerID: o.PartnerID,
		RootOUID: o.RootOU, ChannelConsent: o.ChannelConsent})
	return nil
}

type ouJSON struct {
	ID       string `json:"id"`
	ParentID string `json:"parent_id,omitempty"`
	Name     string `json:"name"`
}

func toOUJSON(u store.OU) ouJSON { return ouJSON{ID: u.ID, ParentID: u.ParentID, Name: u.Name} }

// listOUs answers the caller's OU and every OU below it.
func (a *API) listOUs(w http.ResponseWriter, r *http.Request) error {
	ctx, p, _ := a.caller(r)
	ous, err := a.sharing.OUs(ctx, p)
	return reply(w, http.StatusOK, map[string]any{"ous": each(ous, toOUJSON)}, err)
}

type ouRequest struct {
	ParentID *string `json:"parent_id"`
	Name     *string `json:"name"`
}

func (a *API) createOU(w http.ResponseWriter, r *http.Request) error {
	return withJSON(w, r, func(req ouRequest) error {
		ctx, p, who := a.caller(r)
		u, err := a.sharing.AddOU(ctx, p, who, req.ParentID, req.Name)
		return reply(w, http.StatusCreated, toOUJSON(u), err)
	})
}

func (a *API) updateOU(w http.ResponseWriter, r *http.Request) error {
	return withJSON(w, r, func(req ouRequest) error {
		p, u, ous, err := a.adminOU(r, r.PathValue("id"))
		if err != nil {
			return err
		}
		u, err = a.sharing.UpdateOU(r.Context(), p, a.actor(r), u, ous, req.Name, req.ParentID)
		return reply(w, http.StatusOK, toOUJSON(u), err)
	})
}

func (a *API) deleteOU(w http.ResponseWriter, r *http.Request) error {
	p, u, _, err := a.adminOU(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	return noContent(w, a.sharing.DeleteOU(r.Context(), p, a.actor(r), u))
}

func (a *API) readOUKey(w http.ResponseWriter, r *http.Request) error { return a.ouKey(w, r, false) }

func (a *API) rotateOUKey(w http.ResponseWriter, r *http.Request) error { return a.ouKey(w, r, true) }

func (a *API) ouKey(w http.ResponseWriter, r *http.Request, rotate bool) error {
	p, u, _, err := a.adminOU(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	key, err := a.sharing.OUKey(r.Context(), p, a.actor(r), u, rotate)
	return reply(w, http.StatusOK, map[string]string{"ou_id": u.ID, "ou_key": key}, err)
}

func (a *API) sendOUKey(w http.ResponseWriter, r *http.Request) error {
	to, err := decodeKeyMail(w, r)
	if err != nil {
		return err
	}
	p, u, _, err := a.adminOU(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	err = a.sharing.SendOUKey(r.Context(), p, a.actor(r), u, to)
	return reply(w, http.StatusAccepted, map[string]string{"sent_to": to}, err)
}
