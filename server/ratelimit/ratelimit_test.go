package ratelimit_test

import (
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/ratelimit"
	"github.com/kpilot/kpilot/server/store/sqlstore"
)

func TestLoginDelay(t *testing.T) {
	tests := []struct {
		name    string
		n, free int
		want    time.Duration
	}{
		{"free failures wait nothing", 4, 5, 0},
		{"the first over the free ones waits 2 s", 5, 5, 2 * time.Second},
		{"then doubling", 7, 5, 8 * time.Second},
		{"at most 15 minutes", 40, 5, ratelimit.MaxLoginDelay},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, ratelimit.LoginDelay(tt.n, tt.free))
		})
	}
}

func newStore(t *testing.T) *sqlstore.DB {
	db, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "kpilot.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// TestLoginsSlowTheAddressNotTheAccount: failures from one address make
// that address wait, growing; the same account from another address gets
// in at once; a success ends the count.
func TestLoginsSlowTheAddressNotTheAccount(t *testing.T) {
	l := ratelimit.Logins{Store: newStore(t), PerAccount: 3, PerAddress: 10}
	ctx, now := t.Context(), time.Unix(1_800_000_000, 0)
	for range 3 {
		done, err := l.Attempt(ctx, "192.0.2.1", "owner@example.com", now)
		require.NoError(t, err)
		require.NoError(t, done(ctx, false))
	}
	_, err := l.Attempt(ctx, "192.0.2.1", "owner@example.com", now)
	var tm *ratelimit.TooManyError
	require.ErrorAs(t, err, &tm)
	require.Equal(t, 2*time.Second, tm.Wait)

	done, err := l.Attempt(ctx, "198.51.100.7", "owner@example.com", now)
	require.NoError(t, err, "the owner from another address is not held up")
	require.NoError(t, done(ctx, true))

	done, err = l.Attempt(ctx, "192.0.2.1", "owner@example.com", now.Add(2*time.Second))
	require.NoError(t, err, "after the wait, one more try")
	require.NoError(t, done(ctx, false))
	_, err = l.Attempt(ctx, "192.0.2.1", "owner@example.com", now.Add(3*time.Second))
	require.ErrorAs(t, err, &tm)
	require.Equal(t, 3*time.Second, tm.Wait, "4 s after the latest failure, 1 s gone")

	done, err = l.Attempt(ctx, "192.0.2.1", "owner@example.com", now.Add(7*time.Second))
	require.NoError(t, err)
	require.NoError(t, done(ctx, true), "a success ends the count")
	done, err = l.Attempt(ctx, "192.0.2.1", "owner@example.com", now.Add(7*time.Second))
	require.NoError(t, err)
	require.NoError(t, done(ctx, false))
}

func TestSecretsBudgetPerAddress(t *testing.T) {
	s := ratelimit.Secrets{Store: newStore(t), Budget: 3}
	ctx, now := t.Context(), time.Unix(1_800_000_000, 0)
	for range 3 {
		require.NoError(t, s.Allowed(ctx, "192.0.2.1", now))
		require.NoError(t, s.Failed(ctx, "192.0.2.1", now))
	}
	err := s.Allowed(ctx, "192.0.2.1", now.Add(time.Minute))
	var tm *ratelimit.TooManyError
	require.True(t, errors.As(err, &tm))
	require.Equal(t, ratelimit.SecretIdle-time.Minute, tm.Wait)
	require.NoError(t, s.Allowed(ctx, "198.51.100.7", now), "another address has its own budget")
	require.NoError(t, s.Allowed(ctx, "192.0.2.1", now.Add(ratelimit.SecretIdle)), "the budget comes back after the idle time")
}

// TestLoginsFreeFailuresDoNotWaitOnAnotherClock: concurrent attempts read
// the clock at different moments, so a failure may be recorded a moment
// after the next attempt's now. Within the free failures that attempt is
// admitted; past them it waits from the latest failure.
func TestLoginsFreeFailuresDoNotWaitOnAnotherClock(t *testing.T) {
	l := ratelimit.Logins{Store: newStore(t), PerAccount: 1, PerAddress: 2}
	ctx, now := t.Context(), time.Unix(1_800_000_000, 0)
	done, err := l.Attempt(ctx, "192.0.2.1", "a@example.com", now.Add(50*time.Millisecond))
	require.NoError(t, err)
	require.NoError(t, done(ctx, false))
	done, err = l.Attempt(ctx, "192.0.2.1", "b@example.com", now)
	require.NoError(t, err, "the second of two free failures, its clock read before the first was recorded")
	require.NoError(t, done(ctx, false))
	_, err = l.Attempt(ctx, "192.0.2.1", "c@example.com", now)
	var tm *ratelimit.TooManyError
	require.ErrorAs(t, err, &tm, "past the free failures")
	require.Equal(t, 2*time.Second, tm.Wait, "two seconds from the latest failure")
}

// TestAttempts: an attempt over any bucket's limit is refused until its
// window ends; a success takes its attempt back, so only failures count.
func TestAttempts(t *testing.T) {
	db := newStore(t)
	ctx := t.Context()
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	l := ratelimit.Attempts{Store: db, Limit: "key_guess"}
	org, ip := ratelimit.Bucket{Key: "org:o1", N: 2}, ratelimit.Bucket{Key: "ip:192.0.2.1", N: 6}

	done, err := l.Attempt(ctx, now, org, ip)
	require.NoError(t, err)
	require.NoError(t, done(ctx, true), "a success is taken back")
	for i := range 2 {
		done, err := l.Attempt(ctx, now.Add(time.Duration(i)*time.Minute), org, ip)
		require.NoError(t, err, "failure %d is within the limit", i+1)
		require.NoError(t, done(ctx, false))
	}
	_, err = l.Attempt(ctx, now.Add(5*time.Minute), org, ip)
	var tm *ratelimit.TooManyError
	require.True(t, errors.As(err, &tm), "the third failure is over the organization's limit: %v", err)
	require.Equal(t, "key_guess", tm.Limit)
	require.Positive(t, tm.Wait)
	require.LessOrEqual(t, tm.Wait, ratelimit.AttemptWindow-5*time.Minute, "until the window ends")

	other := ratelimit.Bucket{Key: "org:o2", N: 2}
	_, err = l.Attempt(ctx, now.Add(5*time.Minute), other, ip)
	require.NoError(t, err, "another organization from the same address is within both limits")
	_, err = l.Attempt(ctx, now.Add(ratelimit.AttemptWindow+time.Minute), org, ip)
	require.NoError(t, err, "a new window starts over")
}
