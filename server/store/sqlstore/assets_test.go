package sqlstore_test

import (
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
)

// TestNewAssetCapIsAnHour checks that the cap on new assets counts only
// the last hour: assets created earlier (their created_at moved back in
// the file, as time would) no longer count.
func TestNewAssetCapIsAnHour(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kpilot.db")
	db, err := sqlstore.OpenSQLite(t.Context(), path, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	defer db.Close()
	o := store.Organization{Name: "Acme", Kind: store.Customer}
	require.NoError(t, db.CreateOrganization(t.Context(), &o))
	now := time.Now()
	require.NoError(t, db.CreateEnrollmentToken(t.Context(), store.EnrollmentToken{TokenHash: "e", OrgID: o.ID,
		OUID: o.RootOU, CreatedBy: "test", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	ag := store.Agent{Name: "a", TokenHash: "c"}
	require.NoError(t, db.EnrollAgent(t.Context(), "e", now, &ag))
	ag, err = db.AgentByTokenHash(t.Context(), "c")
	require.NoError(t, err)

	_, err = db.EnsureAsset(t.Context(), ag, "k1", nil, 1)
	require.NoError(t, err)
	_, err = db.EnsureAsset(t.Context(), ag, "k2", nil, 1)
	require.ErrorIs(t, err, store.ErrNewAssetCap)

	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	defer raw.Close()
	_, err = raw.ExecContext(t.Context(), `UPDATE assets SET created_at = created_at - 3600001`)
	require.NoError(t, err)
	_, err = db.EnsureAsset(t.Context(), ag, "k2", nil, 1)
	require.NoError(t, err, "an asset created more than an hour ago no longer counts")
}
