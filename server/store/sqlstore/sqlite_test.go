package sqlstore_test

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "kpilot.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
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
