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

// FailureCounts count failures per bucket that stay counted while they
// keep coming: each failure restarts the idle period, and a bucket whose
// latest failure is idle or more ago counts from zero again. They back
// limits that answer with a delay from the latest failure (growing with
// the count) rather than with a fixed window. They share the table of
// RateLimits; use bucket names of their own.
type FailureCounts interface {
	// Fail counts one failure in bucket at now and returns the count.
	// It is one atomic update, like Hit.
	Fail(ctx context.Context, bucket string, idle time.Duration, now time.Time) (int, error)
	// Failures returns bucket's count and its latest failure, or zero
	// when there is none within idle before now.
	Failures(ctx context.Context, bucket string, idle time.Duration, now time.Time) (int, time.Time, error)
	// Forget ends bucket's count (after a success that closes it); an
	// unknown bucket is no error.
	Forget(ctx context.Context, bucket string) error
}
