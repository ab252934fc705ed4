// Package mail sends the server's email (invitations, keys, password
// resets) through SMTP with go-mail, or writes it to an outbox directory
// for the demo and development, where no mail server runs.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/kpilot/kpilot/internal/tlsconf"
)

// Message is one plain-text email to one recipient, with optional
// attachments (a scheduled report) and an optional HTML alternative of
// the text (a notification).
type Message struct {
	To          string
	Subject     string
	Text        string
	HTML        string // sent as multipart/alternative with Text when set
	Attachments []Attachment
}

// Attachment is a file sent with a message.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// Sender delivers messages.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// SMTPOptions configure delivery through an SMTP server.
type SMTPOptions struct {
	Host     string
	Port     int    // 0: 587 for starttls, 465 for tls, 25 for none
	TLS      string // starttls (default, required), tls (implicit), none
	Username string // empty: no authentication
	Password string
	CAFile   string // trust this CA instead of the system's
	Timeout  time.Duration
}

// SMTP sends through an SMTP server, one connection per message.
type SMTP struct {
	from string
	opts []gomail.Option
	host string
}

// NewSMTP checks the options and returns the sender.
func NewSMTP(from string, o SMTPOptions) (*SMTP, error) {
	if o.Host == "" {
		return nil, errors.New("mail.smtp.host: missing")
	}
	if o.Timeout == 0 {
		o.Timeout = 15 * time.Second
	}
	opts := []gomail.Option{gomail.WithTimeout(o.Timeout)}
	port := o.Port
	switch o.TLS {
	case "", "starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
		if port == 0 {
			port = 587
		}
	case "tls":
		opts = append(opts, gomail.WithSSL())
		if port == 0 {
			port = 465
		}
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		if port == 0 {
			port = 25
		}
	default:
		return nil, fmt.Errorf("mail.smtp.tls %q: must be starttls, tls or none", o.TLS)
	}
	opts = append(opts, gomail.WithPort(port))
	if o.CAFile != "" {
		tc, err := tlsconf.Client(o.CAFile, false)
		if err != nil {
			return nil, fmt.Errorf("mail.smtp.ca_file: %w", err)
		}
		tc.ServerName = o.Host
		opts = append(opts, gomail.WithTLSConfig(tc))
	}
	if o.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(o.Username), gomail.WithPassword(o.Password))
	}
	if _, err := gomail.NewClient(o.Host, opts...); err != nil {
		return nil, fmt.Errorf("mail.smtp: %w", err)
	}
	return &SMTP{from: from, opts: opts, host: o.Host}, nil
}

// Send implements Sender.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := build(s.from, m)
	if err != nil {
		return err
	}
	c, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("mail to %s: %w", m.To, err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mail to %s through %s: %w", m.To, s.host, err)
	}
	return nil
}

// Outbox writes each message as an .eml file into a directory.
type Outbox struct {
	from string
	dir  string
}

// NewOutbox creates dir (0700: messages hold keys and links) if needed.
func NewOutbox(from, dir string) (*Outbox, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mail outbox: %w", err)
	}
	return &Outbox{from: from, dir: dir}, nil
}

// Dir returns the outbox directory.
func (o *Outbox) Dir() string { return o.dir }

// Send implements Sender.
func (o *Outbox) Send(_ context.Context, m Message) error {
	msg, err := build(o.from, m)
	if err != nil {
		return err
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	name := fmt.Sprintf("%s-%s.eml", time.Now().UTC().Format("20060102T150405.000000000"), hex.EncodeToString(rnd[:]))
	tmp := filepath.Join(o.dir, "."+name)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("mail outbox: %w", err)
	}
	if _, err := msg.WriteTo(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("mail outbox: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("mail outbox: %w", err)
	}
	return os.Rename(tmp, filepath.Join(o.dir, name))
}

func build(from string, m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("mail from %q: %w", from, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("mail to %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	for _, a := range m.Attachments {
		msg.AttachReadSeeker(a.Name, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(a.ContentType)))
	}
	return msg, nil
}
