package agent

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/agent/spool"
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/kpi"
)

func sample(i int) kpi.Sample {
	return kpi.Sample{Asset: "a", Measurement: "m", Time: time.Unix(int64(i), 0), Fields: map[string]any{"v": float64(i)}}
}

func heldSamples(b *batcher) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.samples)
}

func TestBatcherCutsBatches(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sp, err := spool.Open(t.TempDir(), spool.Options{Log: log})
	require.NoError(t, err)
	spooled := 0
	b := newBatcher(sp, 3, log, func(n int) { spooled += n })
	for i := range 7 {
		b.Sample(sample(i))
	}
	b.flush()
	require.Equal(t, 7, spooled)
	st := sp.Stats()
	require.Equal(t, 3, st.Batches, "7 samples at 3 per batch make 3 batches")
	require.Equal(t, int64(7), st.Samples)
	require.Zero(t, heldSamples(b))
}

// TestBatcherKeepsSamplesWhileDiskIsFull fills a real file system: samples
// the spool cannot take stay in memory and are spooled by the first flush
// after space is freed.
func TestBatcherKeepsSamplesWhileDiskIsFull(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	disk := devenv.SmallDisk(t, 256<<10)
	sp, err := spool.Open(filepath.Join(disk, "spool"), spool.Options{Log: log})
	require.NoError(t, err)
	defer sp.Close()
	spooled := 0
	b := newBatcher(sp, 1000, log, func(n int) { spooled += n })
	b.Sample(sample(0))
	b.flush()
	require.Equal(t, 1, spooled)

	// Something else fills the disk.
	filler, err := os.Create(filepath.Join(disk, "filler"))
	require.NoError(t, err)
	chunk := make([]byte, 4096)
	for {
		if _, err := filler.Write(chunk); err != nil {
			require.ErrorIs(t, err, syscall.ENOSPC)
			break
		}
	}
	require.NoError(t, filler.Close())

	for i := 1; i <= 3000; i++ {
		b.Sample(sample(i))
	}
	b.flush()
	require.Less(t, spooled, 3001, "the disk is full")
	require.Equal(t, 3001, spooled+heldSamples(b), "what the spool could not take is held in memory")

	require.NoError(t, os.Remove(filepath.Join(disk, "filler")))
	b.flush()
	require.Equal(t, 3001, spooled, "the held samples are spooled once there is room")
	require.Zero(t, heldSamples(b))
	require.Equal(t, int64(3001), sp.Stats().Samples)
}
