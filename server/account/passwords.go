package account

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/input"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
)

var errResetGone = &problem.Error{Kind: problem.NotFound, Msg: "the reset link is unknown, used or expired: ask for a new one", Err: ErrWrongSecret}

// RequestPasswordReset mails a single-use reset link if email has an
// account. The caller answers the same either way, so the request does
// not tell who has an account; a mail that cannot be sent is only logged
// for the same reason. limit counts the request first.
func (s *Service) RequestPasswordReset(ctx context.Context, email string, limit Limit) error {
	email, err := input.Email("email", email)
	if err != nil {
		return err
	}
	if _, err := limit(email); err != nil {
		return err
	}
	u, err := s.st.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("looking up user: %w", err)
	}
	tok, hash := auth.NewToken(auth.PrefixReset)
	now := s.now()
	if err := s.st.CreatePasswordReset(ctx, hash, u.ID, now, now.Add(s.ttl.PasswordReset)); err != nil {
		return fmt.Errorf("creating password reset: %w", err)
	}
	if err := s.mail.Send(ctx, "password_reset", resetMail(u.Email, s.mail.Link("/reset-password#"+tok))); err != nil {
		s.log.Error("password reset mail not sent", "user_id", u.ID, "err", err)
	}
	return nil
}

// ResetPassword uses a reset token, once, to set a new password, and ends
// every session of the user: whoever knew the old password is logged out.
func (s *Service) ResetPassword(ctx context.Context, token, password string) error {
	hash, err := auth.HashPassword(password)
	if err != nil {
		return problem.Invalidf("password: %v", err)
	}
	if !strings.HasPrefix(token, auth.PrefixReset) || len(token) > 256 {
		return errResetGone
	}
	userID, err := s.st.UsePasswordReset(ctx, auth.Hash(token), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return errResetGone
	}
	if err != nil {
		return fmt.Errorf("using password reset: %w", err)
	}
	if err := s.st.SetPassword(ctx, userID, hash); err != nil {
		return fmt.Errorf("setting password: %w", err)
	}
	if err := s.st.EndUserAccess(ctx, userID); err != nil {
		return fmt.Errorf("ending sessions and API tokens: %w", err)
	}
	s.log.Info("password reset", "user_id", userID)
	return nil
}
