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

// keyTable describes one of the two key tables. A key is stored sealed
// (secret, which admins read back) beside its SHA-256 (key_hash), the
// index a key a partner enters is found by. The hash needs no key of its
// own: keys are 256-bit random values, so their hash cannot be reversed
// or guessed, and it stays the same across a rotation of the secrets key.
type keyTable struct {
	table, col, prefix, what string
	sealed                   sealedColumn
}

var (
	ouKeys     = keyTable{"ou_keys", "ou_id", auth.PrefixOUKey, "OU", ouKeySecrets}
	systemKeys = keyTable{"system_keys", "asset_id", auth.PrefixSystemKey, "asset", systemKeySecrets}
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
			var stored string
			err := tx.QueryRowContext(ctx, `SELECT secret FROM `+k.table+` WHERE `+k.col+` = $1`, owner).Scan(&stored)
			if err == nil {
				out, err = d.unsealSecret(k.sealed, owner, stored)
				return err
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("reading %s key: %w", k.what, err)
			}
		}
		secret, hash := auth.NewToken(k.prefix)
		stored, err := d.sealSecret(k.sealed, owner, secret)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO `+k.table+` (`+k.col+`, secret, key_hash, created_at) VALUES ($1, $2, $3, $4)
			 ON CONFLICT (`+k.col+`) DO UPDATE SET secret = excluded.secret, key_hash = excluded.key_hash, created_at = excluded.created_at`,
			owner, stored, hash, ms(time.Now()))
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
	var owner, stored string
	err := d.db.QueryRowContext(ctx, `SELECT `+k.col+`, secret FROM `+k.table+` WHERE key_hash = $1`, auth.Hash(key)).Scan(&owner, &stored)
	if err != nil {
		return "", notFound(err, k.what+" key")
	}
	secret, err := d.unsealSecret(k.sealed, owner, stored)
	if err != nil {
		return "", err
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
