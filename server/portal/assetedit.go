package portal

import (
	"net/http"
	"strings"
)

// editAsset is what the edit page shows of an asset: the API's asset
// with whether a user chose its category.
type editAsset struct {
	asset
	Pinned bool `json:"category_pinned"`
}

// editCategories are the categories a user may pin ("" gives the choice
// back to the agent's inventory).
var editCategories = append(append([]string{}, categories...), "licence")

// assetEditPage: an asset's name, category and OU for its owner's
// admins, the facts its agent reports (read-only: the next inventory
// would overwrite them) and its deletion.
func (p *Portal) assetEditPage(w http.ResponseWriter, r *http.Request, s *session) {
	p.showAssetEdit(w, r, s, "", nil, nil)
}

// showAssetEdit renders the edit page; input and fields hold a failed
// form's values and the API's message per field.
func (p *Portal) showAssetEdit(w http.ResponseWriter, r *http.Request, s *session, errMsg string, input, fields map[string]string) {
	var res struct {
		Asset editAsset `json:"asset"`
	}
	if !p.load(w, r, s, fetch{"/api/v1/assets/" + pathEscape(r.PathValue("id")), &res}) {
		return
	}
	ous, names, err := p.ous(r, s)
	if err != nil {
		p.failIn(w, r, s, err)
		return
	}
	a := res.Asset
	if input == nil {
		input = map[string]string{"name": a.Name, "ou_id": a.OUID, "location": a.Location, "notes": a.Notes}
		if a.Pinned {
			input["category"] = a.Category
		}
	}
	p.render(w, r, s, "asset_edit", errMsg, map[string]any{"Asset": a, "OUs": ous, "OUNames": names,
		"Categories": editCategories, "Input": input, "Fields": fields,
		"Editable": s.me.IsAdmin() && a.Access == "owner"})
}

// saveAsset renames and recategorises an asset.
func (p *Portal) saveAsset(w http.ResponseWriter, r *http.Request, s *session) {
	in := map[string]string{"name": strings.TrimSpace(r.PostFormValue("name")), "category": r.PostFormValue("category"),
		"location": r.PostFormValue("location"), "notes": r.PostFormValue("notes")}
	p.changeAsset(w, r, s, in, in, "asset_saved")
}

// moveAsset puts an asset into another OU.
func (p *Portal) moveAsset(w http.ResponseWriter, r *http.Request, s *session) {
	in := map[string]string{"ou_id": r.PostFormValue("ou_id")}
	p.changeAsset(w, r, s, in, in, "asset_moved")
}

// changeAsset sends body as the asset's PATCH; a failure shows the edit
// page again with input and the API's message at its field.
func (p *Portal) changeAsset(w http.ResponseWriter, r *http.Request, s *session, body, input map[string]string, what string) {
	id := r.PathValue("id")
	if err := p.call(r, s.token, "PATCH", "/api/v1/assets/"+pathEscape(id), body, nil); err != nil {
		top, fields := p.formErrors(r, err)
		p.showAssetEdit(withError(w, err), r, s, top, input, fields)
		return
	}
	done(w, r, "/assets/"+pathEscape(id), what)
}

// deleteAsset deletes an asset once the user confirmed it; while an
// agent still reports it the API's answer says which and what to do.
func (p *Portal) deleteAsset(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	if r.PostFormValue("confirm") != "yes" {
		p.showAssetEdit(withStatus(w, http.StatusBadRequest), r, s, p.tr(r, "error.input"), nil,
			map[string]string{"confirm": p.tr(r, "assetedit.confirm_missing")})
		return
	}
	if err := p.call(r, s.token, "DELETE", "/api/v1/assets/"+pathEscape(id), nil, nil); err != nil {
		top, fields := p.formErrors(r, err)
		p.showAssetEdit(withError(w, err), r, s, top, nil, fields)
		return
	}
	done(w, r, "/config/assets", "asset_deleted")
}
