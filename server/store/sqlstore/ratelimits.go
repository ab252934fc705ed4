package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Hit implements store.RateLimits: one atomic upsert, so concurrent attempts on
// any replica are all counted.
func (d *DB) Hit(ctx context.Context, bucket string, window time.Duration, now time.Time) (int, time.Time, error) {
	var hits int
	var start int64
	err := d.db.QueryRowContext(ctx,
		`INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1)
		 ON CONFLICT (bucket) DO UPDATE SET
		     hits = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.hits + 1 END,
		     window_start = CASE WHEN rate_limits.window_start <= $3 THEN $2 ELSE rate_limits.window_start END
		 RETURNING hits, window_start`,
		bucket, ms(now), ms(now.Add(-window))).Scan(&hits, &start)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("counting attempt: %w", err)
	}
	return hits, fromMS(start).Add(window), nil
}

// Unhit implements store.RateLimits.
func (d *DB) Unhit(ctx context.Context, bucket string) error {
	if _, err := d.db.ExecContext(ctx, `UPDATE rate_limits SET hits = hits - 1 WHERE bucket = $1 AND hits > 0`, bucket); err != nil {
		return fmt.Errorf("taking back attempt: %w", err)
	}
	return nil
}

// Fail implements store.FailureCounts in one upsert. The row's
// window_start holds the latest failure, so retention drops a bucket a
// day after it.
func (d *DB) Fail(ctx context.Context, bucket string, idle time.Duration, now time.Time) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx,
		`INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1)
		 ON CONFLICT (bucket) DO UPDATE SET
		     hits = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.hits + 1 END,
		     window_start = $2
		 RETURNING hits`,
		bucket, ms(now), ms(now.Add(-idle))).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting failure: %w", err)
	}
	return n, nil
}

const failuresQuery = `SELECT hits, window_start FROM rate_limits WHERE bucket = $1 AND window_start > $2`

// Failures implements store.FailureCounts. Every request with a secret
// (every agent batch among them) reads it: the query is prepared once.
func (d *DB) Failures(ctx context.Context, bucket string, idle time.Duration, now time.Time) (int, time.Time, error) {
	var n int
	var last int64
	err := d.db.QueryRowPrepared(ctx, failuresQuery, bucket, ms(now.Add(-idle))).Scan(&n, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("reading failures: %w", err)
	}
	return n, fromMS(last), nil
}

// Forget implements store.FailureCounts.
func (d *DB) Forget(ctx context.Context, bucket string) error {
	if _, err := d.db.ExecContext(ctx, `DELETE FROM rate_limits WHERE bucket = $1`, bucket); err != nil {
		return fmt.Errorf("forgetting failures: %w", err)
	}
	return nil
}
