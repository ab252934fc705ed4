package portal

import (
	"errors"
	"net/http"
	"regexp"
)

// apiField matches an API message that names the field it is about
// ("name: too long", "asset_ids[2]: no such asset", `email "x": not an
// email address`, "asset.serial: at most 200 characters": the field of a
// nested object by its own name): the domain packages start their
// validation messages so.
var apiField = regexp.MustCompile(`^(?:[a-z_]+\.)?([a-z][a-z_]*)(?:\[\d+\])?(?: "[^"]*")?: (.+)$`)

// formErrors splits the failure of a form for the page: a message for the
// top of the page and, when the API named a field, its message to show at
// that field (fields keyed by the API's field name, which the forms use as
// input names).
func (p *Portal) formErrors(r *http.Request, err error) (top string, fields map[string]string) {
	var ae *apiError
	if errors.As(err, &ae) {
		switch ae.Code {
		case http.StatusBadRequest, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusNotFound:
			if m := apiField.FindStringSubmatch(ae.Msg); m != nil {
				return p.tr(r, "error.input"), map[string]string{m[1]: m[2]}
			}
		}
	}
	return p.message(r, err), nil
}
