package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kpilot/kpilot/server/store"
)

// Members implements store.Store.
func (d *DB) Members(ctx context.Context, orgID string) ([]store.Member, error) {
	rows, err := d.db.QueryContext(ctx,
		`SELECT u.id, u.email, u.created_at, m.org_id, m.ou_id, m.role
		 FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 ORDER BY u.email`, orgID)
	if err != nil {
		return nil, fmt.Errorf("listing members: %w", err)
	}
	defer rows.Close()
	var out []store.Member
	for rows.Next() {
		var m store.Member
		var at int64
		var role string
		if err := rows.Scan(&m.User.ID, &m.Email, &at, &m.OrgID, &m.OUID, &role); err != nil {
			return nil, fmt.Errorf("listing members: %w", err)
		}
		m.UserID, m.CreatedAt, m.Role = m.User.ID, fromMS(at), store.Role(role)
		out = append(out, m)
	}
	return out, rows.Err()
}

// SetMembership implements store.Store: it changes the role and OU of an
// existing membership.
func (d *DB) SetMembership(ctx context.Context, m store.Membership) error {
	return d.exec1(ctx, "membership of user "+m.UserID,
		`UPDATE memberships SET role = $3, ou_id = $4
		 WHERE user_id = $1 AND org_id = $2 AND EXISTS (SELECT 1 FROM ous WHERE id = $4 AND org_id = $2)`,
		m.UserID, m.OrgID, string(m.Role), m.OUID)
}

// RemoveMembership implements store.Store. The user's sessions and API
// tokens in that organization end with it.
func (d *DB) RemoveMembership(ctx context.Context, userID, orgID string) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM memberships WHERE user_id = $1 AND org_id = $2`, userID, orgID)
		if err != nil {
			return fmt.Errorf("removing membership: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("membership of user %s: %w", userID, store.ErrNotFound)
		}
		for _, q := range []string{`DELETE FROM sessions WHERE user_id = $1 AND org_id = $2`, `DELETE FROM api_tokens WHERE user_id = $1 AND org_id = $2`} {
			if _, err := tx.ExecContext(ctx, q, userID, orgID); err != nil {
				return fmt.Errorf("removing membership: %w", err)
			}
		}
		return nil
	})
}

// SetPassword implements store.Store.
func (d *DB) SetPassword(ctx context.Context, userID, hash string) error {
	return d.exec1(ctx, "user "+userID, `UPDATE users SET password_hash = $2 WHERE id = $1`, userID, hash)
}

// DeleteUserSessions implements store.Store.
func (d *DB) DeleteUserSessions(ctx context.Context, userID string) error {
	if _, err := d.db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("ending sessions: %w", err)
	}
	return nil
}

// SetSessionOrg implements store.Store.
func (d *DB) SetSessionOrg(ctx context.Context, hash, orgID string) error {
	return d.exec1(ctx, "session",
		`UPDATE sessions SET org_id = $2 WHERE token_hash = $1
		 AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = sessions.user_id AND m.org_id = $2)`, hash, orgID)
}

// invitationAsset is the stored form of an invitation's first asset.
type invitationAsset struct {
	Name         string `json:"name"`
	Category     string `json:"category,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Product      string `json:"product,omitempty"`
	Type         string `json:"type,omitempty"`
	Version      string `json:"version,omitempty"`
	Serial       string `json:"serial,omitempty"`
}

