// Package sqlitetest opens SQLite stores for tests as copies of one
// migrated database. Running every migration on every new database is
// most of what a test world costs under the race detector (SQLite is
// Go transpiled from C, and the detector checks its every memory access):
// a copy of the file costs a read and a write.
package sqlitetest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store/sqlstore"
)

// migrated is the template's file contents, made once per test binary and
// never changed after.
var migrated = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "kpilot-sqlite-template-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "template.db")
	db, err := sqlstore.OpenSQLite(context.Background(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	// Closing the last connection checkpoints the write-ahead log into
	// the file and removes it: the file alone is the database.
	if err := db.Close(); err != nil {
		return nil, fmt.Errorf("closing the template database: %w", err)
	}
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the template database kept its write-ahead log (%v)", err)
	}
	return os.ReadFile(path)
})

// Prepare writes a database every migration has run on to path (which
// must not exist), for a server configured with that path: its
// OpenSQLite then finds nothing to migrate.
func Prepare(t testing.TB, path string) {
	t.Helper()
	b, err := migrated()
	require.NoError(t, err, "migrating the template database")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	require.NoError(t, err)
	_, err = f.Write(b)
	require.NoError(t, errors.Join(err, f.Close()))
}

// Open opens a store at path (which must not exist), as OpenSQLite does,
// from a copy of a database every migration has run on (Prepare). The
// store is closed at the end of the test.
func Open(t testing.TB, path string, log *slog.Logger, opts ...sqlstore.Option) *sqlstore.DB {
	t.Helper()
	Prepare(t, path)
	db, err := sqlstore.OpenSQLite(t.Context(), path, log, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}
