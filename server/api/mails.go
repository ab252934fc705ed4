package api

import (
	"fmt"
	"net/http"
	netmail "net/mail"
	"strings"

	"github.com/kpilot/kpilot/server/mail"
)

// parseEmail accepts one bare address ("a@b.example"), lowercased.
func parseEmail(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	addr, err := netmail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" || len(s) > 254 {
		return "", badRequest("%s %q: not an email address", field, s)
	}
	return strings.ToLower(s), nil
}

var errNoMail = &HTTPError{Code: http.StatusServiceUnavailable, Msg: "this server sends no email: configure mail in the server config"}

// send delivers one email; kind labels the metric.
func (a *API) send(r *http.Request, kind string, m mail.Message) error {
	if a.mail == nil {
		return errNoMail
	}
	if err := a.mail.Send(r.Context(), m); err != nil {
		a.m.mails.WithLabelValues(kind, "failed").Inc()
		return &HTTPError{Code: http.StatusBadGateway, Msg: "the email could not be sent; try again later", Err: err}
	}
	a.m.mails.WithLabelValues(kind, "sent").Inc()
	return nil
}

func (a *API) link(path string) string { return a.publicURL + path }

func keyMail(to, what, owner, sender, key string) mail.Message {
	return mail.Message{To: to, Subject: fmt.Sprintf("kpilot %s for %s", what, owner), Text: fmt.Sprintf(`Hello,

%s has sent you the kpilot %s of %s:

    %s

Enter it in the kpilot partner portal. Keep it like a password: whoever holds
it can use it until the customer rotates it.

-- 
kpilot
`, sender, what, owner, key)}
}

func invitationMail(to, inviter, what, link string) mail.Message {
	return mail.Message{To: to, Subject: "Your invitation to kpilot", Text: fmt.Sprintf(`Hello,

%s invites you to kpilot %s.

Open this link to accept the invitation and choose your password:

    %s

The link works once, only for %s, and expires. If you did not expect this
email, ignore it.

-- 
kpilot
`, inviter, what, link, to)}
}

func resetMail(to, link string) mail.Message {
	return mail.Message{To: to, Subject: "Reset your kpilot password", Text: fmt.Sprintf(`Hello,

someone asked to reset the password of the kpilot account %s. To choose a new
password, open this link:

    %s

The link works once and expires in an hour. If it was not you, ignore this
email: your password stays as it is.

-- 
kpilot
`, to, link)}
}

func welcomeMail(to, link string) mail.Message {
	return mail.Message{To: to, Subject: "Your kpilot account is ready", Text: fmt.Sprintf(`Hello,

your kpilot account %s is active. Log in at:

    %s

-- 
kpilot
`, to, link)}
}
