package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/kpilot/kpilot/server/store"
)

// CreateEnrollmentToken implements store.Agents.
func (d *DB) CreateEnrollmentToken(ctx context.Context, t store.EnrollmentToken) error {
	res, err := d.db.ExecContext(ctx,
		`INSERT INTO enrollment_tokens (token_hash, org_id, ou_id, created_by, created_at, expires_at)
		 SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM ous WHERE id = $3 AND org_id = $2)`,
		t.TokenHash, t.OrgID, t.OUID, t.CreatedBy, ms(t.CreatedAt), ms(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("creating enrollment token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("creating enrollment token: OU %s of organization %s: %w", t.OUID, t.OrgID, store.ErrNotFound)
	}
	return nil
}

// ErrTokenUnusable is wrapped by EnrollAgent for an unknown, expired or used
// token; the three are not told apart to the caller.
var ErrTokenUnusable = errors.New("enrollment token is unknown, expired or already used")

// EnrollAgent implements store.Agents. The UPDATE … WHERE used_at IS NULL is
// the single-use guarantee: only one transaction can flip it.
func (d *DB) EnrollAgent(ctx context.Context, tokenHash string, now time.Time, a *store.Agent) error {
	a.ID, a.CreatedAt = uuid.NewString(), now.UTC().Truncate(time.Millisecond)
	return d.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx,
			`UPDATE enrollment_tokens SET used_at = $1, agent_id = $2
			 WHERE token_hash = $3 AND used_at IS NULL AND expires_at > $1
			 RETURNING org_id, ou_id`, ms(now), a.ID, tokenHash).Scan(&a.OrgID, &a.OUID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("enrolling agent: %w: %w", ErrTokenUnusable, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("enrolling agent: %w", err)
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO agents (id, org_id, ou_id, name, hostname, version, token_hash, created_at, last_seen_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
			a.ID, a.OrgID, a.OUID, a.Name, a.Hostname, a.Version, a.TokenHash, ms(a.CreatedAt))
		if err != nil {
			return fmt.Errorf("storing agent: %w", err)
		}
		return nil
	})
}

const agentCols = `id, org_id, ou_id, name, hostname, version, token_hash, created_at, last_seen_at, last_error, last_error_at`

func scanAgent(row rowScanner) (store.Agent, error) {
	var a store.Agent
	var created, seen, errAt int64
	err := row.Scan(&a.ID, &a.OrgID, &a.OUID, &a.Name, &a.Hostname, &a.Version, &a.TokenHash, &created, &seen,
		&a.LastError, &errAt)
	a.CreatedAt, a.LastSeenAt, a.LastErrorAt = fromMS(created), fromMS(seen), fromMS(errAt)
	return a, err
}

// AgentByTokenHash implements store.Agents.
func (d *DB) AgentByTokenHash(ctx context.Context, hash string) (store.Agent, error) {
	a, err := scanAgent(d.db.QueryRowPrepared(ctx, `SELECT `+agentCols+` FROM agents WHERE token_hash = $1`, hash))
	if err != nil {
		return a, notFound(err, "agent")
	}
	return a, nil
}

// Agents implements store.Agents.
func (d *DB) Agents(ctx context.Context, orgID string) ([]store.Agent, error) {
	return queryAll(ctx, d.db, "agents", scanAgent,
		`SELECT `+agentCols+` FROM agents WHERE org_id = $1 ORDER BY name, id`, orgID)
}

// SetAgentError implements store.Agents.
func (d *DB) SetAgentError(ctx context.Context, id, msg string, at time.Time) error {
	if msg == "" {
		return nil
	}
	if _, err := d.db.ExecContext(ctx, `UPDATE agents SET last_error = $1, last_error_at = $2 WHERE id = $3`,
		msg, ms(at), id); err != nil {
		return fmt.Errorf("recording an error of agent %s: %w", id, err)
	}
	return nil
}

// TouchAgent implements store.Agents.
func (d *DB) TouchAgent(ctx context.Context, id, version string, seen time.Time) error {
	if _, err := d.db.ExecPrepared(ctx,
		`UPDATE agents SET last_seen_at = $1, version = CASE WHEN $2 = '' THEN version ELSE $2 END WHERE id = $3`,
		ms(seen), version, id); err != nil {
		return fmt.Errorf("updating agent %s: %w", id, err)
	}
	return nil
}

// BatchSeen implements store.Agents.
func (d *DB) BatchSeen(ctx context.Context, agentID, batchID string) (bool, error) {
	var one int
	err := d.db.QueryRowPrepared(ctx,
		`SELECT 1 FROM ingested_batches WHERE agent_id = $1 AND batch_id = $2 AND state = 'stored'`, agentID, batchID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("looking up batch %s: %w", batchID, err)
	}
	return true, nil
}

// ClaimBatch implements store.Agents. On PostgreSQL, which replicas
// share, the INSERT … ON CONFLICT is the atomic step: a second inserter
// waits for the first's commit and then sees its row; the update takes
// over only an expired pending claim. On SQLite there is one server
// (docs/install.md, "Several replicas"), so a pending claim is held in
// memory and only a stored batch is written (RecordBatch): one commit a
// batch instead of two.
func (d *DB) ClaimBatch(ctx context.Context, agentID, batchID, claimID string, now, expires time.Time) (store.BatchClaim, error) {
	if d.claims != nil {
		return d.claimInMemory(ctx, agentID, batchID, claimID, now, expires)
	}
	// A claim released between the failed insert and the look-up is
	// tried again; three rounds of that mean a storm, answered pending.
	for range 3 {
		var got string
		err := d.db.QueryRowPrepared(ctx,
			`INSERT INTO ingested_batches (agent_id, batch_id, received_at, state, claim_id, claim_expires)
			 VALUES ($1, $2, $3, 'pending', $4, $5)
			 ON CONFLICT (agent_id, batch_id) DO UPDATE
			   SET received_at = excluded.received_at, claim_id = excluded.claim_id, claim_expires = excluded.claim_expires
			   WHERE ingested_batches.state = 'pending' AND ingested_batches.claim_expires <= $3
			 RETURNING claim_id`, agentID, batchID, ms(now), claimID, ms(expires)).Scan(&got)
		switch {
		case err == nil:
			return store.BatchClaimed, nil
		case !errors.Is(err, sql.ErrNoRows):
			return "", fmt.Errorf("claiming batch %s: %w", batchID, err)
		}
		var state string
		err = d.db.QueryRowPrepared(ctx,
			`SELECT state FROM ingested_batches WHERE agent_id = $1 AND batch_id = $2`, agentID, batchID).Scan(&state)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			continue
		case err != nil:
			return "", fmt.Errorf("looking up batch %s: %w", batchID, err)
		case state == string(store.BatchStored):
			return store.BatchStored, nil
		default:
			return store.BatchPending, nil
		}
	}
	return store.BatchPending, nil
}

