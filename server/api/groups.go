package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/kpilot/kpilot/server/store"
)

var errNoSuchAsset = &HTTPError{Code: http.StatusNotFound, Msg: "asset_ids: no such asset in this organization"}

type groupJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	AssetIDs  []string  `json:"asset_ids"`
	CreatedAt time.Time `json:"created_at"`
}

func toGroupJSON(g store.DeviceGroup) groupJSON {
	ids := g.AssetIDs
	if ids == nil {
		ids = []string{}
	}
	return groupJSON{ID: g.ID, Name: g.Name, AssetIDs: ids, CreatedAt: g.CreatedAt.UTC()}
}

func (a *API) listGroups(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	if err := customerReader(p); err != nil {
		return err
	}
	gs, err := a.store.DeviceGroups(r.Context(), p.OrgID)
	if err != nil {
		return err
	}
	out := []groupJSON{}
	for _, g := range gs {
		out = append(out, toGroupJSON(g))
	}
	writeJSON(w, http.StatusOK, map[string]any{"device_groups": out})
	return nil
}

type groupRequest struct {
	Name     string   `json:"name"`
	AssetIDs []string `json:"asset_ids"`
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request) error {
	var req groupRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	name, err := checkName("name", req.Name)
	if err != nil {
		return err
	}
	if len(req.AssetIDs) > 10000 {
		return badRequest("asset_ids: at most 10000")
	}
	p, _, err := a.customerAdmin(r)
	if err != nil {
		return err
	}
	g := store.DeviceGroup{OrgID: p.OrgID, Name: name, AssetIDs: req.AssetIDs}
	err = a.store.CreateDeviceGroup(r.Context(), &g)
	if errors.Is(err, store.ErrNotFound) {
		return errNoSuchAsset
	}
	if err != nil {
		return err
	}
	if err := a.audit(r, p.OrgID, "device_group.create", "device_group", g.ID, map[string]any{"name": name, "assets": len(g.AssetIDs)}); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toGroupJSON(g))
	return nil
}

type membersRequest struct {
	AssetIDs []string `json:"asset_ids"`
}

func (a *API) setGroupMembers(w http.ResponseWriter, r *http.Request) error {
	var req membersRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.AssetIDs) > 10000 {
		return badRequest("asset_ids: at most 10000")
	}
	p, _, err := a.customerAdmin(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	err = a.store.SetDeviceGroupMembers(r.Context(), p.OrgID, id, req.AssetIDs)
	if errors.Is(err, store.ErrNotFound) {
		gs, lerr := a.store.DeviceGroups(r.Context(), p.OrgID)
		if lerr != nil {
			return lerr
		}
		for _, g := range gs {
			if g.ID == id {
				return errNoSuchAsset
			}
		}
		return errNotFound
	}
	if err != nil {
		return err
	}
	if err := a.audit(r, p.OrgID, "device_group.members", "device_group", id, map[string]any{"assets": len(req.AssetIDs)}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	p, _, err := a.customerAdmin(r)
	if err != nil {
		return err
	}
	err = a.store.DeleteDeviceGroup(r.Context(), p.OrgID, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	if err := a.audit(r, p.OrgID, "device_group.delete", "device_group", r.PathValue("id"), nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
