package store

import (
	"context"
	"time"
)

// RateLimits counts attempts (logins, password resets) per bucket in fixed
// windows. Buckets live in the store, so every replica sees the same
// counts.
type RateLimits interface {
	// Hit counts one attempt in bucket for a fixed window and returns the
	// attempts so far in the window and when it ends. A window that ended
	// starts a new one at now. Hit is one atomic update: concurrent
	// attempts on any replica are all counted.
	Hit(ctx context.Context, bucket string, window time.Duration, now time.Time) (int, time.Time, error)
	// Unhit takes one attempt back (after a success), never below zero;
	// an unknown bucket is no error.
	Unhit(ctx context.Context, bucket string) error
}
