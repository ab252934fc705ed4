package cli

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/server"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
)

// lockedBuffer is a bytes.Buffer a running server writes while the test
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// configFor writes the example config pointed at influxd and a free port.
func configFor(t *testing.T, influxURL string) string {
	t.Helper()
	path := config(t)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	data = bytes.ReplaceAll(data, []byte("http://127.0.0.1:8086"), []byte(influxURL))
	data = bytes.ReplaceAll(data, []byte("listen: 127.0.0.1:8080"), []byte("listen: 127.0.0.1:0"))
	data = bytes.ReplaceAll(data, []byte("metrics_listen: 127.0.0.1:9464"), []byte("metrics_listen: 127.0.0.1:0"))
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

// count returns how many points of cpu match where.
func count(t *testing.T, db *tsdb.Influx, where string) int64 {
	t.Helper()
	res, err := db.InfluxQL(t.Context(), "test: counting", `SELECT COUNT("load_percent") FROM "cpu" WHERE `+where)
	require.NoError(t, err)
	if len(res) == 0 {
		return 0
	}
	return res[0].Values[0][1].(int64)
}

func TestIntegrationMigrateSeries(t *testing.T) {
	inf := devenv.Influx(t)
	path := configFor(t, inf.URL)
	ctx := t.Context()
	cfg, err := server.LoadConfig(path)
	require.NoError(t, err)
	st, err := server.OpenStore(ctx, cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	o := store.Organization{Name: "Acme", Kind: store.Customer}
	require.NoError(t, st.CreateOrganization(ctx, &o))
	a := store.Asset{OrgID: o.ID, OUID: o.RootOU, Name: "ESX"}
	require.NoError(t, st.CreateAsset(ctx, &a, nil))
	require.NoError(t, st.Close())
	db := tsdb.New(server.InfluxOptions(cfg))
	defer db.Close()
	var lines strings.Builder
	for i := range 3 {
		fmt.Fprintf(&lines, "cpu,asset_id=%s,org_id=%s,ou_id=%s,index=1 load_percent=%d.5 %d\n", a.ID, o.ID, o.RootOU, i, time.Now().Add(-time.Duration(i)*time.Hour).UnixNano())
	}
	require.NoError(t, db.Write(ctx, []byte(lines.String())))
	oldWhere, newWhere := `"asset_id" = '`+a.ID+`'`, `"asset" = '`+a.SeriesID+`'`

	// kpilot-server run points at the command.
	runCtx, stop := context.WithCancel(ctx)
	var runLog lockedBuffer
	done := make(chan int)
	go func() { done <- Main(runCtx, []string{"run", "--config", path}, &bytes.Buffer{}, &runLog) }()
	require.Eventually(t, func() bool { return strings.Contains(runLog.String(), "run kpilot-server migrate-series") },
		30*time.Second, 20*time.Millisecond, "got %s", runLog.String())
	require.Contains(t, runLog.String(), "level=WARN")

	// The migration runs beside the running server.

	code, out, errOut := run(t, "migrate-series", "--config", path, "--dry-run")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "would copy: 1 series, 3 points")
	require.Zero(t, count(t, db, newWhere))

	code, out, errOut = run(t, "migrate-series", "--config", path, "--delete-old")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "copied: 1 series, 3 points")
	require.Contains(t, out, "old series dropped for 1 assets")
	require.Contains(t, errOut, "asset migrated")
	require.Equal(t, int64(3), count(t, db, newWhere))
	require.Zero(t, count(t, db, oldWhere))
	stop()
	require.Equal(t, 0, <-done)

	bad := configFor(t, "http://127.0.0.1:9")
	code, _, errOut = run(t, "migrate-series", "--config", bad)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "listing old asset ids")
}
