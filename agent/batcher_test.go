package agent

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/agent/spool"
	"github.com/kpilot/kpilot/internal/kpi"
)

func sample(i int) kpi.Sample {
	return kpi.Sample{Asset: "a", Measurement: "m", Time: time.Unix(int64(i), 0), Fields: map[string]any{"v": float64(i)}}
}

func TestBatcherCutsBatchesAndKeepsSamplesWhenSpoolFails(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := filepath.Join(t.TempDir(), "spool")
	sp, err := spool.Open(dir, 1<<20, log)
	require.NoError(t, err)
	spooled := 0
	b := newBatcher(sp, 3, log, func(n int) { spooled += n })

	for i := range 7 {
		b.Sample(sample(i))
	}
	b.flush()
	require.Equal(t, 7, spooled)
	require.Equal(t, 3, sp.Stats().Batches, "7 samples at 3 per batch make 3 batches")

	// The spool directory becomes unwritable, as on a full disk: samples
	// stay in memory and go out with the next flush that works.
	require.NoError(t, os.Chmod(dir, 0o500))
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	if os.Geteuid() == 0 {
		// root ignores directory permissions; make the spool path a file instead.
		require.NoError(t, os.Chmod(dir, 0o700))
		require.NoError(t, os.RemoveAll(dir))
		require.NoError(t, os.WriteFile(dir, nil, 0o600))
	}
	b.Sample(sample(100))
	b.flush()
	require.Equal(t, 7, spooled)
	b.mu.Lock()
	held := len(b.samples)
	b.mu.Unlock()
	require.Equal(t, 1, held, "a sample the spool could not take is kept for the next flush")
}
