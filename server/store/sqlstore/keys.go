package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/store"
)

// keyTable describes one of the two key tables.
type keyTable struct {
	table, col, prefix, what string
}

var (
	ouKeys     = keyTable{"ou_keys", "ou_id", auth.PrefixOUKey, "OU"}
	systemKeys = keyTable{"system_keys", "asset_id", auth.PrefixSystemKey, "asset"}
)

// key returns the key of owner, making one on first use.
func (d *DB) key(ctx context.Context, k keyTable, owner string, rotate bool) (string, error) {
	var out string
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		var exists int
		ownerTable := map[string]string{"OU": "ous", "asset": "assets"}[k.what]
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+ownerTable+` WHERE id = $1`, owner).Scan(&exists); err != nil {
			return fmt.Errorf("reading %s key: %w", k.what, err)
		}
		if exists == 0 {
			return fmt.Errorf("%s %s: %w", k.what, owner, store.ErrNotFound)
		}
		if !rotate {
			err := tx.QueryRowContext(ctx, `SELECT secret FROM `+k.table+` WHERE `+k.col+` = $1`, owner).Scan(&out)
			if err == nil {
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("reading %s key: %w", k.what, err)
			}
		}
		secret, hash := auth.NewToken(k.prefix)
		_, err := tx.ExecContext(ctx,
			`INSERT INTO `+k.table+` (`+k.col+`, secret, key_hash, created_at) VALUES ($1, $2, $3, $4)
			 ON CONFLICT (`+k.col+`) DO UPDATE SET secret = excluded.secret, key_hash = excluded.key_hash, created_at = excluded.created_at`,
			owner, secret, hash, ms(time.Now()))
		if err != nil {
			return fmt.Errorf("storing %s key: %w", k.what, err)
		}
		out = secret
		return nil
	})
	return out, err
}

// ownerByKey finds the owner of key: looked up by hash, then compared in
// constant time against the stored secret.
func (d *DB) ownerByKey(ctx context.Context, k keyTable, key string) (string, error) {
	var owner, secret string
	err := d.db.QueryRowContext(ctx, `SELECT `+k.col+`, secret FROM `+k.table+` WHERE key_hash = $1`, auth.Hash(key)).Scan(&owner, &secret)
	if err != nil {
		return "", notFound(err, k.what+" key")
	}
	if !auth.Equal(secret, key) {
		return "", fmt.Errorf("%s key: %w", k.what, store.ErrNotFound)
	}
	return owner, nil
}

// OUKey implements store.Keys.
func (d *DB) OUKey(ctx context.Context, ouID string) (string, error) {
	return d.key(ctx, ouKeys, ouID, false)
}

// RotateOUKey implements store.Keys.
func (d *DB) RotateOUKey(ctx context.Context, ouID string) (string, error) {
	return d.key(ctx, ouKeys, ouID, true)
}

// OUByKey implements store.Keys.
func (d *DB) OUByKey(ctx context.Context, key string) (store.OU, error) {
	id, err := d.ownerByKey(ctx, ouKeys, key)
	if err != nil {
		return store.OU{}, err
	}
	var u store.OU
	err = d.db.QueryRowContext(ctx, `SELECT id, org_id, COALESCE(parent_id, ''), name FROM ous WHERE id = $1`, id).
		Scan(&u.ID, &u.OrgID, &u.ParentID, &u.Name)
	if err != nil {
		return u, notFound(err, "OU "+id)
	}
	return u, nil
}

// SystemKey implements store.Keys.
func (d *DB) SystemKey(ctx context.Context, assetID string) (string, error) {
	return d.key(ctx, systemKeys, assetID, false)
}

// RotateSystemKey implements store.Keys.
func (d *DB) RotateSystemKey(ctx context.Context, assetID string) (string, error) {
	return d.key(ctx, systemKeys, assetID, true)
}

// AssetBySystemKey implements store.Keys.
func (d *DB) AssetBySystemKey(ctx context.Context, key string) (store.Asset, error) {
	id, err := d.ownerByKey(ctx, systemKeys, key)
	if err != nil {
		return store.Asset{}, err
	}
	return d.Asset(ctx, id)
}
