package account

import (
	"context"
	"fmt"

	"github.com/kpilot/kpilot/server/mail"
	"github.com/kpilot/kpilot/server/problem"
)

// ErrNoMail answers a request that needs an email on a server without mail.
var ErrNoMail = problem.New(problem.Unavailable, "this server sends no email: configure mail in the server config")

// Mailer sends the server's emails and counts them. The zero Mailer (no
// Sender) sends nothing and answers ErrNoMail.
type Mailer struct {
	Sender    mail.Sender
	PublicURL string                    // the server's address as users reach it, without trailing slash
	Count     func(kind, result string) // result: sent or failed; may be nil
}

// Enabled reports whether the server sends email at all.
func (m *Mailer) Enabled() bool { return m.Sender != nil }

// Link is the address of path on the server, for a link in an email.
func (m *Mailer) Link(path string) string { return m.PublicURL + path }

// Send delivers msg; kind labels the count. A failed delivery is a
// problem.BadGateway error: the user may try again later.
func (m *Mailer) Send(ctx context.Context, kind string, msg mail.Message) error {
	if m.Sender == nil {
		return ErrNoMail
	}
	if err := m.Sender.Send(ctx, msg); err != nil {
		m.count(kind, "failed")
		return &problem.Error{Kind: problem.BadGateway, Msg: "the email could not be sent; try again later", Err: err}
	}
	m.count(kind, "sent")
	return nil
}

func (m *Mailer) count(kind, result string) {
	if m.Count != nil {
		m.Count(kind, result)
	}
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
