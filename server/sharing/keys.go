package sharing

import (
	"context"
	"fmt"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/mail"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// keyKind is what differs between OU keys and system keys; reading,
// sending and rotating work the same for both. Callers check access first.
type keyKind struct {
	name   string // ou_key, system_key: the audit action prefix and the mail's kind
	what   string // for the mail: "OU key", "system key"
	target string // ou, asset: the audit target type
	read   func(ctx context.Context, id string) (string, error)
	rotate func(ctx context.Context, id string) (string, error)
}

func (s *Service) ouKeys() keyKind {
	return keyKind{"ou_key", "OU key", "ou", s.st.OUKey, s.st.RotateOUKey}
}

func (s *Service) systemKeys() keyKind {
	return keyKind{"system_key", "system key", "asset", s.st.SystemKey, s.st.RotateSystemKey}
}

// OUKey returns the key of u, an OU p administers; with rotate, a new key
// replaces it first. Only customers' OUs have keys for their admins.
func (s *Service) OUKey(ctx context.Context, p visibility.Principal, who audit.Actor, u store.OU, rotate bool) (string, error) {
	if p.IsPartner() {
		return "", problem.ErrCustomerOnly
	}
	return s.showKey(ctx, who, s.ouKeys(), p.OrgID, u.ID, u.ID, rotate)
}

// SendOUKey mails the key of u, an OU p administers, to the address to
// (checked with input.Email), for a partner to create assets with.
func (s *Service) SendOUKey(ctx context.Context, p visibility.Principal, who audit.Actor, u store.OU, to string) error {
	if p.IsPartner() {
		return problem.ErrCustomerOnly
	}
	return s.mailKey(ctx, p, who, s.ouKeys(), u.ID, u.ID, u.Name, to)
}

// SystemKey returns the system key of as, an asset p administers as its
// owner; with rotate, a new key replaces it first.
func (s *Service) SystemKey(ctx context.Context, p visibility.Principal, who audit.Actor, as store.Asset, rotate bool) (string, error) {
	return s.showKey(ctx, who, s.systemKeys(), p.OrgID, as.OUID, as.ID, rotate)
}

// SendSystemKey mails the system key of as, an asset p administers as
// its owner, to the address to (checked with input.Email).
func (s *Service) SendSystemKey(ctx context.Context, p visibility.Principal, who audit.Actor, as store.Asset, to string) error {
	return s.mailKey(ctx, p, who, s.systemKeys(), as.OUID, as.ID, as.Name, to)
}

// showKey returns the key of id, in the OU ouID (a new one when rotate is
// set). The event is written before the key leaves the server.
func (s *Service) showKey(ctx context.Context, who audit.Actor, k keyKind, org, ouID, id string, rotate bool) (string, error) {
	get, action := k.read, ".read"
	if rotate {
		get, action = k.rotate, ".rotate"
	}
	key, err := get(ctx, id)
	if err != nil {
		return "", fmt.Errorf("%s of %s: %w", k.name, id, err)
	}
	if err := s.recordOU(ctx, who, org, ouID, k.name+action, k.target, id, nil); err != nil {
		return "", err
	}
	return key, nil
}

// mailKey sends the key of id, in the OU ouID and named owner, to a
// partner's address. The event is written before the mail is sent.
func (s *Service) mailKey(ctx context.Context, p visibility.Principal, who audit.Actor, k keyKind, ouID, id, owner, to string) error {
	key, err := k.read(ctx, id)
	if err != nil {
		return fmt.Errorf("%s of %s: %w", k.name, id, err)
	}
	sender, err := s.st.User(ctx, p.UserID)
	if err != nil {
		return fmt.Errorf("loading user %s: %w", p.UserID, err)
	}
	if err := s.recordOU(ctx, who, p.OrgID, ouID, k.name+".send", k.target, id, map[string]any{"to": to}); err != nil {
		return err
	}
	if s.mail == nil {
		return problem.New(problem.Unavailable, "this server sends no email: configure mail in the server config")
	}
	if err := s.mail.Send(ctx, k.name, keyMail(to, k.what, owner, sender.Email, key)); err != nil {
		return &problem.Error{Kind: problem.BadGateway, Msg: "the email could not be sent; try again later", Err: err}
	}
	return nil
}

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
