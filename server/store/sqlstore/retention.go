package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/kpilot/kpilot/server/store"
)

// pruneChunk bounds the rows one DELETE removes. SQLite holds its write
// lock for a statement, and ingest (which records every batch id) waits
// for it: 5,000 rows take a few milliseconds.
const pruneChunk = 5000

// pruneRule is one kind of row that outlives its use: the rows of table
// matching where (with $1 the cutoff in ms, then args) go, found by key,
// the table's primary key.
type pruneRule struct {
	table, key, where string
	args              []any
	cutoff            time.Time
}

// Prune implements store.Pruner.
func (d *DB) Prune(ctx context.Context, r store.Retention, now time.Time) (store.Pruned, error) {
	before := func(keep time.Duration) time.Time {
		if keep <= 0 {
			return time.Time{} // kept for good
		}
		return now.Add(-keep)
	}
	rules := []pruneRule{
		{table: "ingested_batches", key: "agent_id, batch_id", where: "received_at < $1", cutoff: before(r.Batches)},
		{table: "sessions", key: "token_hash", where: "expires_at < $1", cutoff: now},
		{table: "password_resets", key: "token_hash", where: "expires_at < $1", cutoff: now},
		{table: "rate_limits", key: "bucket", where: "window_start < $1", cutoff: before(r.RateLimits)},
		{table: "webhook_deliveries", key: "id", where: "created_at < $1 AND state IN ($2, $3, $4)",
			args: []any{store.DeliveryDelivered, store.DeliveryFailed, store.DeliverySuppressed}, cutoff: before(r.WebhookDeliveries)},
		{table: "findings", key: "id", where: "resolved_at > 0 AND resolved_at < $1", cutoff: before(r.ResolvedFindings)},
		{table: "inventory_changes", key: "asset_id, collected_at", where: "collected_at < $1", cutoff: before(r.InventoryChanges)},
		{table: "audit_events", key: "id", where: "at < $1", cutoff: before(r.AuditEvents)},
	}
	pruned := store.Pruned{}
	for _, rule := range rules {
		if rule.cutoff.IsZero() {
			continue
		}
		n, err := d.prune(ctx, rule)
		if n > 0 {
			pruned[rule.table] = n
		}
		if err != nil {
			return pruned, err
		}
	}
	return pruned, nil
}

// prune deletes a rule's rows, pruneChunk at a time.
func (d *DB) prune(ctx context.Context, rule pruneRule) (int64, error) {
	// (key) is a row value for a key of two columns: SQLite (3.15 on)
	// and PostgreSQL take it.
	q := fmt.Sprintf(`DELETE FROM %[1]s WHERE (%[2]s) IN (SELECT %[2]s FROM %[1]s WHERE %[3]s LIMIT %[4]d)`,
		rule.table, rule.key, rule.where, pruneChunk)
	args := append([]any{ms(rule.cutoff)}, rule.args...)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		res, err := d.db.ExecContext(ctx, q, args...)
		if err != nil {
			return total, fmt.Errorf("pruning %s: %w", rule.table, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("pruning %s: %w", rule.table, err)
		}
		total += n
		if n < pruneChunk {
			return total, nil
		}
	}
}
