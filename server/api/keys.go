package api

import (
	"context"
	"net/http"

	"github.com/kpilot/kpilot/server/visibility"
)

// keyKind is what differs between OU keys and system keys; reading,
// sending and rotating work the same for both. Callers check access first.
type keyKind struct {
	name   string // ou_key, system_key: the audit action prefix and JSON field
	what   string // for the mail: "OU key", "system key"
	target string // ou, asset: the audit target type; JSON has <target>_id
	read   func(ctx context.Context, id string) (string, error)
	rotate func(ctx context.Context, id string) (string, error)
}

func (a *API) ouKeys() keyKind {
	return keyKind{"ou_key", "OU key", "ou", a.store.OUKey, a.store.RotateOUKey}
}

func (a *API) systemKeys() keyKind {
	return keyKind{"system_key", "system key", "asset", a.store.SystemKey, a.store.RotateSystemKey}
}

// showKey answers the key of id (a new one when rotate is set). The event
// is written before the key leaves the server.
func (a *API) showKey(w http.ResponseWriter, r *http.Request, k keyKind, org, id string, rotate bool) error {
	get, action := k.read, ".read"
	if rotate {
		get, action = k.rotate, ".rotate"
	}
	key, err := get(r.Context(), id)
	if err != nil {
		return err
	}
	if err := a.audit(r, org, k.name+action, k.target, id, nil); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{k.target + "_id": id, k.name: key})
	return nil
}

type sendKeyRequest struct {
	Email string `json:"email"`
}

// decodeKeyMail reads the recipient of a key mail.
func decodeKeyMail(w http.ResponseWriter, r *http.Request) (string, error) {
	var req sendKeyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return "", err
	}
	return parseEmail("email", req.Email)
}

// mailKey sends the key of id, named owner, to a partner's address.
func (a *API) mailKey(w http.ResponseWriter, r *http.Request, k keyKind, p visibility.Principal, id, owner, to string) error {
	key, err := k.read(r.Context(), id)
	if err != nil {
		return err
	}
	sender, err := a.store.User(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	if err := a.audit(r, p.OrgID, k.name+".send", k.target, id, map[string]any{"to": to}); err != nil {
		return err
	}
	if err := a.send(r, k.name, keyMail(to, k.what, owner, sender.Email, key)); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"sent_to": to})
	return nil
}
