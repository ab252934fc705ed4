// Package ratelimit holds the rules that slow down guessing of passwords
// and secrets, on counts kept in the store (so every replica sees them):
//
//   - Logins count failures per client address and account and per client
//     address, never per account alone: an attacker is slowed down, the
//     owner logging in from elsewhere is not. After the free failures of a
//     count, the next attempt waits 2^k seconds after the latest failure (k
//     = failures over the free ones, plus one), at most MaxLoginDelay; a
//     count without a failure for LoginIdle starts over.
//   - Secrets (enrollment, invitation and reset tokens, agent credentials,
//     session and API tokens) share one budget of failures per client
//     address; over it, the address waits SecretIdle after its latest
//     failure, and a right secret is refused too, or the budget would not
//     stop guessing.
package ratelimit

import (
	"context"
	"fmt"
	"time"
)

// Store keeps the failure counts (store.RateLimits).
type Store interface {
	// Fail counts one failure in bucket and returns the count.
	Fail(ctx context.Context, bucket string, idle time.Duration, now time.Time) (int, error)
	// Failures returns a bucket's count and its latest failure.
	Failures(ctx context.Context, bucket string, idle time.Duration, now time.Time) (int, time.Time, error)
	// Forget ends a bucket's count.
	Forget(ctx context.Context, bucket string) error
	// Unhit takes one failure back.
	Unhit(ctx context.Context, bucket string) error
}

// TooManyError is a refusal: the caller may try again after Wait.
type TooManyError struct {
	Limit string // "login" or "secret"
	Wait  time.Duration
}

func (e *TooManyError) Error() string {
	return fmt.Sprintf("too many attempts (%s); try again in %s", e.Limit, e.Wait)
}

// Timing of the login and secret counts.
const (
	MaxLoginDelay = 15 * time.Minute
	LoginIdle     = time.Hour // longer than MaxLoginDelay, so waiting does not start over
	SecretIdle    = 15 * time.Minute
)

// LoginDelay is how long after the latest of n failures the next attempt
// waits, when free failures go without delay.
func LoginDelay(n, free int) time.Duration {
	if n < free {
		return 0
	}
	k := n - free + 1
	if k >= 10 { // 2^10 s is past the cap
		return MaxLoginDelay
	}
	return min(time.Duration(1<<k)*time.Second, MaxLoginDelay)
}

// Logins counts login attempts.
type Logins struct {
	Store      Store
	PerAccount int // free failures per client address and account
	PerAddress int // free failures per client address
}

// Attempt admits a login attempt of email from address ip at now, or
// refuses it with a *TooManyError. An attempt is counted as a failure
// before the password is checked, so concurrent attempts cannot slip past
// the delay together; done(true) takes it back and ends the count of the
// address and account.
func (l Logins) Attempt(ctx context.Context, ip, email string, now time.Time) (done func(ctx context.Context, success bool) error, err error) {
	buckets := []struct {
		key  string
		free int
	}{
		{"login_fail:ip_account:" + ip + " " + email, l.PerAccount},
		{"login_fail:ip:" + ip, l.PerAddress},
	}
	var wait time.Duration
	before := make([]int, len(buckets))
	for i, b := range buckets {
		n, last, err := l.Store.Failures(ctx, b.key, LoginIdle, now)
		if err != nil {
			return nil, err
		}
		before[i] = n
		// Only a delay makes a wait: a failure recorded by a concurrent
		// attempt whose clock read a moment later than this one's must
		// not refuse an attempt the free failures allow.
		if d := LoginDelay(n, b.free); d > 0 {
			wait = max(wait, last.Add(d).Sub(now))
		}
	}
	if wait > 0 {
		return nil, &TooManyError{Limit: "login", Wait: wait}
	}
	for i, b := range buckets {
		n, err := l.Store.Fail(ctx, b.key, LoginIdle, now)
		if err != nil {
			return nil, err
		}
		if n > before[i]+1 && LoginDelay(n-1, b.free) > 0 {
			// Another attempt counted since the check: it took the one
			// try this delay allows.
			return nil, &TooManyError{Limit: "login", Wait: LoginDelay(n, b.free)}
		}
	}
	return func(ctx context.Context, success bool) error {
		if !success {
			return nil // counted already
		}
		if err := l.Store.Forget(ctx, buckets[0].key); err != nil {
			return fmt.Errorf("ending a login count: %w", err)
		}
		if err := l.Store.Unhit(ctx, buckets[1].key); err != nil {
			return fmt.Errorf("taking back a login attempt: %w", err)
		}
		return nil
	}, nil
}

// Secrets counts failed secrets per client address.
type Secrets struct {
	Store  Store
	Budget int // failures per address before it is refused
}

func secretBucket(ip string) string { return "secret:ip:" + ip }

// Allowed refuses, with a *TooManyError, an address that has used up its
// budget, before the secret it sends is looked at.
func (s Secrets) Allowed(ctx context.Context, ip string, now time.Time) error {
	n, last, err := s.Store.Failures(ctx, secretBucket(ip), SecretIdle, now)
	if err != nil {
		return err
	}
	if n < s.Budget {
		return nil
	}
	return &TooManyError{Limit: "secret", Wait: last.Add(SecretIdle).Sub(now)}
}

// Failed counts a failed secret of address ip.
func (s Secrets) Failed(ctx context.Context, ip string, now time.Time) error {
	if _, err := s.Store.Fail(ctx, secretBucket(ip), SecretIdle, now); err != nil {
		return fmt.Errorf("counting a failed secret: %w", err)
	}
	return nil
}
