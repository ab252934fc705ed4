package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/server/store"
)

// TestSeriesIDMigration: a database of the schema before series ids
// (version 9) gets them numbered by creation: organizations across the
// server, assets within their organization, and new ones continue the
// count. SQLite and PostgreSQL run the same migration.
func TestSeriesIDMigration(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "kpilot.db")
		raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
		require.NoError(t, err)
		orgs := seedVersion9(t, raw, goose.DialectSQLite3)
		require.NoError(t, raw.Close())
		db, err := OpenSQLite(t.Context(), path, log)
		require.NoError(t, err)
		defer db.Close()
		checkMigratedSeriesIDs(t, db, orgs)
	})
	t.Run("postgres", func(t *testing.T) {
		pg := devenv.PostgreSQL(t)
		dsn, err := pg.CreateDatabase(t.Context(), "kpilot_series_migration")
		require.NoError(t, err)
		raw, err := sql.Open("pgx", dsn)
		require.NoError(t, err)
		orgs := seedVersion9(t, raw, goose.DialectPostgres)
		require.NoError(t, raw.Close())
		db, err := OpenPostgres(t.Context(), dsn, log)
		require.NoError(t, err)
		defer db.Close()
		checkMigratedSeriesIDs(t, db, orgs)
	})
}

// seedVersion9 migrates raw to version 9 and writes two organizations
// (created in the order B, A) with assets created out of id order.
func seedVersion9(t *testing.T, raw *sql.DB, dialect goose.Dialect) []string {
	ctx := context.Background()
	fsys, err := fs.Sub(migrations, "migrations")
	require.NoError(t, err)
	p, err := goose.NewProvider(dialect, raw, fsys)
	require.NoError(t, err)
	_, err = p.UpTo(ctx, 9)
	require.NoError(t, err)
	exec := func(q string, args ...any) {
		_, err := raw.ExecContext(ctx, q, args...)
		require.NoError(t, err, q)
	}
	orgs := []string{"00000000-0000-4000-8000-00000000000b", "00000000-0000-4000-8000-00000000000a"}
	for i, id := range orgs { // B first
		root := fmt.Sprintf("00000000-0000-4000-8000-0000000000%d0", i)
		exec(`INSERT INTO organizations (id, name, kind, root_ou, created_at) VALUES ($1, $2, 'customer', $3, $4)`, id, "org"+id[len(id)-1:], root, 1000+i)
		exec(`INSERT INTO ous (id, org_id, parent_id, name, created_at) VALUES ($1, $2, NULL, 'root', $3)`, root, id, 1000+i)
		for k, created := range []int{30, 10, 20} { // created in the order 2, 3, 1
			asset := fmt.Sprintf("00000000-0000-4000-8000-%012d", 100*i+k+1)
			exec(`INSERT INTO assets (id, org_id, ou_id, source_key, name, created_at) VALUES ($1, $2, $3, $4, $4, $5)`, asset, id, root, fmt.Sprintf("dev-%d", k), 2000+created)
		}
	}
	return orgs
}

func checkMigratedSeriesIDs(t *testing.T, db *DB, orgs []string) {
	want := map[string]string{}
	for i, org := range orgs {
		no := i + 1 // organizations by creation: B is 1, A is 2
		for k, n := range []int{3, 1, 2} {
			want[fmt.Sprintf("00000000-0000-4000-8000-%012d", 100*i+k+1)] = fmt.Sprintf("%d.%d", no, n)
		}
		assets, err := db.Assets(t.Context(), org)
		require.NoError(t, err)
		require.Len(t, assets, 3)
		for _, as := range assets {
			require.Equal(t, want[as.ID], as.SeriesID, "asset %s (%s)", as.ID, as.Name)
		}
	}
	// New organizations and assets continue the count.
	c := store.Organization{Name: "C", Kind: store.Customer}
	require.NoError(t, db.CreateOrganization(t.Context(), &c))
	as := store.Asset{OrgID: c.ID, OUID: c.RootOU, Name: "new"}
	require.NoError(t, db.CreateAsset(t.Context(), &as, nil))
	require.Equal(t, "3.1", as.SeriesID)
	next := store.Asset{OrgID: orgs[1], OUID: "00000000-0000-4000-8000-000000000010", Name: "next"}
	require.NoError(t, db.CreateAsset(t.Context(), &next, nil))
	require.Equal(t, "2.4", next.SeriesID)
}
