package api

import (
	"context"
	"net/http"
	"time"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/ingest"
	"github.com/kpilot/kpilot/server/input"
	"github.com/kpilot/kpilot/server/sharing"
	"github.com/kpilot/kpilot/server/visibility"
)

// newSharing builds the sharing rules on the API's store, audit trail,
// mail and webhook dispatcher.
func (a *API) newSharing() *sharing.Service {
	o := sharing.Options{Categories: ingest.Categories(), CheckURL: a.webhooks.CheckURL, Visibility: a.vis, Now: func() time.Time { return a.now() }}
	if a.mail != nil {
		o.Mail = a.mailer // counted by kind, as every mail
	}
	return sharing.New(a.store, a.auditLog, o)
}

// caller is what every sharing call starts with: the request's context,
// the calling principal and the actor the audit trail records.
func (a *API) caller(r *http.Request) (context.Context, visibility.Principal, audit.Actor) {
	return r.Context(), principalFrom(r.Context()), a.actor(r)
}

// keyGuesser counts the request's key and partner ID guesses.
func (a *API) keyGuesser(r *http.Request) sharing.Guess {
	return func() (func(bool), error) { return a.keyGuess(r) }
}

// decodeKeyMail reads the recipient of a key mail.
func decodeKeyMail(w http.ResponseWriter, r *http.Request) (string, error) {
	var req struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return "", err
	}
	return input.Email("email", req.Email)
}
