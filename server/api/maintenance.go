package api

import (
	"net/http"

	"github.com/kpilot/kpilot/server/maintenance"
)

// listWindows answers GET /api/v1/maintenance-windows?asset_id=&ou_id=.
func (a *API) listWindows(w http.ResponseWriter, r *http.Request) error {
	ctx, p, _ := a.caller(r)
	q := r.URL.Query()
	ws, err := a.maint.List(ctx, p, maintenance.Filter{AssetID: q.Get("asset_id"), OUID: q.Get("ou_id")})
	return reply(w, http.StatusOK, map[string]any{"maintenance_windows": maintenance.Docs(ws)}, err)
}

// putWindow answers POST /api/v1/maintenance-windows and PUT
// /api/v1/maintenance-windows/{id}.
func (a *API) putWindow(w http.ResponseWriter, r *http.Request) error {
	ctx, p, who := a.caller(r)
	var req maintenance.Doc
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if id := r.PathValue("id"); id != "" {
		win, err := a.maint.Update(ctx, p, who, req.Window(id))
		return reply(w, http.StatusOK, map[string]any{"maintenance_window": maintenance.ToDoc(win)}, err)
	}
	win, err := a.maint.Create(ctx, p, who, req.Window(""))
	return reply(w, http.StatusCreated, map[string]any{"maintenance_window": maintenance.ToDoc(win)}, err)
}

// deleteWindow answers DELETE /api/v1/maintenance-windows/{id}.
func (a *API) deleteWindow(w http.ResponseWriter, r *http.Request) error {
	ctx, p, who := a.caller(r)
	return noContent(w, a.maint.Delete(ctx, p, who, r.PathValue("id")))
}

// assetParent answers GET, PUT and DELETE /api/v1/assets/{id}/parent: the
// asset this one sits behind.
func (a *API) assetParent(w http.ResponseWriter, r *http.Request) error {
	ctx, p, who := a.caller(r)
	id := r.PathValue("id")
	var req struct {
		ParentID string `json:"parent_id"`
	}
	switch r.Method {
	case http.MethodGet:
		parent, err := a.maint.Parent(ctx, p, id)
		return reply(w, http.StatusOK, map[string]any{"asset_id": id, "parent_id": parent}, err)
	case http.MethodPut:
		if err := decodeJSON(w, r, &req); err != nil {
			return err
		}
		if req.ParentID == "" {
			return badRequest("parent_id: give the parent asset's id; DELETE clears it")
		}
	case http.MethodDelete:
		return noContent(w, a.maint.SetParent(ctx, p, who, id, ""))
	}
	if err := a.maint.SetParent(ctx, p, who, id, req.ParentID); err != nil {
		return err
	}
	parent, err := a.maint.Parent(ctx, p, id)
	return reply(w, http.StatusOK, map[string]any{"asset_id": id, "parent_id": parent}, err)
}
