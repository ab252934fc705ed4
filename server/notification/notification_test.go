package notification

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// TestBuildChecksInput: what a channel or subscription may say, and what
// is kept of it.
func TestBuildChecksInput(t *testing.T) {
	refuse := func(u string) error {
		if u == "http://127.0.0.1/x" {
			return errors.New("url: address not allowed")
		}
		return nil
	}
	s := New(nil, nil, refuse, nil)
	org := store.Webhook{OrgID: "o"}
	sub := store.Webhook{OrgID: "o", UserID: "u"}
	for _, tc := range []struct {
		name    string
		base    store.Webhook
		in      Input
		wantErr string
		check   func(t *testing.T, h store.Webhook)
	}{
		{name: "email channel", base: org, in: Input{Kind: "email", Addresses: []string{"a@example.com", "b@example.com"}, Events: []string{"finding.*"}, Digest: "daily"},
			check: func(t *testing.T, h store.Webhook) {
				require.Equal(t, "mailto:a@example.com,b@example.com", h.URL)
				require.Equal(t, "en", h.Language)
			}},
		{name: "teams URL is the secret", base: org, in: Input{Kind: "teams", URL: "https://x.example/workflows/1?sig=s", Events: []string{"*"}},
			check: func(t *testing.T, h store.Webhook) {
				require.Equal(t, "https://x.example/…", h.URL)
				require.Equal(t, "https://x.example/workflows/1?sig=s", h.Secret)
			}},
		{name: "webhook gets a secret", base: org, in: Input{Kind: "webhook", URL: "https://x.example/h", Events: []string{"sharing.*", "finding.repeat"}},
			check: func(t *testing.T, h store.Webhook) { require.Contains(t, h.Secret, "kpwh_") }},
		{name: "subscription defaults to email", base: sub, in: Input{Events: []string{"finding.opened"}, MinSeverity: "critical", Language: "de"},
			check: func(t *testing.T, h store.Webhook) {
				require.Equal(t, store.KindEmail, h.Kind)
				require.Equal(t, store.SeverityCritical, h.MinSeverity)
			}},
		{name: "internal address", base: org, in: Input{Kind: "slack", URL: "http://127.0.0.1/x", Events: []string{"*"}}, wantErr: "not allowed"},
		{name: "subscription to slack", base: sub, in: Input{Kind: "slack", URL: "https://x.example", Events: []string{"*"}}, wantErr: "email to your own address"},
		{name: "no events", base: org, in: Input{Kind: "email", Addresses: []string{"a@example.com"}}, wantErr: "events: 1 to 20"},
		{name: "sharing on email", base: org, in: Input{Kind: "email", Addresses: []string{"a@example.com"}, Events: []string{"sharing.*"}}, wantErr: "not an event"},
		{name: "two addresses in one", base: org, in: Input{Kind: "email", Addresses: []string{"a@example.com,b@example.com"}, Events: []string{"*"}}, wantErr: "not an email address"},
		{name: "severity", base: sub, in: Input{Events: []string{"*"}, MinSeverity: "urgent"}, wantErr: "min_severity"},
		{name: "digest", base: sub, in: Input{Events: []string{"*"}, Digest: "weekly"}, wantErr: "digest"},
		{name: "digest on slack", base: org, in: Input{Kind: "slack", URL: "https://x.example", Events: []string{"*"}, Digest: "hourly"}, wantErr: "for email only"},
		{name: "language", base: sub, in: Input{Events: []string{"*"}, Language: "fr"}, wantErr: "language: en or de"},
		{name: "category", base: sub, in: Input{Events: []string{"*"}, Categories: []string{"two words"}}, wantErr: "categories"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := s.build(t.Context(), tc.base, tc.in)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			tc.check(t, h)
		})
	}
}
