package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/kpilot/kpilot/server/store"
)

// CreateOrganization implements store.Store.
func (d *DB) CreateOrganization(ctx context.Context, o *store.Organization) error {
	o.ID, o.RootOU, o.CreatedAt = uuid.NewString(), uuid.NewString(), time.Now().UTC().Truncate(time.Millisecond)
	var partnerID any
	if o.PartnerID != "" {
		partnerID = o.PartnerID
	}
	return d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO organizations (id, name, kind, partner_id, root_ou, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			o.ID, o.Name, string(o.Kind), partnerID, o.RootOU, ms(o.CreatedAt)); err != nil {
			if isUnique(err) {
				return fmt.Errorf("creating organization: partner id %q: %w", o.PartnerID, store.ErrConflict)
			}
			return fmt.Errorf("creating organization: %w", err)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO ous (id, org_id, parent_id, name, created_at) VALUES ($1, $2, NULL, $3, $4)`,
			o.RootOU, o.ID, o.Name, ms(o.CreatedAt)); err != nil {
			return fmt.Errorf("creating root OU: %w", err)
		}
		return nil
	})
}

// Organization implements store.Store.
func (d *DB) Organization(ctx context.Context, id string) (store.Organization, error) {
	var o store.Organization
	var kind string
	var partner sql.NullString
	var created int64
	err := d.db.QueryRowContext(ctx,
		`SELECT id, name, kind, partner_id, root_ou, created_at FROM organizations WHERE id = $1`, id).
		Scan(&o.ID, &o.Name, &kind, &partner, &o.RootOU, &created)
	if err != nil {
		return o, notFound(err, "organization "+id)
	}
	o.Kind, o.PartnerID, o.CreatedAt = store.OrgKind(kind), partner.String, fromMS(created)
	return o, nil
}

// OUs implements store.Store.
func (d *DB) OUs(ctx context.Context, orgID string) ([]store.OU, error) {
	rows, err := d.db.QueryContext(ctx,
		`SELECT id, org_id, COALESCE(parent_id, ''), name FROM ous WHERE org_id = $1 ORDER BY created_at, id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("listing OUs: %w", err)
	}
	defer rows.Close()
	var out []store.OU
	for rows.Next() {
		var u store.OU
		if err := rows.Scan(&u.ID, &u.OrgID, &u.ParentID, &u.Name); err != nil {
			return nil, fmt.Errorf("listing OUs: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CreateOU implements store.Store.
func (d *DB) CreateOU(ctx context.Context, u *store.OU) error {
	u.ID = uuid.NewString()
	res, err := d.db.ExecContext(ctx,
		`INSERT INTO ous (id, org_id, parent_id, name, created_at)
		 SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM ous WHERE id = $3 AND org_id = $2)`,
		u.ID, u.OrgID, u.ParentID, u.Name, ms(time.Now()))
	if err != nil {
		return fmt.Errorf("creating OU %q: %w", u.Name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("creating OU %q: parent %s in organization %s: %w", u.Name, u.ParentID, u.OrgID, store.ErrNotFound)
	}
	return nil
}
