package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/kpilot/kpilot/server/account"
)

// secretIdle is how long failed secrets of one address stay counted after
// the latest; over the budget, the address waits this long after it.
const secretIdle = 15 * time.Minute

// secretBucket is the one budget of failed secrets (enrollment,
// invitation and reset tokens, agent credentials, session and API tokens)
// of the request's client address.
func secretBucket(r *http.Request) string { return "secret:ip:" + clientIP(r) }

// secretAllowed answers 429 to an address that has used up its budget of
// failed secrets, before the secret it sends is looked at: a right secret
// is refused too, or the budget would not stop guessing.
func (a *API) secretAllowed(r *http.Request) error {
	now := a.now()
	n, last, err := a.store.Failures(r.Context(), secretBucket(r), secretIdle, now)
	if err != nil {
		return err
	}
	if n < a.limits.SecretFailures {
		return nil
	}
	return a.tooMany(r, "secret", last.Add(secretIdle).Sub(now))
}

// secretFailed counts a failed secret of the request's address when err
// says the secret was wrong.
func (a *API) secretFailed(r *http.Request, err error) {
	if !errors.Is(err, account.ErrWrongSecret) {
		return
	}
	if _, ferr := a.store.Fail(context.WithoutCancel(r.Context()), secretBucket(r), secretIdle, a.now()); ferr != nil {
		a.log.Warn("rate limit: counting a failed secret", "remote", clientIP(r), "err", ferr)
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

// Login failures slow an attacker down without locking the owner out:
// they count per client address and account, and per client address,
// never per account alone. After the free failures of a bucket, the next
// attempt waits 2^k seconds after the latest failure (k = failures over
// the free ones, plus one), at most loginMaxDelay. A bucket without a
// failure for loginIdle starts over.
const (
	loginMaxDelay = 15 * time.Minute
	loginIdle     = time.Hour // longer than loginMaxDelay, so waiting does not start over
)

// loginDelay is how long after the latest of n failures the next attempt
// waits, when free failures go without delay.
func loginDelay(n, free int) time.Duration {
	if n < free {
		return 0
	}
	k := n - free + 1
	if k >= 10 { // 2^10 s is past the cap
		return loginMaxDelay
	}
	return min(time.Duration(1<<k)*time.Second, loginMaxDelay)
}

// loginLimit counts failed logins of the request's address, per account
// and in all. An attempt is counted as a failure before the password is
// checked, so concurrent attempts cannot slip past the delay together; a
// success takes it back and ends the count of its address and account.
func (a *API) loginLimit(r *http.Request) account.Limit {
	return func(email string) (func(bool), error) {
		ctx, now, ip := r.Context(), a.now(), clientIP(r)
		buckets := []struct {
			key  string
			free int
		}{
			{"login_fail:ip_account:" + ip + " " + email, a.limits.LoginFailures},
			{"login_fail:ip:" + ip, a.limits.LoginFailuresPerAddress},
		}
		var wait time.Duration
		before := make([]int, len(buckets))
		for i, b := range buckets {
			n, last, err := a.store.Failures(ctx, b.key, loginIdle, now)
			if err != nil {
				return nil, err
			}
			before[i] = n
			wait = max(wait, last.Add(loginDelay(n, b.free)).Sub(now))
		}
		if wait > 0 {
			return nil, a.tooMany(r, "login", wait)
		}
		for i, b := range buckets {
			n, err := a.store.Fail(ctx, b.key, loginIdle, now)
			if err != nil {
				return nil, err
			}
			if n > before[i]+1 && loginDelay(n-1, b.free) > 0 {
				// Another attempt counted since the check: it took the
				// one try this delay allows.
				return nil, a.tooMany(r, "login", loginDelay(n, b.free))
			}
		}
		return func(success bool) {
			if !success {
				return // counted already
			}
			bg := context.WithoutCancel(ctx)
			if err := a.store.Forget(bg, buckets[0].key); err != nil {
				a.log.Warn("rate limit: ending a login count", "err", err)
			}
			if err := a.store.Unhit(bg, buckets[1].key); err != nil {
				a.log.Warn("rate limit: taking back a login attempt", "err", err)
			}
		}, nil
	}
}
