package api

import (
	"context"
	"net/http"
	"time"

	"github.com/kpilot/kpilot/server/availability"
	"github.com/kpilot/kpilot/server/maintenance"
	"github.com/kpilot/kpilot/server/store"
)

// windowJSON is a maintenance window as the API reads and writes it.
type windowJSON struct {
	ID              string     `json:"id"`
	AssetID         string     `json:"asset_id,omitempty"`
	GroupID         string     `json:"group_id,omitempty"`
	OUID            string     `json:"ou_id,omitempty"`
	Name            string     `json:"name"`
	StartsAt        *time.Time `json:"starts_at,omitempty"`
	EndsAt          *time.Time `json:"ends_at,omitempty"`
	Recurrence      string     `json:"recurrence,omitempty"`
	DurationMinutes int64      `json:"duration_minutes,omitempty"`
	TimeZone        string     `json:"timezone"`
	CreatedBy       string     `json:"created_by,omitempty"`
	CreatedAt       *time.Time `json:"created_at,omitempty"`
}

func toWindowJSON(w store.MaintenanceWindow) windowJSON {
	return windowJSON{ID: w.ID, AssetID: w.AssetID, GroupID: w.GroupID, OUID: w.OUID, Name: w.Name, StartsAt: timePtr(w.StartsAt),
		EndsAt: timePtr(w.EndsAt), Recurrence: w.Recurrence, DurationMinutes: int64(w.Duration / time.Minute), TimeZone: w.TimeZone,
		CreatedBy: w.CreatedBy, CreatedAt: timePtr(w.CreatedAt)}
}

func (j windowJSON) window(id string) store.MaintenanceWindow {
	w := store.MaintenanceWindow{ID: id, AssetID: j.AssetID, GroupID: j.GroupID, OUID: j.OUID, Name: j.Name, Recurrence: j.Recurrence,
		Duration: time.Duration(j.DurationMinutes) * time.Minute, TimeZone: j.TimeZone}
	if j.StartsAt != nil {
		w.StartsAt = *j.StartsAt
	}
	if j.EndsAt != nil {
		w.EndsAt = *j.EndsAt
	}
	return w
}

// listWindows answers GET /api/v1/maintenance-windows?asset_id=&ou_id=.
func (a *API) listWindows(w http.ResponseWriter, r *http.Request) error {
	ctx, p, _ := a.caller(r)
	q := r.URL.Query()
	ws, err := a.maint.List(ctx, p, maintenance.Filter{AssetID: q.Get("asset_id"), OUID: q.Get("ou_id")})
	out := make([]windowJSON, len(ws))
	for i, win := range ws {
		out[i] = toWindowJSON(win)
	}
	return reply(w, http.StatusOK, map[string]any{"maintenance_windows": out}, err)
}

// putWindow answers POST /api/v1/maintenance-windows and PUT
// /api/v1/maintenance-windows/{id}.
func (a *API) putWindow(w http.ResponseWriter, r *http.Request) error {
	ctx, p, who := a.caller(r)
	var req windowJSON
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if id := r.PathValue("id"); id != "" {
		win, err := a.maint.Update(ctx, p, who, req.window(id))
		return reply(w, http.StatusOK, map[string]any{"maintenance_window": toWindowJSON(win)}, err)
	}
	win, err := a.maint.Create(ctx, p, who, req.window(""))
	return reply(w, http.StatusCreated, map[string]any{"maintenance_window": toWindowJSON(win)}, err)
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

// planned marks the downtime of segs inside the asset's maintenance
// windows planned.
func (a *API) planned(ctx context.Context, as store.Asset, segs []availability.Segment, start, stop time.Time) ([]availability.Segment, error) {
	m, err := maintenance.Load(ctx, a.store, as.OrgID)
	if err != nil {
		return nil, err
	}
	return availability.MarkPlanned(segs, m.Planned(as, start, stop)), nil
}
