package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kpilot/kpilot/server/store"
)

const assetCols = `id, org_id, ou_id, source_key, name, category, manufacturer, product, asset_type, version, serial, created_by_org, created_at, last_poll_at, last_poll_up, series_id, home_ou_id, category_pinned, location, notes`

func scanAsset(row rowScanner) (store.Asset, error) {
	var a store.Asset
	var created, polled int64
	var up, pinned int
	err := row.Scan(&a.ID, &a.OrgID, &a.OUID, &a.SourceKey, &a.Name, &a.Category,
		&a.Manufacturer, &a.Product, &a.Type, &a.Version, &a.Serial, &a.CreatedByOrg, &created, &polled, &up, &a.SeriesID,
		&a.HomeOUID, &pinned, &a.Location, &a.Notes)
	a.CreatedAt, a.LastPollAt, a.LastPollUp, a.CategoryPinned = fromMS(created), fromMS(polled), up != 0, pinned != 0
	if a.HomeOUID == "" { // never moved (migration 00017)
		a.HomeOUID = a.OUID
	}
	return a, err
}

// nextSeriesID numbers a new asset of the organization. The organization's
// row is held until the transaction ends, so concurrent creations get
// different numbers.
func nextSeriesID(ctx context.Context, tx *sql.Tx, orgID string) (string, error) {
	var orgNo, assetNo int64
	err := tx.QueryRowContext(ctx,
		`UPDATE organizations SET assets_numbered = assets_numbered + 1 WHERE id = $1 RETURNING series_no, assets_numbered`,
		orgID).Scan(&orgNo, &assetNo)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("organization %s: %w", orgID, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("numbering it: %w", err)
	}
	return store.SeriesID(orgNo, assetNo), nil
}

// SetAssetPolls implements store.Assets. A batch brings a poll of each
// asset its agent polled, often hundreds: they are written in one
// transaction, one commit rather than one per asset.
func (d *DB) SetAssetPolls(ctx context.Context, polls []store.AssetPoll) error {
	if len(polls) == 0 {
		return nil
	}
	return d.inTx(ctx, func(tx *sql.Tx) error {
		st, err := d.db.PrepareTx(ctx, tx,
			`UPDATE assets SET last_poll_at = $1, last_poll_up = $2 WHERE id = $3 AND last_poll_at <= $1`)
		if err != nil {
			return fmt.Errorf("recording the last polls of assets: %w", err)
		}
		for _, p := range polls {
			up := 0
			if p.Up {
				up = 1
			}
			if _, err := st.ExecContext(ctx, ms(p.At), up, p.AssetID); err != nil {
				return fmt.Errorf("recording the last poll of asset %s: %w", p.AssetID, err)
			}
		}
		return nil
	})
}

// EnsureAsset implements store.Assets. The common call, a sample of a known
// target, is one read; a write transaction runs only to create an asset or
// to record identities.
func (d *DB) EnsureAsset(ctx context.Context, ag store.Agent, sourceKey string, identities []string, newPerHour int) (store.Asset, error) {
	if len(identities) == 0 {
		a, err := d.sourceAsset(ctx, d.db, ag.OrgID, sourceKey)
		switch {
		case err == nil:
			return a, checkOwnOU(a, ag, sourceKey)
		case !errors.Is(err, sql.ErrNoRows):
			return a, fmt.Errorf("looking up asset %q: %w", sourceKey, err)
		}
	}
	for range 3 { // further rounds cover losing a race to create the same asset
		var a store.Asset
		err := d.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			a, err = d.ensureAsset(ctx, tx, ag, sourceKey, identities, newPerHour)
			return err
		})
		if !isUnique(err) {
			return a, err
		}
	}
	return store.Asset{}, fmt.Errorf("creating asset %q: lost a race three times", sourceKey)
}