// claimInMemory is ClaimBatch on SQLite: the claim is taken in memory,
// and then the store says whether the batch was stored before.
func (d *DB) claimInMemory(ctx context.Context, agentID, batchID, claimID string, now, expires time.Time) (store.BatchClaim, error) {
	k := claimKey{agentID, batchID}
	if !d.claims.take(k, claimID, now, expires) {
		return store.BatchPending, nil
	}
	stored, err := d.BatchSeen(ctx, agentID, batchID)
	if err != nil || stored {
		d.claims.release(k, claimID)
	}
	switch {
	case err != nil:
		return "", fmt.Errorf("claiming a batch: %w", err)
	case stored:
		return store.BatchStored, nil
	}
	return store.BatchClaimed, nil
}

// pendingClaims are the batch claims of a SQLite store (ClaimBatch).
type pendingClaims struct {
	mu sync.Mutex
	m  map[claimKey]pendingClaim
}

type claimKey struct{ agent, batch string }

type pendingClaim struct {
	id      string
	expires time.Time
}

// take claims k for id unless another unexpired claim holds it.
func (c *pendingClaims) take(k claimKey, id string, now, expires time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.m[k]; ok && p.expires.After(now) {
		return false
	}
	if c.m == nil {
		c.m = map[claimKey]pendingClaim{}
	}
	c.m[k] = pendingClaim{id, expires}
	return true
}

// release drops claim id on k.
func (c *pendingClaims) release(k claimKey, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.m[k]; ok && p.id == id {
		delete(c.m, k)
	}
}

// drop drops whatever claim is on k: the batch was stored.
func (c *pendingClaims) drop(k claimKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
}

// RecordBatch implements store.Agents. Recording an id twice is harmless.
func (d *DB) RecordBatch(ctx context.Context, agentID, batchID string, at time.Time) error {
	_, err := d.db.ExecPrepared(ctx,
		`INSERT INTO ingested_batches (agent_id, batch_id, received_at, state) VALUES ($1, $2, $3, 'stored')
		 ON CONFLICT (agent_id, batch_id) DO UPDATE SET state = 'stored', claim_id = '', claim_expires = 0`,
		agentID, batchID, ms(at))
	if err != nil {
		return fmt.Errorf("recording batch %s: %w", batchID, err)
	}
	if d.claims != nil {
		d.claims.drop(claimKey{agentID, batchID})
	}
	return nil
}

// ReleaseBatch implements store.Agents.
func (d *DB) ReleaseBatch(ctx context.Context, agentID, batchID, claimID string) error {
	if d.claims != nil {
		d.claims.release(claimKey{agentID, batchID}, claimID)
		return nil
	}
	_, err := d.db.ExecPrepared(ctx,
		`DELETE FROM ingested_batches WHERE agent_id = $1 AND batch_id = $2 AND state = 'pending' AND claim_id = $3`,
		agentID, batchID, claimID)
	if err != nil {
		return fmt.Errorf("releasing the claim on batch %s: %w", batchID, err)
	}
	return nil
}
