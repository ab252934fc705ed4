package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// AcquireLease implements store.Store in one upsert: the row is inserted
// when missing, and taken over only when it is the holder's own or has
// expired. Both dialects lock the conflicting row for the update, so of
// two replicas racing for a lease one changes the row and the other
// finds the WHERE false and changes nothing.
func (d *DB) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	res, err := d.db.ExecContext(ctx,
		`INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
		 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		 WHERE leases.holder = excluded.holder OR leases.expires_at <= $4`,
		name, holder, ms(now.Add(ttl)), ms(now))
	if err != nil {
		return false, fmt.Errorf("acquiring lease %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("acquiring lease %s: %w", name, err)
	}
	return n == 1, nil
}

// ReleaseLease implements store.Store.
func (d *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := d.db.ExecContext(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, name, holder); err != nil {
		return fmt.Errorf("releasing lease %s: %w", name, err)
	}
	return nil
}
