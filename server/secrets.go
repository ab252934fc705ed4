package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/kpilot/kpilot/server/seal"
	"github.com/kpilot/kpilot/server/store/sqlstore"
)

// openSQLStore opens the configured database with opts.
func openSQLStore(ctx context.Context, cfg *Config, log *slog.Logger, opts ...sqlstore.Option) (*sqlstore.DB, error) {
	if cfg.Database.Driver == "postgres" {
		return sqlstore.OpenPostgres(ctx, cfg.Database.DSN.Reveal(), log, opts...)
	}
	return sqlstore.OpenSQLite(ctx, cfg.Database.Path, log, opts...)
}

// openSealedStore opens the database with the secrets key file, creating
// the file when there is none. A file just created for a database whose
// secrets are sealed with another key is removed again: it is of no use,
// and the error says to restore the right one.
func openSealedStore(ctx context.Context, cfg *Config, log *slog.Logger) (*sqlstore.DB, error) {
	kr, created, err := seal.LoadOrCreate(cfg.SecretsKeyFile, log)
	if err != nil {
		return nil, err
	}
	if created {
		log.Info("created the secrets key file; back it up with the database", "path", cfg.SecretsKeyFile, "key", kr.Current())
	}
	st, err := openSQLStore(ctx, cfg, log, sqlstore.WithKeyring(kr))
	if err != nil && created && errors.Is(err, seal.ErrUnknownKey) {
		os.Remove(cfg.SecretsKeyFile)
	}
	return st, err
}

// openWithKeyFile opens the database with the existing secrets key file,
// for the commands that change the file.
func openWithKeyFile(ctx context.Context, cfg *Config, log *slog.Logger) (*seal.Keyring, *sqlstore.DB, error) {
	kr, err := seal.Load(cfg.SecretsKeyFile, log)
	if err != nil {
		return nil, nil, err
	}
	st, err := openSQLStore(ctx, cfg, log, sqlstore.WithKeyring(kr))
	if err != nil {
		return nil, nil, err
	}
	return kr, st, nil
}

// KeyRotation is what RotateSecretsKey and RetireSecretsKeys did.
type KeyRotation struct {
	File     string   // the secrets key file
	Current  string   // id of the key that seals now
	Previous []string // ids of the other keys still in the file
	Retired  []string // ids of the keys removed from the file
	Resealed int      // secrets sealed anew with the current key
}

// RotateSecretsKey puts a fresh key first in the secrets key file and
// re-seals every stored secret with it. The previous keys stay in the file,
// so that a replica that has not yet read the new file (it re-reads the file
// when it changes) and a run cut short both still work; RetireSecretsKeys
// removes them.
func RotateSecretsKey(ctx context.Context, cfg *Config, log *slog.Logger) (KeyRotation, error) {
	kr, st, err := openWithKeyFile(ctx, cfg, log)
	if err != nil {
		return KeyRotation{}, err
	}
	defer st.Close()
	if _, err := kr.Rotate(); err != nil {
		return KeyRotation{}, err
	}
	n, err := st.ResealSecrets(ctx)
	ids := kr.IDs()
	r := KeyRotation{File: kr.Path(), Current: ids[0], Previous: ids[1:], Resealed: n}
	if err != nil {
		return r, fmt.Errorf("re-sealing secrets with key %s (run rotate-secrets-key again to finish; the previous keys stay in %s): %w",
			r.Current, r.File, err)
	}
	return r, nil
}

// RetireSecretsKeys re-seals with the current key any secret still sealed
// with a previous one (written by a replica that had not read the new file
// yet), checks none is left, and then removes the previous keys from the
// secrets key file.
func RetireSecretsKeys(ctx context.Context, cfg *Config, log *slog.Logger) (KeyRotation, error) {
	kr, st, err := openWithKeyFile(ctx, cfg, log)
	if err != nil {
		return KeyRotation{}, err
	}
	defer st.Close()
	r := KeyRotation{File: kr.Path()}
	if r.Resealed, err = st.ResealSecrets(ctx); err != nil {
		return r, err
	}
	counts, err := st.SecretKeys(ctx)
	if err != nil {
		return r, err
	}
	r.Current = kr.Current()
	for id, n := range counts {
		if id != r.Current && n > 0 {
			return r, fmt.Errorf("%d secrets are still sealed with key %q, not the current %s: keys kept in %s", n, id, r.Current, r.File)
		}
	}
	r.Retired, err = kr.Retire()
	return r, err
}
