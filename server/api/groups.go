package api

import (
	"net/http"
	"time"

	"github.com/kpilot/kpilot/server/store"
)

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
	ctx, p, _ := a.caller(r)
	gs, err := a.sharing.Groups(ctx, p)
	return reply(w, http.StatusOK, map[string]any{"device_groups": each(gs, toGroupJSON)}, err)
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name     string   `json:"name"`
		AssetIDs []string `json:"asset_ids"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	ctx, p, who := a.caller(r)
	g, err := a.sharing.CreateGroup(ctx, p, who, req.Name, req.AssetIDs)
	return reply(w, http.StatusCreated, toGroupJSON(g), err)
}

func (a *API) setGroupMembers(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		AssetIDs []string `json:"asset_ids"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	ctx, p, who := a.caller(r)
	return noContent(w, a.sharing.SetGroupMembers(ctx, p, who, r.PathValue("id"), req.AssetIDs))
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	ctx, p, who := a.caller(r)
	return noContent(w, a.sharing.DeleteGroup(ctx, p, who, r.PathValue("id")))
}
