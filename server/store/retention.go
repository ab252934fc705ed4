package store

import (
	"context"
	"time"
)

// Retention says how long the store keeps what piles up while the server
// runs. A zero period keeps those rows for good. What can no longer be
// used — expired sessions and password resets — always goes.
type Retention struct {
	// Batches: the ids of stored ingest batches, by which a retried batch
	// is recognised. A batch sent again after this is written again, which
	// InfluxDB takes as an overwrite of the same points.
	Batches time.Duration
	// RateLimits: rate-limit windows that started this long ago; longer
	// than the longest window.
	RateLimits time.Duration
	// WebhookDeliveries: delivered and given-up deliveries, with their
	// attempts, by when they were created. Pending ones stay.
	WebhookDeliveries time.Duration
	// ResolvedFindings: findings resolved this long ago. Open ones stay.
	ResolvedFindings time.Duration
	// InventoryChanges: the history of what changed in an asset's
	// inventory. The latest snapshot stays.
	InventoryChanges time.Duration
	// AuditEvents: the audit trail.
	AuditEvents time.Duration
}

// Pruned counts the rows a prune removed, by table.
type Pruned map[string]int64

// Pruner removes what has outlived a Retention.
type Pruner interface {
	// Prune deletes, as of now, what r no longer keeps, a bounded number
	// of rows per statement so that no writer waits long. It returns what
	// it removed, also when it stops at an error or at ctx's end.
	Prune(ctx context.Context, r Retention, now time.Time) (Pruned, error)
}
