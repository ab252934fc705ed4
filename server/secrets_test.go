package server

import (
	"bytes"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/seal"
	"github.com/kpilot/kpilot/server/store"
)

func sqliteConfig(t *testing.T) *Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.InfluxDB.URL = "http://127.0.0.1:9" // never dialled
	require.NoError(t, cfg.Validate())
	return &cfg
}

// TestSecretsKeyFile: the store opens with the key file at
// <data_dir>/secrets.key, created 0600 on first start; a file others may
// read, or a missing file once secrets were sealed with it, stops the
// start with an error naming the file.
func TestSecretsKeyFile(t *testing.T) {
	ctx := t.Context()
	cfg := sqliteConfig(t)
	path := filepath.Join(cfg.DataDir, "secrets.key")
	require.Equal(t, path, cfg.SecretsKeyFile)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	st, err := OpenStore(ctx, cfg, log)
	require.NoError(t, err)
	require.Contains(t, logs.String(), "created the secrets key file")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())
	o := store.Organization{Name: "Acme", Kind: store.Customer}
	require.NoError(t, st.CreateOrganization(ctx, &o))
	key, err := st.OUKey(ctx, o.RootOU)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	db, err := os.ReadFile(cfg.Database.Path)
	require.NoError(t, err)
	require.NotContains(t, string(db), key)

	require.NoError(t, os.Chmod(path, 0o644))
	_, err = OpenStore(ctx, cfg, log)
	require.ErrorContains(t, err, "secrets key file "+path+" may be read or written by other users")
	require.NoError(t, os.Chmod(path, 0o600))

	saved, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.Remove(path))
	_, err = OpenStore(ctx, cfg, log)
	require.ErrorIs(t, err, seal.ErrUnknownKey)
	require.ErrorContains(t, err, "secrets key file "+path+" does not hold")
	require.ErrorContains(t, err, "restore the key file")
	_, err = os.Stat(path)
	require.ErrorIs(t, err, fs.ErrNotExist, "the key file made for the failed start is removed again")

	require.NoError(t, os.WriteFile(path, saved, 0o600))
	st, err = OpenStore(ctx, cfg, log)
	require.NoError(t, err, "the restored file opens the store")
	defer st.Close()
	got, err := st.OUByKey(ctx, key)
	require.NoError(t, err)
	require.Equal(t, o.RootOU, got.ID)
}
