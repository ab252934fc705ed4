package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/kpilot/kpilot/server/store"
)

// CreateSession implements store.Sessions.
func (d *DB) CreateSession(ctx context.Context, s store.Session) error {
	_, err := d.db.ExecContext(ctx,
		`INSERT INTO sessions (token_hash, user_id, org_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		s.TokenHash, s.UserID, s.OrgID, ms(s.CreatedAt), ms(s.ExpiresAt))
	if err != nil {
		return fmt.Errorf("creating session: %w", err)
	}
	return nil
}

// SessionByHash implements store.Sessions.
func (d *DB) SessionByHash(ctx context.Context, hash string, now time.Time) (store.Session, error) {
	var s store.Session
	var created, expires int64
	err := d.db.QueryRowContext(ctx,
		`SELECT token_hash, user_id, org_id, created_at, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2`,
		hash, ms(now)).Scan(&s.TokenHash, &s.UserID, &s.OrgID, &created, &expires)
	if err != nil {
		return s, notFound(err, "session")
	}
	s.CreatedAt, s.ExpiresAt = fromMS(created), fromMS(expires)
	return s, nil
}

// DeleteSession implements store.Sessions.
func (d *DB) DeleteSession(ctx context.Context, hash string) error {
	if _, err := d.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hash); err != nil {
		return fmt.Errorf("deleting session: %w", err)
	}
	return nil
}

// EndUserAccess implements store.Sessions.
func (d *DB) EndUserAccess(ctx context.Context, userID string) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM sessions WHERE user_id = $1`, `DELETE FROM api_tokens WHERE user_id = $1`} {
			if _, err := tx.ExecContext(ctx, q, userID); err != nil {
				return fmt.Errorf("ending sessions and API tokens: %w", err)
			}
		}
		return nil
	})
}

// SetSessionOrg implements store.Sessions.
func (d *DB) SetSessionOrg(ctx context.Context, hash, orgID string) error {
	return d.exec1(ctx, "session",
		`UPDATE sessions SET org_id = $2 WHERE token_hash = $1
		 AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = sessions.user_id AND m.org_id = $2)`, hash, orgID)
}

// CreateAPIToken implements store.Sessions.
func (d *DB) CreateAPIToken(ctx context.Context, t *store.APIToken) error {
	t.ID = uuid.NewString()
	_, err := d.db.ExecContext(ctx,
		`INSERT INTO api_tokens (id, token_hash, user_id, org_id, name, hint, created_at, expires_at)
		 SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS (SELECT 1 FROM memberships WHERE user_id = $3 AND org_id = $4)`,
		t.ID, t.TokenHash, t.UserID, t.OrgID, t.Name, t.Hint, ms(t.CreatedAt), ms(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("storing API token: %w", err)
	}
	return nil
}

const tokenCols = `id, token_hash, user_id, org_id, name, hint, created_at, expires_at, last_used_at`

func scanToken(row rowScanner) (store.APIToken, error) {
	var t store.APIToken
	var created, expires, used int64
	err := row.Scan(&t.ID, &t.TokenHash, &t.UserID, &t.OrgID, &t.Name, &t.Hint, &created, &expires, &used)
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt = fromMS(created), fromMS(expires), fromMS(used)
	return t, err
}

// APITokenByHash implements store.Sessions. Last use is recorded at most
// once a minute, so a busy script does not write on every request.
func (d *DB) APITokenByHash(ctx context.Context, hash string, now time.Time) (store.APIToken, error) {
	t, err := scanToken(d.db.QueryRowContext(ctx,
		`SELECT `+tokenCols+` FROM api_tokens WHERE token_hash = $1 AND (expires_at = 0 OR expires_at > $2)`, hash, ms(now)))
	if err != nil {
		return t, notFound(err, "API token")
	}
	if now.Sub(t.LastUsedAt) > time.Minute {
		if _, err := d.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $2 WHERE id = $1`, t.ID, ms(now)); err != nil {
			return t, fmt.Errorf("recording API token use: %w", err)
		}
	}
	return t, nil
}

// APITokens implements store.Sessions.
func (d *DB) APITokens(ctx context.Context, userID, orgID string) ([]store.APIToken, error) {
	return queryAll(ctx, d.db, "listing API tokens", scanToken,
		`SELECT `+tokenCols+` FROM api_tokens WHERE user_id = $1 AND org_id = $2 ORDER BY created_at, id`, userID, orgID)
}

// DeleteAPIToken implements store.Sessions.
func (d *DB) DeleteAPIToken(ctx context.Context, userID, orgID, id string) error {
	return d.exec1(ctx, "API token "+id, `DELETE FROM api_tokens WHERE id = $1 AND user_id = $2 AND org_id = $3`, id, userID, orgID)
}
