package sqlstore_test

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "kpilot.db"), slog.New(slog.NewTextHandler(io.Discard, nil)),
			sqlstore.WithKeyring(newKeyring(t)))
		require.NoError(t, err)
		return db
	})
}

func TestSQLiteReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kpilot.db")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := sqlstore.OpenSQLite(t.Context(), path, log)
	require.NoError(t, err)
	o := store.Organization{Name: "Acme", Kind: store.Customer}
	require.NoError(t, db.CreateOrganization(t.Context(), &o))
	require.NoError(t, db.Close())

	db, err = sqlstore.OpenSQLite(t.Context(), path, log)
	require.NoError(t, err, "migrations must be idempotent on reopen")
	defer db.Close()
	got, err := db.Organization(t.Context(), o.ID)
	require.NoError(t, err)
	require.Equal(t, "Acme", got.Name)
}

// TestSQLiteFilesArePrivate: the database and its WAL files hold keys and
// password hashes; whatever the umask, only their owner may read them.
func TestSQLiteFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kpilot.db")
	old := syscall.Umask(0o022) // the usual default: files 0644
	defer syscall.Umask(old)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	db, err := sqlstore.OpenSQLite(t.Context(), path, log)
	require.NoError(t, err)
	o := store.Organization{Name: "Acme", Kind: store.Customer}
	require.NoError(t, db.CreateOrganization(t.Context(), &o)) // writes the WAL
	files, err := filepath.Glob(path + "*")
	require.NoError(t, err)
	require.Contains(t, files, path+"-wal")
	for _, f := range files {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "%s: got mode %v, want 0600", f, fi.Mode().Perm())
	}
	require.NoError(t, db.Close())

	// A file the operator made readable to others stays so, with a warning.
	require.NoError(t, os.Chmod(path, 0o644))
	db, err = sqlstore.OpenSQLite(t.Context(), path, log)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	require.Contains(t, logs.String(), "may be read by other users")
}
