package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Counter counts attempts in fixed windows (store.RateLimits).
type Counter interface {
	// Hit counts one attempt in bucket and returns the window's count and
	// when the window ends.
	Hit(ctx context.Context, bucket string, window time.Duration, now time.Time) (int, time.Time, error)
	// Unhit takes one attempt back.
	Unhit(ctx context.Context, bucket string) error
}

// AttemptWindow is the fixed window of every Attempts count.
const AttemptWindow = 15 * time.Minute

// Bucket is one count of attempts: at most N per AttemptWindow under Key.
type Bucket struct {
	Key string
	N   int
}

// Attempts counts the attempts of one kind, Limit (key guesses, password
// reset requests), in fixed windows: unlike Logins, a caller over the
// limit waits for the window's end, not for a growing delay.
type Attempts struct {
	Store Counter
	Limit string // prefixes the bucket keys and names the limit in a TooManyError
}

// Attempt counts an attempt at now against every bucket and refuses it,
// with a *TooManyError until the latest of their windows ends, once any
// is over its N. done(true) takes the attempt back after a success, so
// only failures use up the allowance.
func (a Attempts) Attempt(ctx context.Context, now time.Time, buckets ...Bucket) (done func(ctx context.Context, success bool) error, err error) {
	var over time.Time
	for _, b := range buckets {
		n, reset, err := a.Store.Hit(ctx, a.Limit+":"+b.Key, AttemptWindow, now)
		if err != nil {
			return nil, err
		}
		if n > b.N && reset.After(over) {
			over = reset
		}
	}
	if !over.IsZero() {
		return nil, &TooManyError{Limit: a.Limit, Wait: over.Sub(now)}
	}
	return func(ctx context.Context, success bool) error {
		if !success {
			return nil
		}
		var errs []error
		for _, b := range buckets {
			if err := a.Store.Unhit(ctx, a.Limit+":"+b.Key); err != nil {
				errs = append(errs, fmt.Errorf("taking back an attempt of %s: %w", b.Key, err))
			}
		}
		return errors.Join(errs...)
	}, nil
}