func (d *DB) ensureAsset(ctx context.Context, tx *sql.Tx, ag store.Agent, sourceKey string, identities []string, newPerHour int) (store.Asset, error) {
	now := time.Now()
	mapped, err := d.sourceAsset(ctx, tx, ag.OrgID, sourceKey)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return mapped, fmt.Errorf("looking up asset %q: %w", sourceKey, err)
	}
	known := err == nil
	target, found, err := identified(ctx, tx, ag.OrgID, identities)
	if err != nil {
		return target, err
	}
	switch {
	case found:
		if err := checkOwnOU(target, ag, sourceKey); err != nil {
			return store.Asset{}, err
		}
		if known {
			// Nor may an identity take another OU's key away from it.
			if err := checkOwnOU(mapped, ag, sourceKey); err != nil {
				return store.Asset{}, err
			}
		}
		if !known || mapped.ID != target.ID {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO asset_sources (org_id, source_key, asset_id, updated_at) VALUES ($1, $2, $3, $4)
				 ON CONFLICT (org_id, source_key) DO UPDATE SET asset_id = excluded.asset_id, updated_at = excluded.updated_at`,
				ag.OrgID, sourceKey, target.ID, ms(now)); err != nil {
				return target, fmt.Errorf("pointing %q at asset %s: %w", sourceKey, target.ID, err)
			}
		}
	case known:
		if err := checkOwnOU(mapped, ag, sourceKey); err != nil {
			return store.Asset{}, err
		}
		target = mapped
	default:
		target = store.Asset{ID: uuid.NewString(), OrgID: ag.OrgID, OUID: ag.OUID, HomeOUID: ag.OUID, SourceKey: sourceKey,
			Name: sourceKey, CreatedAt: fromMS(ms(now))}
		var err error
		// Numbering holds the organization's row until the transaction
		// ends, so the count below cannot race another replica's creation.
		if target.SeriesID, err = nextSeriesID(ctx, tx, target.OrgID); err != nil {
			return target, fmt.Errorf("creating asset %q: %w", sourceKey, err)
		}
		if err := checkNewAssetCap(ctx, tx, ag, sourceKey, newPerHour, now); err != nil {
			return store.Asset{}, err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO assets (id, org_id, ou_id, source_key, name, created_at, series_id, created_by_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			target.ID, target.OrgID, target.OUID, target.SourceKey, target.Name, ms(now), target.SeriesID, ag.ID); err != nil {
			return target, fmt.Errorf("creating asset %q: %w", sourceKey, err)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO asset_sources (org_id, source_key, asset_id, updated_at) VALUES ($1, $2, $3, $4)`,
			ag.OrgID, sourceKey, target.ID, ms(now)); err != nil {
			return target, fmt.Errorf("creating asset %q: %w", sourceKey, err)
		}
	}
	return target, addIdentities(ctx, tx, target, identities, false)
}

// checkNewAssetCap returns a store.ErrNewAssetCap error when agent ag
// created newPerHour assets or more in the hour before now (no cap when
// newPerHour is 0 or less).
func checkNewAssetCap(ctx context.Context, q querier, ag store.Agent, sourceKey string, newPerHour int, now time.Time) error {
	if newPerHour <= 0 {
		return nil
	}
	var n int
	if err := q.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM assets WHERE created_by_agent = $1 AND created_at > $2`,
		ag.ID, ms(now.Add(-time.Hour))).Scan(&n); err != nil {
		return fmt.Errorf("counting the assets agent %s created: %w", ag.ID, err)
	}
	if n >= newPerHour {
		return fmt.Errorf("asset %q not created: agent %q created %d assets in the last hour: %w", sourceKey, ag.Name, n, store.ErrNewAssetCap)
	}
	return nil
}

// sourceAssetQuery selects the asset an agent-side id points at.
var sourceAssetQuery = `SELECT ` + prefixed("a.", assetCols) + `
		FROM asset_sources s JOIN assets a ON a.id = s.asset_id
		WHERE s.org_id = $1 AND s.source_key = $2`

// sourceAsset returns the asset an agent-side id points at. Outside a
// transaction (q is d.db) the query is prepared once: ingest runs it for
// every asset of an agent's batches each time its asset cache expires,
// and compiling the join cost more than running it.
func (d *DB) sourceAsset(ctx context.Context, q querier, orgID, sourceKey string) (store.Asset, error) {
	if q == querier(d.db) {
		return scanAsset(d.db.QueryRowPrepared(ctx, sourceAssetQuery, orgID, sourceKey))
	}
	return scanAsset(q.QueryRowContext(ctx, sourceAssetQuery, orgID, sourceKey))
}

// knownAssetsChunk bounds the keys of one KnownAssets query (SQLite
// takes up to 32,766 parameters, PostgreSQL 65,535).
const knownAssetsChunk = 500

// KnownAssets implements store.Assets: one query per knownAssetsChunk
// keys, where EnsureAsset reads one key at a time (ingest looks up a
// batch's assets together whenever its cache of them expires).
func (d *DB) KnownAssets(ctx context.Context, ag store.Agent, sourceKeys []string) (map[string]store.Asset, error) {
	found := make(map[string]store.Asset, len(sourceKeys))
	for chunk := range slices.Chunk(sourceKeys, knownAssetsChunk) {
		rows, err := d.db.QueryContext(ctx, `SELECT s.source_key, `+prefixed("a.", assetCols)+`
			FROM asset_sources s JOIN assets a ON a.id = s.asset_id
			WHERE s.org_id = $1 AND s.source_key IN (`+placeholders(2, len(chunk))+`)`,
			append([]any{ag.OrgID}, anys(chunk)...)...)
		if err != nil {
			return nil, fmt.Errorf("looking up %d assets: %w", len(chunk), err)
		}
		for rows.Next() {
			var key string
			a, err := scanAsset(prependScan{rows, &key})
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("looking up %d assets: %w", len(chunk), err)
			}
			if checkOwnOU(a, ag, key) == nil {
				found[key] = a
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("looking up %d assets: %w", len(chunk), err)
		}
	}
	return found, nil
}

// prependScan scans a first column into first, the rest as the row's
// scanner would.
type prependScan struct {
	row   rowScanner
	first any
}

func (p prependScan) Scan(dest ...any) error {
	return p.row.Scan(append([]any{p.first}, dest...)...)
}

// identified returns the asset of the organization that has the first of
// identities any asset has.
func identified(ctx context.Context, q querier, orgID string, identities []string) (store.Asset, bool, error) {
	if len(identities) == 0 {
		return store.Asset{}, false, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT identity, asset_id FROM asset_identities
		WHERE org_id = $1 AND identity IN (`+placeholders(2, len(identities))+`)`, append([]any{orgID}, anys(identities)...)...)
	if err != nil {
		return store.Asset{}, false, fmt.Errorf("looking up asset identities: %w", err)
	}
	owner := map[string]string{}
	for rows.Next() {
		var id, asset string
		if err := rows.Scan(&id, &asset); err != nil {
			rows.Close()
			return store.Asset{}, false, fmt.Errorf("looking up asset identities: %w", err)
		}
		owner[id] = asset
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.Asset{}, false, fmt.Errorf("looking up asset identities: %w", err)
	}
	for _, id := range identities {
		if asset, ok := owner[id]; ok {
			a, err := scanAsset(q.QueryRowContext(ctx, `SELECT `+assetCols+` FROM assets WHERE id = $1`, asset))
			if err != nil {
				return a, false, fmt.Errorf("reading asset %s: %w", asset, err)
			}
			return a, true, nil
		}
	}
	return store.Asset{}, false, nil
}

