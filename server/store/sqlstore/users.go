package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kpilot/kpilot/server/store"
)

// CreateUser implements store.Store. Emails are stored lowercased.
func (d *DB) CreateUser(ctx context.Context, u *store.User) error {
	u.ID, u.CreatedAt = uuid.NewString(), time.Now().UTC().Truncate(time.Millisecond)
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	_, err := d.db.ExecContext(ctx,
		`INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)`,
		u.ID, u.Email, u.PasswordHash, ms(u.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("creating user %s: %w", u.Email, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("creating user %s: %w", u.Email, err)
	}
	return nil
}

const userCols = `id, email, password_hash, created_at`

func (d *DB) userWhere(ctx context.Context, cond string, arg any) (store.User, error) {
	var u store.User
	var created int64
	err := d.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE `+cond, arg).
		Scan(&u.ID, &u.Email, &u.PasswordHash, &created)
	u.CreatedAt = fromMS(created)
	return u, err
}

// UserByEmail implements store.Store.
func (d *DB) UserByEmail(ctx context.Context, email string) (store.User, error) {
	u, err := d.userWhere(ctx, `email = $1`, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return u, notFound(err, "user")
	}
	return u, nil
}

// User implements store.Store.
func (d *DB) User(ctx context.Context, id string) (store.User, error) {
	u, err := d.userWhere(ctx, `id = $1`, id)
	if err != nil {
		return u, notFound(err, "user "+id)
	}
	return u, nil
}

// AddMembership implements store.Store. The OU must belong to the
// organization.
func (d *DB) AddMembership(ctx context.Context, m store.Membership) error {
	res, err := d.db.ExecContext(ctx,
		`INSERT INTO memberships (user_id, org_id, ou_id, role)
		 SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM ous WHERE id = $3 AND org_id = $2)`,
		m.UserID, m.OrgID, m.OUID, string(m.Role))
	if isUnique(err) {
		return fmt.Errorf("adding membership: %w", store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("adding membership: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("adding membership: OU %s of organization %s: %w", m.OUID, m.OrgID, store.ErrNotFound)
	}
	return nil
}

// Memberships implements store.Store.
func (d *DB) Memberships(ctx context.Context, userID string) ([]store.Membership, error) {
	return queryAll(ctx, d.db, "listing memberships", func(r rowScanner) (store.Membership, error) {
		var m store.Membership
		var role string
		err := r.Scan(&m.UserID, &m.OrgID, &m.OUID, &role)
		m.Role = store.Role(role)
		return m, err
	}, `SELECT user_id, org_id, ou_id, role FROM memberships WHERE user_id = $1 ORDER BY org_id`, userID)
}

// CreateSession implements store.Store.
func (d *DB) CreateSession(ctx context.Context, s store.Session) error {
	_, err := d.db.ExecContext(ctx,
		`INSERT INTO sessions (token_hash, user_id, org_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		s.TokenHash, s.UserID, s.OrgID, ms(s.CreatedAt), ms(s.ExpiresAt))
	if err != nil {
		return fmt.Errorf("creating session: %w", err)
	}
	return nil
}

// SessionByHash implements store.Store.
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

// DeleteSession implements store.Store.
func (d *DB) DeleteSession(ctx context.Context, hash string) error {
	if _, err := d.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hash); err != nil {
		return fmt.Errorf("deleting session: %w", err)
	}
	return nil
}
