package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/kpilot/kpilot/server/seal"
)

// Option configures a DB as it is opened.
type Option func(*DB)

// WithKeyring seals OU keys, system keys and webhook secrets with kr (the
// server's secrets key file). Opening then seals the values still stored
// in plaintext, once, and refuses a database holding values sealed with a
// key kr lacks. Without it values are stored as given and a sealed one
// cannot be read: for tests and tools that read no secret.
func WithKeyring(kr *seal.Keyring) Option {
	return func(d *DB) { d.keyring = kr }
}

// sealedColumn is a table whose column "secret" is sealed, with the
// column naming its row; table and row are the sealed value's additional
// data, so a value copied into another row does not open.
type sealedColumn struct{ table, idCol string }

var (
	ouKeySecrets     = sealedColumn{"ou_keys", "ou_id"}
	systemKeySecrets = sealedColumn{"system_keys", "asset_id"}
	webhookSecrets   = sealedColumn{"webhooks", "id"}
	sealedColumns    = []sealedColumn{ouKeySecrets, systemKeySecrets, webhookSecrets}
)

func (c sealedColumn) aad(id string) string { return c.table + "/" + id }

// sealSecret returns the stored form of a secret of row id.
func (d *DB) sealSecret(c sealedColumn, id, plaintext string) (string, error) {
	if d.keyring == nil {
		return plaintext, nil
	}
	v, err := d.keyring.Seal(c.aad(id), plaintext)
	if err != nil {
		return "", fmt.Errorf("sealing secret of %s %s: %w", c.table, id, err)
	}
	return v, nil
}

// unsealSecret reads a stored secret of row id. A plaintext value is
// returned as it is: written before sealing existed, it is sealed at the
// next start.
func (d *DB) unsealSecret(c sealedColumn, id, stored string) (string, error) {
	if !seal.IsSealed(stored) {
		return stored, nil
	}
	if d.keyring == nil {
		return "", fmt.Errorf("secret of %s %s is sealed, and the store was opened without the secrets key file", c.table, id)
	}
	v, err := d.keyring.Unseal(c.aad(id), stored)
	if err != nil {
		return "", fmt.Errorf("secret of %s %s: %w", c.table, id, err)
	}
	return v, nil
}

// SecretKeys counts the stored secrets (OU keys, system keys, webhook
// secrets) by the id of the key that sealed them; "" counts those in
// plaintext.
func (d *DB) SecretKeys(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	for _, c := range sealedColumns {
		rows, err := d.db.QueryContext(ctx, `SELECT CASE WHEN secret LIKE '`+seal.Prefix+`%' THEN substr(secret, $1, $2) ELSE '' END, COUNT(*)
			FROM `+c.table+` GROUP BY 1`, len(seal.Prefix)+1, seal.KeyIDLen)
		if err != nil {
			return nil, fmt.Errorf("counting secrets of %s: %w", c.table, err)
		}
		for rows.Next() {
			var id string
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("counting secrets of %s: %w", c.table, err)
			}
			out[id] += n
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("counting secrets of %s: %w", c.table, err)
		}
	}
	return out, nil
}

// ResealSecrets seals with the current key every stored secret not yet
// sealed with it (in plaintext, or under an older key) and returns how
// many it changed. Each row changes only if no one changed it meanwhile,
// so replicas may run it at once and running it again is harmless.
func (d *DB) ResealSecrets(ctx context.Context) (int, error) {
	return d.reseal(ctx, true)
}

// reseal seals the plaintext secrets, and with all also those sealed with
// another key than the current one.
func (d *DB) reseal(ctx context.Context, all bool) (int, error) {
	if d.keyring == nil {
		return 0, fmt.Errorf("re-sealing secrets: the store was opened without the secrets key file")
	}
	total := 0
	for _, c := range sealedColumns {
		q, args := `SELECT `+c.idCol+`, secret FROM `+c.table+` WHERE secret NOT LIKE $1`, []any{seal.Prefix + "%"}
		if all {
			args[0] = seal.Prefix + d.keyring.Current() + ":%"
		}
		type row struct{ id, secret string }
		rows, err := queryAll(ctx, d.db, "secrets of "+c.table, func(r rowScanner) (row, error) {
			var v row
			return v, r.Scan(&v.id, &v.secret)
		}, q, args...)
		if err != nil {
			return total, err
		}
		// Chunks keep each transaction short, on SQLite the writer lock
		// above all.
		for chunk := range slices.Chunk(rows, 500) {
			err := d.inTx(ctx, func(tx *sql.Tx) error {
				for _, r := range chunk {
					plain, err := d.unsealSecret(c, r.id, r.secret)
					if err != nil {
						return err
					}
					v, err := d.sealSecret(c, r.id, plain)
					if err != nil {
						return err
					}
					res, err := tx.ExecContext(ctx, `UPDATE `+c.table+` SET secret = $1 WHERE `+c.idCol+` = $2 AND secret = $3`, v, r.id, r.secret)
					if err != nil {
						return fmt.Errorf("re-sealing secret of %s %s: %w", c.table, r.id, err)
					}
					if n, _ := res.RowsAffected(); n == 1 {
						total++
					}
				}
				return nil
			})
			if err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// prepareSecrets checks, as the store opens, that the keyring opens every
// sealed secret, and seals those still in plaintext.
func (d *DB) prepareSecrets(ctx context.Context, log *slog.Logger) error {
	if d.keyring == nil {
		return nil
	}
	counts, err := d.SecretKeys(ctx)
	if err != nil {
		return err
	}
	var unknown []string
	for id, n := range counts {
		if id != "" && !d.keyring.Has(id) {
			unknown = append(unknown, fmt.Sprintf("%s (%d values)", id, n))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("the database holds secrets sealed with key %s, which secrets key file %s does not hold: "+
			"restore the key file that belongs to this database (every server replica needs the same file): %w",
			strings.Join(unknown, ", "), d.keyring.Path(), seal.ErrUnknownKey)
	}
	if counts[""] == 0 {
		return nil
	}
	n, err := d.reseal(ctx, false)
	if err != nil {
		return err
	}
	log.Info("sealed the secrets stored in plaintext", "count", n, "key", d.keyring.Current())
	return d.afterReseal(ctx)
}

// afterReseal, on SQLite, empties the write-ahead log, whose older frames
// may still hold the plaintext pages.
func (d *DB) afterReseal(ctx context.Context) error {
	if !d.sqlite { // PostgreSQL: old row versions go with VACUUM (docs/install.md#secrets-at-rest)
		return nil
	}
	if _, err := d.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("checkpointing the SQLite log after sealing secrets: %w", err)
	}
	return nil
}