// addIdentities records identities of an asset. An identity another asset
// already has stays with it, unless strict, which makes it a conflict.
func addIdentities(ctx context.Context, tx *sql.Tx, a store.Asset, identities []string, strict bool) error {
	q := `INSERT INTO asset_identities (org_id, identity, asset_id) VALUES ($1, $2, $3)`
	if !strict {
		q += ` ON CONFLICT (org_id, identity) DO NOTHING`
	}
	for _, id := range identities {
		if _, err := tx.ExecContext(ctx, q, a.OrgID, id, a.ID); err != nil {
			if strict && isUnique(err) {
				return fmt.Errorf("asset %q: another asset of the organization has %s: %w", a.Name, id, store.ErrConflict)
			}
			return fmt.Errorf("recording identity of asset %s: %w", a.ID, err)
		}
	}
	return nil
}

// checkOwnOU returns ErrOutsideOU unless asset a's home OU is the agent's
// own OU. Not below it either: an asset key or identity of a sub-OU's
// asset must not let a parent OU's agent write into it, where the sub-OU's
// users would read it (nor the other way round). The home OU, not the OU
// the asset is in: an admin's move (MoveAsset) leaves the agent that
// reports the asset writing it.
func checkOwnOU(a store.Asset, ag store.Agent, sourceKey string) error {
	if a.HomeOUID != ag.OUID {
		return fmt.Errorf("asset %q: %w", sourceKey, store.ErrOutsideOU)
	}
	return nil
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

// Asset implements store.Assets.
func (d *DB) Asset(ctx context.Context, id string) (store.Asset, error) {
	a, err := scanAsset(d.db.QueryRowContext(ctx, `SELECT `+assetCols+` FROM assets WHERE id = $1`, id))
	if err != nil {
		return a, notFound(err, "asset "+id)
	}
	return a, nil
}

// Assets implements store.Assets.
func (d *DB) Assets(ctx context.Context, orgID string) ([]store.Asset, error) {
	return d.queryAssets(ctx, `SELECT `+assetCols+` FROM assets WHERE org_id = $1 ORDER BY name, id`, orgID)
}

func (d *DB) queryAssets(ctx context.Context, query string, args ...any) ([]store.Asset, error) {
	return queryAll(ctx, d.db, "listing assets", scanAsset, query, args...)
}

// AssetsByIDs implements store.Assets.
func (d *DB) AssetsByIDs(ctx context.Context, ids []string) ([]store.Asset, error) {
	var out []store.Asset
	for _, c := range chunks(ids) {
		as, err := d.queryAssets(ctx, `SELECT `+assetCols+` FROM assets WHERE id IN (`+placeholders(1, len(c))+`) ORDER BY name, id`, anys(c)...)
		if err != nil {
			return nil, err
		}
		out = append(out, as...)
	}
	return out, nil
}

// CreateAsset implements store.Assets.
func (d *DB) CreateAsset(ctx context.Context, a *store.Asset, grant *store.Grant) error {
	a.ID, a.CreatedAt = uuid.NewString(), time.Now().UTC().Truncate(time.Millisecond)
	if a.SourceKey == "" {
		a.SourceKey = "manual:" + a.ID
	}
	return d.inTx(ctx, func(tx *sql.Tx) error {
		if err := insertAsset(ctx, tx, a); err != nil {
			return err
		}
		if grant != nil {
			grant.AssetID, grant.CustomerOrgID = a.ID, a.OrgID
			return insertGrant(ctx, tx, grant)
		}
		return nil
	})
}

func insertAsset(ctx context.Context, tx *sql.Tx, a *store.Asset) error {
	a.HomeOUID = a.OUID
	var err error
	if a.SeriesID, err = nextSeriesID(ctx, tx, a.OrgID); err != nil {
		return fmt.Errorf("creating asset %q: %w", a.Name, err)
	}
	res, err := tx.ExecContext(ctx,
		`INSERT INTO assets (id, org_id, ou_id, source_key, name, category, manufacturer, product, asset_type, version, serial, created_by_org, created_at, series_id)
		 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 WHERE EXISTS (SELECT 1 FROM ous WHERE id = $3 AND org_id = $2)`,
		a.ID, a.OrgID, a.OUID, a.SourceKey, a.Name, a.Category, a.Manufacturer, a.Product, a.Type, a.Version, a.Serial, a.CreatedByOrg, ms(a.CreatedAt), a.SeriesID)
	if isUnique(err) {
		return fmt.Errorf("creating asset %q: %w", a.Name, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("creating asset %q: %w", a.Name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("creating asset %q: OU %s of organization %s: %w", a.Name, a.OUID, a.OrgID, store.ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO asset_sources (org_id, source_key, asset_id, updated_at) VALUES ($1, $2, $3, $4)`,
		a.OrgID, a.SourceKey, a.ID, ms(a.CreatedAt)); err != nil {
		return fmt.Errorf("creating asset %q: %w", a.Name, err)
	}
	return addIdentities(ctx, tx, *a, a.Identities, true)
}

// PutInventory implements store.Assets.
func (d *DB) PutInventory(ctx context.Context, assetID string, collectedAt time.Time, doc, changes []byte) (bool, error) {
	newer := false
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`INSERT INTO inventory_latest (asset_id, collected_at, document) VALUES ($1, $2, $3)
			 ON CONFLICT (asset_id) DO UPDATE SET collected_at = excluded.collected_at, document = excluded.document
			 WHERE excluded.collected_at > inventory_latest.collected_at`,
			assetID, ms(collectedAt), string(doc))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 || changes == nil {
			newer = n > 0
			return err
		}
		newer = true
		_, err = tx.ExecContext(ctx,
			`INSERT INTO inventory_changes (asset_id, collected_at, changes) VALUES ($1, $2, $3)
			 ON CONFLICT (asset_id, collected_at) DO NOTHING`, assetID, ms(collectedAt), string(changes))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("storing inventory of asset %s: %w", assetID, err)
	}
	return newer, nil
}

// InventoryHistory implements store.Assets.
func (d *DB) InventoryHistory(ctx context.Context, assetID string, before time.Time, limit int) ([]store.InventoryChange, error) {
	bound := int64(1<<63 - 1)
	if !before.IsZero() {
		bound = ms(before)
	}
	return queryAll(ctx, d.db, "reading inventory history of asset "+assetID, func(r rowScanner) (store.InventoryChange, error) {
		var at int64
		var ch string
		err := r.Scan(&at, &ch)
		return store.InventoryChange{CollectedAt: fromMS(at), Changes: []byte(ch)}, err
	}, `SELECT collected_at, changes FROM inventory_changes
		WHERE asset_id = $1 AND collected_at < $2 ORDER BY collected_at DESC LIMIT $3`, assetID, bound, limit)
}

// SetAssetFacts implements store.Assets.
func (d *DB) SetAssetFacts(ctx context.Context, assetID string, f store.AssetFacts) error {
	_, err := d.db.ExecContext(ctx,
		`UPDATE assets SET
		     category = CASE WHEN $2 = '' OR category_pinned <> 0 THEN category ELSE $2 END,
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

// Inventory implements store.Assets.
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
