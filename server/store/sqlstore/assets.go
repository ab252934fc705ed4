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

const assetCols = `id, org_id, ou_id, source_key, name, category, manufacturer, product, asset_type, version, serial, created_by_org, created_at`

func scanAsset(row interface{ Scan(...any) error }) (store.Asset, error) {
	var a store.Asset
	var created int64
	err := row.Scan(&a.ID, &a.OrgID, &a.OUID, &a.SourceKey, &a.Name, &a.Category,
		&a.Manufacturer, &a.Product, &a.Type, &a.Version, &a.Serial, &a.CreatedByOrg, &created)
	a.CreatedAt = fromMS(created)
	return a, err
}

// EnsureAsset implements store.Store.
func (d *DB) EnsureAsset(ctx context.Context, ag store.Agent, sourceKey string) (store.Asset, error) {
	for range 2 { // a second round covers losing a race to create the same asset
		a, err := scanAsset(d.db.QueryRowContext(ctx,
			`SELECT `+assetCols+` FROM assets WHERE org_id = $1 AND source_key = $2`, ag.OrgID, sourceKey))
		switch {
		case err == nil:
			ok, err := d.ouWithin(ctx, a.OUID, ag.OUID)
			if err != nil {
				return a, err
			}
			if !ok {
				return store.Asset{}, fmt.Errorf("asset %q: %w", sourceKey, store.ErrOutsideOU)
			}
			return a, nil
		case !errors.Is(err, sql.ErrNoRows):
			return a, fmt.Errorf("looking up asset %q: %w", sourceKey, err)
		}
		a = store.Asset{ID: uuid.NewString(), OrgID: ag.OrgID, OUID: ag.OUID, SourceKey: sourceKey,
			Name: sourceKey, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
		_, err = d.db.ExecContext(ctx,
			`INSERT INTO assets (id, org_id, ou_id, source_key, name, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			a.ID, a.OrgID, a.OUID, a.SourceKey, a.Name, ms(a.CreatedAt))
		if err == nil {
			return a, nil
		}
		if !isUnique(err) {
			return a, fmt.Errorf("creating asset %q: %w", sourceKey, err)
		}
	}
	return store.Asset{}, fmt.Errorf("creating asset %q: lost a race twice", sourceKey)
}

// ouWithin reports whether ou is anc or lies below it.
func (d *DB) ouWithin(ctx context.Context, ou, anc string) (bool, error) {
	var one int
	err := d.db.QueryRowContext(ctx,
		`WITH RECURSIVE up (id, parent_id) AS (
		     SELECT id, parent_id FROM ous WHERE id = $1
		     UNION ALL
		     SELECT o.id, o.parent_id FROM ous o JOIN up ON o.id = up.parent_id
		 ) SELECT 1 FROM up WHERE id = $2`, ou, anc).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("walking OU tree: %w", err)
	}
	return true, nil
}

// Asset implements store.Store.
func (d *DB) Asset(ctx context.Context, id string) (store.Asset, error) {
	a, err := scanAsset(d.db.QueryRowContext(ctx, `SELECT `+assetCols+` FROM assets WHERE id = $1`, id))
	if err != nil {
		return a, notFound(err, "asset "+id)
	}
	return a, nil
}

// Assets implements store.Store.
func (d *DB) Assets(ctx context.Context, orgID string) ([]store.Asset, error) {
	return d.queryAssets(ctx, `SELECT `+assetCols+` FROM assets WHERE org_id = $1 ORDER BY name, id`, orgID)
}

func (d *DB) queryAssets(ctx context.Context, query string, args ...any) ([]store.Asset, error) {
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing assets: %w", err)
	}
	defer rows.Close()
	var out []store.Asset
	for rows.Next() {
		a, err := scanAsset(rows)
		if err != nil {
			return nil, fmt.Errorf("listing assets: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// PutInventory implements store.Store.
func (d *DB) PutInventory(ctx context.Context, assetID string, collectedAt time.Time, doc []byte) error {
	_, err := d.db.ExecContext(ctx,
		`INSERT INTO inventory_latest (asset_id, collected_at, document) VALUES ($1, $2, $3)
		 ON CONFLICT (asset_id) DO UPDATE SET collected_at = excluded.collected_at, document = excluded.document
		 WHERE excluded.collected_at > inventory_latest.collected_at`,
		assetID, ms(collectedAt), string(doc))
	if err != nil {
		return fmt.Errorf("storing inventory of asset %s: %w", assetID, err)
	}
	return nil
}

// SetAssetFacts implements store.Store.
func (d *DB) SetAssetFacts(ctx context.Context, assetID string, f store.AssetFacts) error {
	_, err := d.db.ExecContext(ctx,
		`UPDATE assets SET
		     category = CASE WHEN $2 = '' THEN category ELSE $2 END,
		     manufacturer = CASE WHEN $3 = '' THEN manufacturer ELSE $3 END,
		     product = CASE WHEN $4 = '' THEN product ELSE $4 END,
		     serial = CASE WHEN $5 = '' THEN serial ELSE $5 END
		 WHERE id = $1`,
		assetID, f.Category, f.Manufacturer, f.Product, f.Serial)
	if err != nil {
		return fmt.Errorf("updating asset %s: %w", assetID, err)
	}
	return nil
}

// Inventory implements store.Store.
func (d *DB) Inventory(ctx context.Context, assetID string) (time.Time, []byte, error) {
	var at int64
	var doc string
	err := d.db.QueryRowContext(ctx,
		`SELECT collected_at, document FROM inventory_latest WHERE asset_id = $1`, assetID).Scan(&at, &doc)
	if err != nil {
		return time.Time{}, nil, notFound(err, "inventory of asset "+assetID)
	}
	return fromMS(at), []byte(doc), nil
}
