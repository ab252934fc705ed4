package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/kpilot/kpilot/server/account"
	"github.com/kpilot/kpilot/server/ratelimit"
)

// secretAllowed answers 429 to an address that has used up its budget of
// failed secrets (package ratelimit).
func (a *API) secretAllowed(r *http.Request) error {
	err := ratelimit.Secrets{Store: a.store, Budget: a.limits.SecretFailures}.Allowed(r.Context(), clientIP(r), a.now())
	var tm *ratelimit.TooManyError
	if errors.As(err, &tm) {
		return a.tooMany(r, tm.Limit, tm.Wait)
	}
	return err
}

// secretFailed counts a failed secret of the request's address when err
// says the secret was wrong.
func (a *API) secretFailed(r *http.Request, err error) {
	if !errors.Is(err, account.ErrWrongSecret) {
		return
	}
	s := ratelimit.Secrets{Store: a.store, Budget: a.limits.SecretFailures}
	if ferr := s.Failed(context.WithoutCancel(r.Context()), clientIP(r), a.now()); ferr != nil {
		a.log.Warn("rate limit", "remote", clientIP(r), "err", ferr)
	}
}

// secret guards a handler that takes a secret in its request body
// (enrollment, invitation and reset tokens) with the address's budget.
func (a *API) secret(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := a.secretAllowed(r); err != nil {
			return err
		}
		err := h(w, r)
		a.secretFailed(r, err)
		return err
	}
}

// tooMany is the answer of a rate limit: 429 with Retry-After in whole
// seconds, rounded up so a client that waits as told is let in.
func (a *API) tooMany(r *http.Request, limit string, wait time.Duration) error {
	wait = max(time.Second, time.Duration(math.Ceil(wait.Seconds()))*time.Second)
	a.m.limited.WithLabelValues(limit).Inc()
	a.log.Warn("rate limit reached", "limit", limit, "remote", clientIP(r), "org_id", principalFrom(r.Context()).OrgID,
		"retry_after", wait)
	return &HTTPError{Code: http.StatusTooManyRequests, RetryAfter: wait,
		Msg: fmt.Sprintf("too many attempts; try again in %s", wait)}
}

// loginLimit admits login attempts of the request's address by the rules
// of package ratelimit.
func (a *API) loginLimit(r *http.Request) account.Limit {
	return func(email string) (func(bool), error) {
		l := ratelimit.Logins{Store: a.store, PerAccount: a.limits.LoginFailures, PerAddress: a.limits.LoginFailuresPerAddress}
		done, err := l.Attempt(r.Context(), clientIP(r), email, a.now())
		return a.limited(r, done, err)
	}
}

// limited makes a ratelimit answer the request's: a refusal is 429, and
// the failures of done (taking an attempt back) are logged.
func (a *API) limited(r *http.Request, done func(context.Context, bool) error, err error) (func(bool), error) {
	var tm *ratelimit.TooManyError
	if errors.As(err, &tm) {
		return nil, a.tooMany(r, tm.Limit, tm.Wait)
	}
	if err != nil {
		return nil, err
	}
	return func(success bool) {
		if err := done(context.WithoutCancel(r.Context()), success); err != nil {
			a.log.Warn("rate limit", "err", err)
		}
	}, nil
}
