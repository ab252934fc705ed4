package api

import (
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
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

// listOUs answers the caller's OU and every OU below it.
func (a *API) listOUs(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	ous, err := a.store.OUs(r.Context(), p.OrgID)
	if err != nil {
		return err
	}
	sub := visibility.Subtree(p.OrgID, p.OUID, ous)
	out := []ouJSON{}
	for _, u := range ous {
		if sub[u.ID] {
			j := ouJSON{ID: u.ID, Name: u.Name, ParentID: u.ParentID}
			if u.ID == p.OUID {
				j.ParentID = "" // the top of what the caller sees
			}
			out = append(out, j)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ous": out})
	return nil
}

func checkName(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > 200 || strings.ContainsAny(s, "\x00\r\n") {
		return "", badRequest("%s: 1 to 200 characters on one line", field)
	}
	return s, nil
}

type ouRequest struct {
	ParentID *string `json:"parent_id"`
	Name     *string `json:"name"`
}

func (a *API) createOU(w http.ResponseWriter, r *http.Request) error {
	var req ouRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.ParentID == nil || req.Name == nil {
		return badRequest("parent_id and name are required")
	}
	name, err := checkName("name", *req.Name)
	if err != nil {
		return err
	}
	p, parent, _, err := a.adminOU(r, *req.ParentID)
	if err != nil {
		return err
	}
	u := store.OU{OrgID: p.OrgID, ParentID: parent.ID, Name: name}
	if err := a.store.CreateOU(r.Context(), &u); err != nil {
		return err
	}
	if err := a.audit(r, p.OrgID, "ou.create", "ou", u.ID, map[string]any{"name": name, "parent_id": parent.ID}); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, ouJSON{ID: u.ID, ParentID: u.ParentID, Name: u.Name})
	return nil
}

// updateOU renames and/or moves an OU. An admin may change OUs below its
// own, and move them only within its subtree.
func (a *API) updateOU(w http.ResponseWriter, r *http.Request) error {
	var req ouRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	p, u, ous, err := a.adminOU(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	if req.Name != nil {
		name, err := checkName("name", *req.Name)
		if err != nil {
			return err
		}
		if err := a.store.RenameOU(r.Context(), p.OrgID, u.ID, name); err != nil {
			return err
		}
		if err := a.audit(r, p.OrgID, "ou.rename", "ou", u.ID, map[string]any{"from": u.Name, "to": name}); err != nil {
			return err
		}
		u.Name = name
	}
	if req.ParentID != nil && *req.ParentID != u.ParentID {
		if u.ID == p.OUID {
			return &HTTPError{Code: http.StatusForbidden, Msg: "an admin cannot move the OU it administers from"}
		}
		if !visibility.Subtree(p.OrgID, p.OUID, ous)[*req.ParentID] {
			return badRequest("parent_id: no such OU")
		}
		err := a.store.MoveOU(r.Context(), p.OrgID, u.ID, *req.ParentID)
		if errors.Is(err, store.ErrInvalid) {
			return badRequest("parent_id: an OU cannot move below itself, and the root cannot move")
		}
		if err != nil {
			return err
		}
		if err := a.audit(r, p.OrgID, "ou.move", "ou", u.ID, map[string]any{"from": u.ParentID, "to": *req.ParentID}); err != nil {
			return err
		}
		u.ParentID = *req.ParentID
	}
	writeJSON(w, http.StatusOK, ouJSON{ID: u.ID, ParentID: u.ParentID, Name: u.Name})
	return nil
}

func (a *API) deleteOU(w http.ResponseWriter, r *http.Request) error {
	p, u, _, err := a.adminOU(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	if u.ID == p.OUID {
		return &HTTPError{Code: http.StatusForbidden, Msg: "an admin cannot delete the OU it administers from"}
	}
	err = a.store.DeleteOU(r.Context(), p.OrgID, u.ID)
	switch {
	case errors.Is(err, store.ErrNotEmpty):
		return &HTTPError{Code: http.StatusConflict, Msg: "the OU is not empty: move or delete its OUs, assets, agents, users and open invitations first"}
	case errors.Is(err, store.ErrInvalid):
		return &HTTPError{Code: http.StatusConflict, Msg: "the root OU cannot be deleted"}
	case err != nil:
		return err
	}
	if err := a.audit(r, p.OrgID, "ou.delete", "ou", u.ID, map[string]any{"name": u.Name}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// keyOU is the OU named in the path, for an admin of it in a customer
// organization: only they read, send and rotate its key.
func (a *API) keyOU(r *http.Request) (visibility.Principal, store.OU, error) {
	p, u, _, err := a.adminOU(r, r.PathValue("id"))
	if err != nil {
		return p, u, err
	}
	if p.IsPartner() {
		return p, u, errCustomerOnly
	}
	return p, u, nil
}

func (a *API) readOUKey(w http.ResponseWriter, r *http.Request) error {
	p, u, err := a.keyOU(r)
	if err != nil {
		return err
	}
	return a.showKey(w, r, a.ouKeys(), p.OrgID, u.ID, false)
}

func (a *API) sendOUKey(w http.ResponseWriter, r *http.Request) error {
	to, err := decodeKeyMail(w, r)
	if err != nil {
		return err
	}
	p, u, err := a.keyOU(r)
	if err != nil {
		return err
	}
	return a.mailKey(w, r, a.ouKeys(), p, u.ID, u.Name, to)
}

func (a *API) rotateOUKey(w http.ResponseWriter, r *http.Request) error {
	p, u, err := a.keyOU(r)
	if err != nil {
		return err
	}
	return a.showKey(w, r, a.ouKeys(), p.OrgID, u.ID, true)
}
