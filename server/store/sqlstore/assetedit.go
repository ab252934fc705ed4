package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kpilot/kpilot/server/store"
)

// EditAsset implements store.AssetEdits.
func (d *DB) EditAsset(ctx context.Context, orgID, id string, e store.AssetEdit) (store.Asset, error) {
	var out store.Asset
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		if e.Name != nil {
			if err := execOne(ctx, tx, `UPDATE assets SET name = $3 WHERE org_id = $1 AND id = $2`, orgID, id, *e.Name); err != nil {
				return err
			}
		}
		if e.Category != nil {
			pinned := 0
			if *e.Category != "" {
				pinned = 1
			}
			if err := execOne(ctx, tx,
				`UPDATE assets SET category = CASE WHEN $3 = '' THEN category ELSE $3 END, category_pinned = $4 WHERE org_id = $1 AND id = $2`,
				orgID, id, *e.Category, pinned); err != nil {
				return err
			}
		}
		for col, v := range map[string]*string{"location": e.Location, "notes": e.Notes} {
			if v == nil {
				continue
			}
			// col is one of the two names above, never input.
			if err := execOne(ctx, tx, `UPDATE assets SET `+col+` = $3 WHERE org_id = $1 AND id = $2`, orgID, id, *v); err != nil {
				return err
			}
		}
		var err error
		out, err = orgAsset(ctx, tx, orgID, id)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("editing asset %s: %w", id, err)
	}
	return out, nil
}

// MoveAsset implements store.AssetEdits.
func (d *DB) MoveAsset(ctx context.Context, orgID, id, ouID string) (store.Asset, error) {
	var out store.Asset
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		// The home OU is written out on the first move: until then ''
		// stands for the OU the asset is in.
		if err := execOne(ctx, tx,
			`UPDATE assets SET home_ou_id = CASE WHEN home_ou_id = '' THEN ou_id ELSE home_ou_id END, ou_id = $3
			 WHERE org_id = $1 AND id = $2 AND EXISTS (SELECT 1 FROM ous WHERE id = $3 AND org_id = $1)`,
			orgID, id, ouID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE findings SET ou_id = $3 WHERE org_id = $1 AND asset_id = $2`, orgID, id, ouID); err != nil {
			return fmt.Errorf("moving its findings: %w", err)
		}
		var err error
		out, err = orgAsset(ctx, tx, orgID, id)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("moving asset %s to OU %s: %w", id, ouID, err)
	}
	return out, nil
}

// DeleteAsset implements store.AssetEdits. The tables that name the asset
// without ON DELETE CASCADE (maintenance windows of the asset alone among
// them) are cleared first; the others (sources,
// identities, inventory history, system key, grants, channel
// assignments, device group members) follow the asset row.
func (d *DB) DeleteAsset(ctx context.Context, orgID, id string) error {
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := orgAsset(ctx, tx, orgID, id); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM inventory_latest WHERE asset_id = $1`,
			`DELETE FROM findings WHERE asset_id = $1`,
			`DELETE FROM maintenance_windows WHERE asset_id = $1`, // a window of the asset alone
			`DELETE FROM assets WHERE id = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("deleting asset %s: %w", id, err)
	}
	return nil
}

// AssetOrigin implements store.AssetEdits.
func (d *DB) AssetOrigin(ctx context.Context, id string) (store.AssetOrigin, error) {
	var o store.AssetOrigin
	err := d.db.QueryRowContext(ctx, `SELECT created_by_agent FROM assets WHERE id = $1`, id).Scan(&o.CreatedByAgent)
	if err != nil {
		return o, notFound(err, "asset "+id)
	}
	o.Sources, err = queryAll(ctx, d.db, "reading the agent-side ids of asset "+id, func(r rowScanner) (store.AssetSource, error) {
		var s store.AssetSource
		var at int64
		err := r.Scan(&s.SourceKey, &at)
		s.UpdatedAt = fromMS(at)
		return s, err
	}, `SELECT source_key, updated_at FROM asset_sources WHERE asset_id = $1 ORDER BY updated_at DESC, source_key`, id)
	return o, err
}

// orgAsset reads the asset id of orgID in tx; ErrNotFound for another
// organization's.
func orgAsset(ctx context.Context, tx *sql.Tx, orgID, id string) (store.Asset, error) {
	a, err := scanAsset(tx.QueryRowContext(ctx, `SELECT `+assetCols+` FROM assets WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return a, notFound(err, "asset "+id)
	}
	return a, nil
}

// execOne runs a change that must touch one row; none is ErrNotFound.
func execOne(ctx context.Context, tx *sql.Tx, q string, args ...any) error {
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("no such asset or OU in the organization: %w", store.ErrNotFound)
	}
	return nil
}