// CreateInvitation implements store.Store.
func (d *DB) CreateInvitation(ctx context.Context, inv *store.Invitation) error {
	inv.ID = uuid.NewString()
	inv.Email = strings.ToLower(strings.TrimSpace(inv.Email))
	asset := ""
	if inv.Asset != nil {
		a := inv.Asset
		b, _ := json.Marshal(invitationAsset{a.Name, a.Category, a.Manufacturer, a.Product, a.Type, a.Version, a.Serial})
		asset = string(b)
	}
	_, err := d.db.ExecContext(ctx,
		`INSERT INTO invitations (id, token_hash, kind, email, org_id, ou_id, role, company, asset, invited_by, invited_by_org, created_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		inv.ID, inv.TokenHash, string(inv.Kind), inv.Email, inv.OrgID, inv.OUID, string(inv.Role), inv.Company, asset,
		inv.InvitedBy, inv.InvitedByOrg, ms(inv.CreatedAt), ms(inv.ExpiresAt))
	if err != nil {
		return fmt.Errorf("storing invitation: %w", err)
	}
	return nil
}

const invitationCols = `id, token_hash, kind, email, org_id, ou_id, role, company, asset, invited_by, invited_by_org,
	created_at, expires_at, accepted_at, revoked_at, result_org_id`

func scanInvitation(row rowScanner) (store.Invitation, error) {
	var inv store.Invitation
	var kind, role, asset string
	var created, expires int64
	var accepted, revoked sql.NullInt64
	err := row.Scan(&inv.ID, &inv.TokenHash, &kind, &inv.Email, &inv.OrgID, &inv.OUID, &role, &inv.Company, &asset,
		&inv.InvitedBy, &inv.InvitedByOrg, &created, &expires, &accepted, &revoked, &inv.ResultOrgID)
	if err != nil {
		return inv, err
	}
	inv.Kind, inv.Role = store.InvitationKind(kind), store.Role(role)
	inv.CreatedAt, inv.ExpiresAt, inv.AcceptedAt, inv.RevokedAt = fromMS(created), fromMS(expires), fromNullMS(accepted), fromNullMS(revoked)
	if asset != "" {
		var a invitationAsset
		if err := json.Unmarshal([]byte(asset), &a); err != nil {
			return inv, fmt.Errorf("invitation %s: stored asset: %w", inv.ID, err)
		}
		inv.Asset = &store.Asset{Name: a.Name, Category: a.Category, Manufacturer: a.Manufacturer, Product: a.Product,
			Type: a.Type, Version: a.Version, Serial: a.Serial}
	}
	return inv, nil
}

// Invitation implements store.Store.
func (d *DB) Invitation(ctx context.Context, hash string, now time.Time) (store.Invitation, error) {
	inv, err := scanInvitation(d.db.QueryRowContext(ctx,
		`SELECT `+invitationCols+` FROM invitations
		 WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2`, hash, ms(now)))
	if err != nil {
		return inv, notFound(err, "invitation")
	}
	return inv, nil
}

// InvitationsByOrg implements store.Store.
func (d *DB) InvitationsByOrg(ctx context.Context, org string) ([]store.Invitation, error) {
	return queryAll(ctx, d.db, "listing invitations", scanInvitation,
		`SELECT `+invitationCols+` FROM invitations WHERE invited_by_org = $1 ORDER BY created_at DESC, id`, org)
}

// RevokeInvitation implements store.Store.
func (d *DB) RevokeInvitation(ctx context.Context, org, id string, at time.Time) error {
	return d.exec1(ctx, "open invitation "+id,
		`UPDATE invitations SET revoked_at = $3 WHERE id = $1 AND invited_by_org = $2 AND accepted_at IS NULL AND revoked_at IS NULL`,
		id, org, ms(at))
}

// AcceptInvitation implements store.Store.
func (d *DB) AcceptInvitation(ctx context.Context, hash string, acc store.Acceptance) (store.Accepted, error) {
	var out store.Accepted
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		inv, err := scanInvitation(tx.QueryRowContext(ctx,
			`SELECT `+invitationCols+` FROM invitations
			 WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2`, hash, ms(acc.Now)))
		if err != nil {
			return notFound(err, "invitation")
		}
		res, err := tx.ExecContext(ctx, `UPDATE invitations SET accepted_at = $2 WHERE id = $1 AND accepted_at IS NULL`, inv.ID, ms(acc.Now))
		if err != nil {
			return fmt.Errorf("accepting invitation: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("invitation: %w", store.ErrNotFound)
		}
		// The user: the one with the invited email, or a new one.
		var userID string
		err = tx.QueryRowContext(ctx, `SELECT id FROM users WHERE email = $1`, inv.Email).Scan(&userID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if acc.NewPasswordHash == "" {
				return fmt.Errorf("a password is needed for the new account: %w", store.ErrInvalid)
			}
			userID = uuid.NewString()
			if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)`,
				userID, inv.Email, acc.NewPasswordHash, ms(acc.Now)); err != nil {
				return fmt.Errorf("creating user: %w", err)
			}
			out.CreatedUser = true
		case err != nil:
			return fmt.Errorf("looking up user: %w", err)
		}
		out.UserID = userID

		orgID, ouID := inv.OrgID, inv.OUID
		switch inv.Kind {
		case store.InviteCustomer, store.InviteReseller:
			o := store.Organization{Name: inv.Company, Kind: store.Customer, InvitedByOrg: inv.InvitedByOrg}
			if inv.Kind == store.InviteReseller {
				o.Kind, o.PartnerID = store.Reseller, acc.PartnerID
			}
			if err := insertOrg(ctx, tx, &o); err != nil {
				return err
			}
			orgID, ouID = o.ID, o.RootOU
			if inv.Kind == store.InviteCustomer && inv.Asset != nil {
				a := *inv.Asset
				a.ID, a.OrgID, a.OUID, a.CreatedByOrg, a.CreatedAt = uuid.NewString(), o.ID, o.RootOU, inv.InvitedByOrg, acc.Now.UTC().Truncate(time.Millisecond)
				a.SourceKey = "manual:" + a.ID
				if err := insertAsset(ctx, tx, &a); err != nil {
					return err
				}
				g := store.Grant{AssetID: a.ID, CustomerOrgID: o.ID, PartnerOrgID: inv.InvitedByOrg, Kind: store.GrantCreated,
					GrantedBy: inv.InvitedBy, GrantedAt: a.CreatedAt}
				if err := insertGrant(ctx, tx, &g); err != nil {
					return err
				}
				out.AssetID = a.ID
			}
		}
		res, err = tx.ExecContext(ctx,
			`INSERT INTO memberships (user_id, org_id, ou_id, role)
			 SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM ous WHERE id = $3 AND org_id = $2)`,
			userID, orgID, ouID, string(inv.Role))
		if isUnique(err) {
			return fmt.Errorf("%s is already a member of the organization: %w", inv.Email, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("adding membership: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("the invitation's OU no longer exists: %w", store.ErrNotFound)
		}
		out.OrgID = orgID
		_, err = tx.ExecContext(ctx, `UPDATE invitations SET result_org_id = $2 WHERE id = $1`, inv.ID, orgID)
		return err
	})
	return out, err
}

