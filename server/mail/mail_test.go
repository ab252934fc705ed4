package mail_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/mail"
	"github.com/kpilot/kpilot/server/mail/mailtest"
)

func TestSMTPDeliversOverSTARTTLSWithAuth(t *testing.T) {
	srv := mailtest.Start(t)
	s, err := mail.NewSMTP("kpilot <noreply@kpilot.example>", mail.SMTPOptions{Host: srv.Host, Port: srv.Port,
		Username: srv.Username, Password: srv.Password, CAFile: srv.CAFile})
	require.NoError(t, err)
	body := "Grüße aus München.\nYour key: kpou_abc\n"
	require.NoError(t, s.Send(t.Context(), mail.Message{To: "admin@acme.example", Subject: "Schlüssel für Acme", Text: body}))
	got := srv.Wait(t, 1)
	require.Equal(t, []string{"admin@acme.example"}, got.To)
	require.Equal(t, "noreply@kpilot.example", got.From)
	require.Equal(t, "Schlüssel für Acme", got.Subject)
	require.Equal(t, body, strings.ReplaceAll(got.Body, "\r\n", "\n"))
}

func TestSMTPErrorsNameTheProblem(t *testing.T) {
	srv := mailtest.Start(t)
	s, err := mail.NewSMTP("noreply@kpilot.example", mail.SMTPOptions{Host: srv.Host, Port: srv.Port,
		Username: srv.Username, Password: "wrong", CAFile: srv.CAFile})
	require.NoError(t, err)
	err = s.Send(t.Context(), mail.Message{To: "a@acme.example", Subject: "x", Text: "y"})
	require.ErrorContains(t, err, "a@acme.example")
	require.Empty(t, srv.Messages())

	untrusted, err := mail.NewSMTP("noreply@kpilot.example", mail.SMTPOptions{Host: srv.Host, Port: srv.Port,
		Username: srv.Username, Password: srv.Password})
	require.NoError(t, err)
	require.Error(t, untrusted.Send(t.Context(), mail.Message{To: "a@acme.example", Subject: "x", Text: "y"}),
		"a certificate the system does not trust is refused")

	_, err = mail.NewSMTP("noreply@kpilot.example", mail.SMTPOptions{Host: srv.Host, TLS: "maybe"})
	require.ErrorContains(t, err, `mail.smtp.tls "maybe"`)
	_, err = mail.NewSMTP("x", mail.SMTPOptions{})
	require.ErrorContains(t, err, "mail.smtp.host: missing")

	s, err = mail.NewSMTP("noreply@kpilot.example", mail.SMTPOptions{Host: srv.Host, Port: srv.Port})
	require.NoError(t, err)
	require.ErrorContains(t, s.Send(t.Context(), mail.Message{To: "not an address", Subject: "x", Text: "y"}), `mail to "not an address"`)
}

func TestOutboxWritesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	o, err := mail.NewOutbox("noreply@kpilot.example", dir)
	require.NoError(t, err)
	require.NoError(t, o.Send(t.Context(), mail.Message{To: "a@acme.example", Subject: "Invitation", Text: "https://x/invite/kpi_1"}))
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	fi, err := os.Stat(files[0])
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	raw, err := os.ReadFile(files[0])
	require.NoError(t, err)
	require.Contains(t, string(raw), "To: <a@acme.example>")
	require.Contains(t, string(raw), "Subject: Invitation")
}
