package api

import (
	"net/http"

	"github.com/kpilot/kpilot/server/assets"
	"github.com/kpilot/kpilot/server/visibility"
)

// patchAsset renames, recategorises or moves an asset (assets.Change).
func (a *API) patchAsset(w http.ResponseWriter, r *http.Request) error {
	var in assets.Change
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	as, err := a.assets.Change(r.Context(), principalFrom(r.Context()), a.actor(r), r.PathValue("id"), in)
	return reply(w, http.StatusOK, map[string]any{"asset": toAssetJSON(as, visibility.Access{Class: visibility.Owner}, a.now())}, err)
}

// deleteAsset deletes an asset no agent reports any more (assets.Delete).
func (a *API) deleteAsset(w http.ResponseWriter, r *http.Request) error {
	d, err := a.assets.Delete(r.Context(), principalFrom(r.Context()), a.actor(r), r.PathValue("id"))
	return reply(w, http.StatusOK, map[string]any{"id": d.Asset.ID, "series_dropped": d.SeriesDropped, "series_note": d.SeriesNote}, err)
}
