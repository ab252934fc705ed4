package api

import (
	"net/http"

	"github.com/kpilot/kpilot/server/account"
	"github.com/kpilot/kpilot/server/mail"
)

// parseEmail accepts one bare address ("a@b.example"), lowercased.
func parseEmail(field, s string) (string, error) { return account.ParseEmail(field, s) }

// send delivers one email; kind labels the metric.
func (a *API) send(r *http.Request, kind string, m mail.Message) error {
	return a.mailer.Send(r.Context(), kind, m)
}

// keyMail is the message that carries an OU key or system key to a partner.
func keyMail(to, what, owner, sender, key string) mail.Message {
	return account.KeyMail(to, what, owner, sender, key)
}