// CreatePasswordReset implements store.Store.
func (d *DB) CreatePasswordReset(ctx context.Context, hash, userID string, now, expires time.Time) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		hash, userID, ms(now), ms(expires))
	if err != nil {
		return fmt.Errorf("storing password reset: %w", err)
	}
	return nil
}

// UsePasswordReset implements store.Store.
func (d *DB) UsePasswordReset(ctx context.Context, hash string, now time.Time) (string, error) {
	var user string
	err := d.db.QueryRowContext(ctx,
		`UPDATE password_resets SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id`,
		hash, ms(now)).Scan(&user)
	if err != nil {
		return "", notFound(err, "password reset")
	}
	return user, nil
}

// CreateAPIToken implements store.Store.
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

// APITokenByHash implements store.Store. Last use is recorded at most
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

// APITokens implements store.Store.
func (d *DB) APITokens(ctx context.Context, userID, orgID string) ([]store.APIToken, error) {
	return queryAll(ctx, d.db, "listing API tokens", scanToken,
		`SELECT `+tokenCols+` FROM api_tokens WHERE user_id = $1 AND org_id = $2 ORDER BY created_at, id`, userID, orgID)
}

// DeleteAPIToken implements store.Store.
func (d *DB) DeleteAPIToken(ctx context.Context, userID, orgID, id string) error {
	return d.exec1(ctx, "API token "+id, `DELETE FROM api_tokens WHERE id = $1 AND user_id = $2 AND org_id = $3`, id, userID, orgID)
}

// AppendAudit implements store.Store.
func (d *DB) AppendAudit(ctx context.Context, e store.AuditEvent) error {
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("audit event id: %w", err)
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	_, err = d.db.ExecContext(ctx,
		`INSERT INTO audit_events (id, org_id, actor_org_id, actor_user_id, action, target_type, target_id, detail, remote_addr, at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		id.String(), e.OrgID, e.ActorOrgID, e.ActorUserID, e.Action, e.TargetType, e.TargetID, e.Detail, e.RemoteAddr, ms(e.At))
	if err != nil {
		return fmt.Errorf("writing audit event %s: %w", e.Action, err)
	}
	return nil
}

// AuditEvents implements store.Store.
func (d *DB) AuditEvents(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q := `SELECT id, org_id, actor_org_id, actor_user_id, action, target_type, target_id, detail, remote_addr, at
	      FROM audit_events WHERE (org_id = $1 OR actor_org_id = $1)`
	args := []any{f.OrgID}
	if f.BeforeID != "" {
		args = append(args, f.BeforeID)
		q += fmt.Sprintf(" AND id < $%d", len(args))
	}
	if f.Action != "" {
		args = append(args, f.Action)
		q += fmt.Sprintf(" AND action = $%d", len(args))
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args))
	rows, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading audit trail: %w", err)
	}
	defer rows.Close()
	var out []store.AuditEvent
	for rows.Next() {
		var e store.AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &e.OrgID, &e.ActorOrgID, &e.ActorUserID, &e.Action, &e.TargetType, &e.TargetID, &e.Detail, &e.RemoteAddr, &at); err != nil {
			return nil, fmt.Errorf("reading audit trail: %w", err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Hit implements store.Store: one atomic upsert, so concurrent attempts on
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

// Unhit implements store.Store.
func (d *DB) Unhit(ctx context.Context, bucket string) error {
	if _, err := d.db.ExecContext(ctx, `UPDATE rate_limits SET hits = hits - 1 WHERE bucket = $1 AND hits > 0`, bucket); err != nil {
		return fmt.Errorf("taking back attempt: %w", err)
	}
	return nil
}
