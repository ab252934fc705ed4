package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/kpilot/kpilot/server/store"
)

const windowCols = `id, org_id, asset_id, ou_id, group_id, name, starts_at, ends_at, recurrence, duration_seconds, timezone, created_by, created_at`

func scanWindow(row rowScanner) (store.MaintenanceWindow, error) {
	var w store.MaintenanceWindow
	var starts, ends, secs, created int64
	err := row.Scan(&w.ID, &w.OrgID, &w.AssetID, &w.OUID, &w.GroupID, &w.Name, &starts, &ends, &w.Recurrence, &secs, &w.TimeZone,
		&w.CreatedBy, &created)
	w.StartsAt, w.EndsAt, w.CreatedAt = fromMS(starts), fromMS(ends), fromMS(created)
	w.Duration = time.Duration(secs) * time.Second
	return w, err
}

// CreateMaintenanceWindow implements store.Maintenance.
func (d *DB) CreateMaintenanceWindow(ctx context.Context, w *store.MaintenanceWindow) error {
	w.ID = uuid.NewString()
	w.CreatedAt = w.CreatedAt.UTC().Truncate(time.Millisecond)
	_, err := d.db.ExecContext(ctx, `INSERT INTO maintenance_windows (`+windowCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		w.ID, w.OrgID, w.AssetID, w.OUID, w.GroupID, w.Name, ms(w.StartsAt), ms(w.EndsAt), w.Recurrence, int64(w.Duration/time.Second),
		w.TimeZone, w.CreatedBy, ms(w.CreatedAt))
	if err != nil {
		return fmt.Errorf("creating maintenance window: %w", err)
	}
	return nil
}

// UpdateMaintenanceWindow implements store.Maintenance.
func (d *DB) UpdateMaintenanceWindow(ctx context.Context, w store.MaintenanceWindow) error {
	return d.exec1(ctx, "maintenance window "+w.ID, `UPDATE maintenance_windows SET asset_id = $1, ou_id = $2, group_id = $3, name = $4,
		starts_at = $5, ends_at = $6, recurrence = $7, duration_seconds = $8, timezone = $9 WHERE id = $10 AND org_id = $11`,
		w.AssetID, w.OUID, w.GroupID, w.Name, ms(w.StartsAt), ms(w.EndsAt), w.Recurrence, int64(w.Duration/time.Second), w.TimeZone,
		w.ID, w.OrgID)
}

// DeleteMaintenanceWindow implements store.Maintenance.
func (d *DB) DeleteMaintenanceWindow(ctx context.Context, orgID, id string) error {
	return d.exec1(ctx, "maintenance window "+id, `DELETE FROM maintenance_windows WHERE id = $1 AND org_id = $2`, id, orgID)
}

// MaintenanceWindow implements store.Maintenance.
func (d *DB) MaintenanceWindow(ctx context.Context, id string) (store.MaintenanceWindow, error) {
	w, err := scanWindow(d.db.QueryRowContext(ctx, `SELECT `+windowCols+` FROM maintenance_windows WHERE id = $1`, id))
	if err != nil {
		return w, notFound(err, "maintenance window")
	}
	return w, nil
}

// MaintenanceWindows implements store.Maintenance.
func (d *DB) MaintenanceWindows(ctx context.Context, orgID string) ([]store.MaintenanceWindow, error) {
	return queryAll(ctx, d.db, "maintenance windows", scanWindow,
		`SELECT `+windowCols+` FROM maintenance_windows WHERE org_id = $1 ORDER BY created_at, id`, orgID)
}

// SetAssetParent implements store.Maintenance: the cycle check reads the
// chain of parents above parentID in the transaction that writes.
func (d *DB) SetAssetParent(ctx context.Context, orgID, assetID, parentID string) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		ids := []string{assetID}
		if parentID != "" {
			ids = append(ids, parentID)
		}
		for _, id := range ids {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM assets WHERE id = $1 AND org_id = $2`, id, orgID).Scan(&n); err != nil {
				return fmt.Errorf("reading asset %s: %w", id, err)
			}
			if n == 0 {
				return fmt.Errorf("asset %s: %w", id, store.ErrNotFound)
			}
		}
		if parentID == "" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM asset_parents WHERE asset_id = $1`, assetID); err != nil {
				return fmt.Errorf("clearing parent of asset %s: %w", assetID, err)
			}
			return nil
		}
		for at, hops := parentID, 0; at != ""; hops++ {
			if at == assetID || hops > 1000 {
				return fmt.Errorf("parent %s of asset %s depends on it: %w", parentID, assetID, store.ErrInvalid)
			}
			var next string
			err := tx.QueryRowContext(ctx, `SELECT parent_id FROM asset_parents WHERE asset_id = $1`, at).Scan(&next)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("reading parent of asset %s: %w", at, err)
			}
			at = next
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO asset_parents (asset_id, org_id, parent_id) VALUES ($1, $2, $3)
			ON CONFLICT (asset_id) DO UPDATE SET parent_id = excluded.parent_id, org_id = excluded.org_id`, assetID, orgID, parentID)
		if err != nil {
			return fmt.Errorf("setting parent of asset %s: %w", assetID, err)
		}
		return nil
	})
}

// AssetParents implements store.Maintenance.
func (d *DB) AssetParents(ctx context.Context, orgID string) (map[string]string, error) {
	type link struct{ asset, parent string }
	links, err := queryAll(ctx, d.db, "asset parents", func(r rowScanner) (link, error) {
		var l link
		err := r.Scan(&l.asset, &l.parent)
		return l, err
	}, `SELECT asset_id, parent_id FROM asset_parents WHERE org_id = $1`, orgID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(links))
	for _, l := range links {
		out[l.asset] = l.parent
	}
	return out, nil
}
