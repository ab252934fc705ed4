package sqlstore_test

import (
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/store/storetest"
)

// TestPostgres runs the store suite against a real PostgreSQL server, one
// fresh database per test.
func TestPostgres(t *testing.T) {
	pg := devenv.PostgreSQL(t)
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T) store.Store {
		dsn, err := pg.CreateDatabase(t.Context(), fmt.Sprintf("kpilot_%d", n.Add(1)))
		require.NoError(t, err)
		db, err := sqlstore.OpenPostgres(t.Context(), dsn, slog.New(slog.NewTextHandler(io.Discard, nil)), sqlstore.WithKeyring(newKeyring(t)))
		require.NoError(t, err)
		return db
	})
}

// TestPostgresReplicasMigrateOnce opens the same empty database from
// several "replicas" at once: the migrations apply once, and what one
// replica writes, another reads.
func TestPostgresReplicasMigrateOnce(t *testing.T) {
	pg := devenv.PostgreSQL(t)
	dsn, err := pg.CreateDatabase(t.Context(), "kpilot_replicas")
	require.NoError(t, err)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	type opened struct {
		db  *sqlstore.DB
		err error
	}
	c := make(chan opened, 4)
	for range 4 {
		go func() {
			db, err := sqlstore.OpenPostgres(t.Context(), dsn, log)
			c <- opened{db, err}
		}()
	}
	var dbs []*sqlstore.DB
	for range 4 {
		o := <-c
		require.NoError(t, o.err)
		t.Cleanup(func() { o.db.Close() })
		dbs = append(dbs, o.db)
	}
	o := store.Organization{Name: "Acme", Kind: store.Customer}
	require.NoError(t, dbs[0].CreateOrganization(t.Context(), &o))
	got, err := dbs[3].Organization(t.Context(), o.ID)
	require.NoError(t, err)
	require.Equal(t, "Acme", got.Name)
}
