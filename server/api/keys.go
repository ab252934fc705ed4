package api

import (
	"context"
	"net/http"
	"time"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/mail"
	"github.com/kpilot/kpilot/server/sharing"
	"github.com/kpilot/kpilot/server/visibility"
)

// newSharing builds the sharing rules on the API's store, audit trail,
// mail and webhook dispatcher.
func (a *API) newSharing() *sharing.Service {
	o := sharing.Options{Categories: categories, CheckURL: a.webhooks.CheckURL, Visibility: a.vis, Now: func() time.Time { return a.now() }}
	if a.mail != nil {
		o.Mail = countedMailer{a}
	}
	return sharing.New(a.store, a.auditLog, o)
}

// countedMailer sends the sharing package's mails, counted by kind.
type countedMailer struct{ a *API }

func (m countedMailer) Send(ctx context.Context, kind string, msg mail.Message) error {
	err := m.a.mail.Send(ctx, msg)
	result := "sent"
	if err != nil {
		result = "failed"
	}
	m.a.m.mails.WithLabelValues(kind, result).Inc()
	return err
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
	return sharing.ParseEmail("email", req.Email)
}

// answer writes v with code, unless err, which it returns instead.
func answer(w http.ResponseWriter, code int, v any, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, code, v)
	return nil
}

// noContent answers 204, unless err, which it returns instead.
func noContent(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// each maps xs with f, to a list that is [] in JSON even when empty.
func each[T, J any](xs []T, f func(T) J) []J {
	out := make([]J, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}
