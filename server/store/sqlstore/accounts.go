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

// CreateUser implements store.Accounts. Emails are stored lowercased.
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

// UserByEmail implements store.Accounts.
func (d *DB) UserByEmail(ctx context.Context, email string) (store.User, error) {
	u, err := d.userWhere(ctx, `email = $1`, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return u, notFound(err, "user")
	}
	return u, nil
}

// User implements store.Accounts.
func (d *DB) User(ctx context.Context, id string) (store.User, error) {
	u, err := d.userWhere(ctx, `id = $1`, id)
	if err != nil {
		return u, notFound(err, "user "+id)
	}
	return u, nil
}

// SetPassword implements store.Accounts.
func (d *DB) SetPassword(ctx context.Context, userID, hash string) error {
	return d.exec1(ctx, "user "+userID, `UPDATE users SET password_hash = $2 WHERE id = $1`, userID, hash)
}

// AddMembership implements store.Accounts. The OU must belong to the
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

// Memberships implements store.Accounts.
func (d *DB) Memberships(ctx context.Context, userID string) ([]store.Membership, error) {
	return queryAll(ctx, d.db, "listing memberships", func(r rowScanner) (store.Membership, error) {
		var m store.Membership
		var role string
		err := r.Scan(&m.UserID, &m.OrgID, &m.OUID, &role)
		m.Role = store.Role(role)
		return m, err
	}, `SELECT user_id, org_id, ou_id, role FROM memberships WHERE user_id = $1 ORDER BY org_id`, userID)
}

// Members implements store.Accounts.
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

// SetMembership implements store.Accounts: it changes the role and OU of an
// existing membership.
func (d *DB) SetMembership(ctx context.Context, m store.Membership) error {
	return d.exec1(ctx, "membership of user "+m.UserID,
		`UPDATE memberships SET role = $3, ou_id = $4
		 WHERE user_id = $1 AND org_id = $2 AND EXISTS (SELECT 1 FROM ous WHERE id = $4 AND org_id = $2)`,
		m.UserID, m.OrgID, string(m.Role), m.OUID)
}

// RemoveMembership implements store.Accounts. The user's sessions and API
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

// CreateInvitation implements store.Accounts.
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

// Invitation implements store.Accounts.
func (d *DB) Invitation(ctx context.Context, hash string, now time.Time) (store.Invitation, error) {
	inv, err := scanInvitation(d.db.QueryRowContext(ctx,
		`SELECT `+invitationCols+` FROM invitations
		 WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2`, hash, ms(now)))
	if err != nil {
		return inv, notFound(err, "invitation")
	}
	return inv, nil
}

// InvitationsByOrg implements store.Accounts.
func (d *DB) InvitationsByOrg(ctx context.Context, org string) ([]store.Invitation, error) {
	return queryAll(ctx, d.db, "listing invitations", scanInvitation,
		`SELECT `+invitationCols+` FROM invitations WHERE invited_by_org = $1 ORDER BY created_at DESC, id`, org)
}

// RevokeInvitation implements store.Accounts.
func (d *DB) RevokeInvitation(ctx context.Context, org, id string, at time.Time) error {
	return d.exec1(ctx, "open invitation "+id,
		`UPDATE invitations SET revoked_at = $3 WHERE id = $1 AND invited_by_org = $2 AND accepted_at IS NULL AND revoked_at IS NULL`,
		id, org, ms(at))
}

// AcceptInvitation implements store.Accounts.
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

// CreatePasswordReset implements store.Accounts.
func (d *DB) CreatePasswordReset(ctx context.Context, hash, userID string, now, expires time.Time) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		hash, userID, ms(now), ms(expires))
	if err != nil {
		return fmt.Errorf("storing password reset: %w", err)
	}
	return nil
}

// UsePasswordReset implements store.Accounts.
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
