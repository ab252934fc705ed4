package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/kpilot/kpilot/server/store"
)

// CreateOrganization implements store.Organizations.
func (d *DB) CreateOrganization(ctx context.Context, o *store.Organization) error {
	return d.inTx(ctx, func(tx *sql.Tx) error { return insertOrg(ctx, tx, o) })
}

func insertOrg(ctx context.Context, tx *sql.Tx, o *store.Organization) error {
	o.ID, o.RootOU, o.CreatedAt = uuid.NewString(), uuid.NewString(), time.Now().UTC().Truncate(time.Millisecond)
	var partnerID any
	if o.PartnerID != "" {
		partnerID = o.PartnerID
	}
	var seriesNo int64
	if err := tx.QueryRowContext(ctx,
		`UPDATE counters SET value = value + 1 WHERE name = 'organizations' RETURNING value`).Scan(&seriesNo); err != nil {
		return fmt.Errorf("creating organization: numbering it: %w", err)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO organizations (id, name, kind, partner_id, root_ou, created_at, channel_consent, invited_by_org, series_no)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		o.ID, o.Name, string(o.Kind), partnerID, o.RootOU, ms(o.CreatedAt), o.ChannelConsent, o.InvitedByOrg, seriesNo); err != nil {
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
}

const orgCols = `id, name, kind, partner_id, root_ou, created_at, channel_consent, invited_by_org`

func scanOrg(row rowScanner) (store.Organization, error) {
	var o store.Organization
	var kind string
	var partner sql.NullString
	var created int64
	err := row.Scan(&o.ID, &o.Name, &kind, &partner, &o.RootOU, &created, &o.ChannelConsent, &o.InvitedByOrg)
	o.Kind, o.PartnerID, o.CreatedAt = store.OrgKind(kind), partner.String, fromMS(created)
	return o, err
}

// Organization implements store.Organizations.
func (d *DB) Organization(ctx context.Context, id string) (store.Organization, error) {
	o, err := scanOrg(d.db.QueryRowContext(ctx, `SELECT `+orgCols+` FROM organizations WHERE id = $1`, id))
	if err != nil {
		return o, notFound(err, "organization "+id)
	}
	return o, nil
}

// OrganizationByPartnerID implements store.Organizations.
func (d *DB) OrganizationByPartnerID(ctx context.Context, partnerID string) (store.Organization, error) {
	o, err := scanOrg(d.db.QueryRowContext(ctx,
		`SELECT `+orgCols+` FROM organizations WHERE partner_id = $1 AND kind IN ('reseller', 'distributor')`, partnerID))
	if err != nil {
		return o, notFound(err, "partner "+partnerID)
	}
	return o, nil
}

// OrganizationsByIDs implements store.Organizations.
func (d *DB) OrganizationsByIDs(ctx context.Context, ids []string) ([]store.Organization, error) {
	var out []store.Organization
	for _, chunk := range chunks(ids) {
		orgs, err := queryAll(ctx, d.db, "listing organizations", scanOrg,
			`SELECT `+orgCols+` FROM organizations WHERE id IN (`+placeholders(1, len(chunk))+`) ORDER BY name, id`, anys(chunk)...)
		if err != nil {
			return nil, err
		}
		out = append(out, orgs...)
	}
	return out, nil
}

// OrganizationIDs implements store.Organizations.
func (d *DB) OrganizationIDs(ctx context.Context) ([]string, error) {
	return queryAll(ctx, d.db, "organizations", func(r rowScanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, `SELECT id FROM organizations ORDER BY id`)
}

// SetChannelConsent implements store.Organizations.
func (d *DB) SetChannelConsent(ctx context.Context, orgID string, consent bool) error {
	return d.exec1(ctx, "organization "+orgID, `UPDATE organizations SET channel_consent = $2 WHERE id = $1`, orgID, consent)
}

// ChannelConsent implements store.Organizations.
func (d *DB) ChannelConsent(ctx context.Context, orgID string) (bool, error) {
	o, err := d.Organization(ctx, orgID)
	return o.ChannelConsent, err
}

// CreateOU implements store.Organizations.
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

// OUs implements store.Organizations.
func (d *DB) OUs(ctx context.Context, orgID string) ([]store.OU, error) {
	return queryAll(ctx, d.db, "listing OUs", func(r rowScanner) (store.OU, error) {
		var u store.OU
		return u, r.Scan(&u.ID, &u.OrgID, &u.ParentID, &u.Name)
	}, `SELECT id, org_id, COALESCE(parent_id, ''), name FROM ous WHERE org_id = $1 ORDER BY created_at, id`, orgID)
}

// RenameOU implements store.Organizations.
func (d *DB) RenameOU(ctx context.Context, orgID, id, name string) error {
	return d.exec1(ctx, "OU "+id, `UPDATE ous SET name = $3 WHERE id = $1 AND org_id = $2`, id, orgID, name)
}

// nonRootOU checks, inside tx, that id is an OU of orgID other than the
// root; verb names the refused change.
func nonRootOU(ctx context.Context, tx *sql.Tx, orgID, id, verb string) error {
	var parent sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT parent_id FROM ous WHERE id = $1 AND org_id = $2`, id, orgID).Scan(&parent)
	if err != nil {
		return notFound(err, "OU "+id)
	}
	if !parent.Valid {
		return fmt.Errorf("%s the root OU: %w", verb, store.ErrInvalid)
	}
	return nil
}

// MoveOU implements store.Organizations.
func (d *DB) MoveOU(ctx context.Context, orgID, id, parentID string) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		if err := nonRootOU(ctx, tx, orgID, id, "moving"); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ous WHERE id = $1 AND org_id = $2`, parentID, orgID).Scan(&n); err != nil {
			return fmt.Errorf("moving OU: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("new parent OU %s: %w", parentID, store.ErrNotFound)
		}
		// The new parent must not lie in the moved subtree.
		err := tx.QueryRowContext(ctx,
			`WITH RECURSIVE up (id, parent_id) AS (
			     SELECT id, parent_id FROM ous WHERE id = $1
			     UNION ALL
			     SELECT o.id, o.parent_id FROM ous o JOIN up ON o.id = up.parent_id
			 ) SELECT COUNT(*) FROM up WHERE id = $2`, parentID, id).Scan(&n)
		if err != nil {
			return fmt.Errorf("moving OU: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("moving OU %s below itself: %w", id, store.ErrInvalid)
		}
		_, err = tx.ExecContext(ctx, `UPDATE ous SET parent_id = $2 WHERE id = $1`, id, parentID)
		return err
	})
}

// DeleteOU implements store.Organizations.
func (d *DB) DeleteOU(ctx context.Context, orgID, id string) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		if err := nonRootOU(ctx, tx, orgID, id, "deleting"); err != nil {
			return err
		}
		var n int
		err := tx.QueryRowContext(ctx, `SELECT
		      (SELECT COUNT(*) FROM ous WHERE parent_id = $1)
		    + (SELECT COUNT(*) FROM assets WHERE ou_id = $1)
		    + (SELECT COUNT(*) FROM agents WHERE ou_id = $1)
		    + (SELECT COUNT(*) FROM memberships WHERE ou_id = $1)
		    + (SELECT COUNT(*) FROM invitations WHERE ou_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL)`, id).Scan(&n)
		if err != nil {
			return fmt.Errorf("deleting OU: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("OU %s holds OUs, assets, agents, users or open invitations: %w", id, store.ErrNotEmpty)
		}
		for _, q := range []string{`DELETE FROM ou_keys WHERE ou_id = $1`, `DELETE FROM enrollment_tokens WHERE ou_id = $1`, `DELETE FROM ous WHERE id = $1`} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("deleting OU: %w", err)
			}
		}
		return nil
	})
}
