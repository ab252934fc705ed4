package account

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/input"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
)

// APITokenMaxTTL is the longest lifetime an API token may ask for: two years.
const APITokenMaxTTL = 2 * 366 * 24 * time.Hour

// DefaultAPITokenTTL is the lifetime of a token made without one, unless
// the server sets another (TTLs.APIToken).
const DefaultAPITokenTTL = 90 * 24 * time.Hour

// APITokens lists the caller's own tokens in its organization: names,
// hints and dates, never the tokens.
func (s *Service) APITokens(ctx context.Context, who audit.Actor) ([]store.APIToken, error) {
	ts, err := s.st.APITokens(ctx, who.UserID, who.OrgID)
	if err != nil {
		return nil, fmt.Errorf("listing API tokens: %w", err)
	}
	return ts, nil
}

// CreateAPIToken makes a token named name that acts as who, with who's
// role, in who's organization. ttl is a Go duration from 1h to two years,
// or empty for the server's default lifetime (sessions.api_token_ttl): a
// token forgotten in a script ends by itself. The token is returned once; only its hash is
// kept. A request made with an API token cannot make another, so a leaked
// token cannot outlive its own revocation.
func (s *Service) CreateAPIToken(ctx context.Context, who audit.Actor, name, ttl string) (store.APIToken, string, error) {
	name, err := input.Name("name", name)
	if err != nil {
		return store.APIToken{}, "", err
	}
	if who.APITokenID != "" {
		return store.APIToken{}, "", problem.New(problem.Forbidden, "API tokens cannot create API tokens; log in")
	}
	now := s.now()
	t := store.APIToken{UserID: who.UserID, OrgID: who.OrgID, Name: name, CreatedAt: now,
		ExpiresAt: now.Add(cmp.Or(s.ttl.APIToken, DefaultAPITokenTTL))}
	if ttl != "" {
		d, ok := parseTTL(ttl, time.Hour, APITokenMaxTTL)
		if !ok {
			return store.APIToken{}, "", problem.Invalidf("ttl %q: a duration from 1h to 17568h (two years)", ttl)
		}
		t.ExpiresAt = now.Add(d)
	}
	tok, hash := auth.NewToken(auth.PrefixAPIToken)
	t.TokenHash, t.Hint = hash, tok[:len(auth.PrefixAPIToken)+4]
	if err := s.st.CreateAPIToken(ctx, &t); err != nil {
		return store.APIToken{}, "", fmt.Errorf("creating API token: %w", err)
	}
	if err := s.rec.Record(ctx, who, audit.Entry{OrgID: who.OrgID, OUID: who.OUID, Action: "api_token.create", TargetType: "api_token",
		TargetID: t.ID, Detail: map[string]any{"name": name}}); err != nil {
		return store.APIToken{}, "", err
	}
	return t, tok, nil
}

// DeleteAPIToken revokes one of who's own tokens.
func (s *Service) DeleteAPIToken(ctx context.Context, who audit.Actor, id string) error {
	err := s.st.DeleteAPIToken(ctx, who.UserID, who.OrgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return problem.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("deleting API token: %w", err)
	}
	return s.rec.Record(ctx, who, audit.Entry{OrgID: who.OrgID, OUID: who.OUID, Action: "api_token.delete",
		TargetType: "api_token", TargetID: id})
}

// parseTTL parses a requested lifetime (a Go duration) from lo to hi.
func parseTTL(ttl string, lo, hi time.Duration) (time.Duration, bool) {
	d, err := time.ParseDuration(ttl)
	return d, err == nil && d >= lo && d <= hi
}
