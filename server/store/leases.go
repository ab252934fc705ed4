package store

import (
	"context"
	"time"
)

// Leases let server replicas that share one store agree on which of them
// runs a periodic job (check-ups, report schedules, webhook delivery,
// housekeeping): the one that holds the job's lease. A lease is a row
// with a holder and an expiry rather than a PostgreSQL advisory lock: an
// advisory lock lives as long as one database connection, which
// database/sql hands out and takes back at will, and SQLite has none; a
// row works alike on both dialects, is tested by one suite, and expires
// on its own when its holder dies without a word.
//
// Times come from the callers, so replicas' clocks must agree to well
// within a lease's time to live (NTP), as they must for sessions.
type Leases interface {
	// AcquireLease takes the lease name for holder until now+ttl, or
	// extends it when holder has it already. It reports false, changing
	// nothing, while another holder's lease has not expired at now. Of
	// replicas racing for a free lease exactly one gets it.
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	// ReleaseLease gives up holder's lease name, so that another replica
	// may take it at once; it does nothing when holder does not hold it.
	ReleaseLease(ctx context.Context, name, holder string) error
}
