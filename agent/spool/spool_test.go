package spool

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func open(t *testing.T, dir string, max int64) *Disk {
	t.Helper()
	d, err := Open(dir, max, discard)
	require.NoError(t, err)
	return d
}

func drain(t *testing.T, d *Disk) []string {
	t.Helper()
	var out []string
	for {
		e, err := d.Peek()
		if err == ErrEmpty {
			return out
		}
		require.NoError(t, err)
		out = append(out, string(e.Data))
		require.NoError(t, d.Ack(e.Seq))
	}
}

func TestDeliversInOrderAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir, 1<<20)
	for i := range 5 {
		require.NoError(t, d.Append(fmt.Appendf(nil, "batch-%d", i)))
	}
	e, err := d.Peek()
	require.NoError(t, err)
	require.Equal(t, "batch-0", string(e.Data))
	require.NoError(t, d.Ack(e.Seq))

	// A restart (or kill -9) keeps everything that Append had returned for.
	d = open(t, dir, 1<<20)
	require.Equal(t, 4, d.Stats().Batches)
	require.NoError(t, d.Append([]byte("batch-5")))
	require.Equal(t, []string{"batch-1", "batch-2", "batch-3", "batch-4", "batch-5"}, drain(t, d))
	require.Equal(t, 0, d.Stats().Batches)
	require.Equal(t, int64(0), d.Stats().Bytes)
}

func TestTornAppendIsRemovedAtOpen(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir, 1<<20)
	require.NoError(t, d.Append([]byte("whole")))
	// What a crash between create and rename leaves behind.
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".00000000000000000002.batch.tmp123"), []byte("half"), 0o600))
	d = open(t, dir, 1<<20)
	require.Equal(t, []string{"whole"}, drain(t, d))
	_, err := os.Stat(filepath.Join(dir, ".00000000000000000002.batch.tmp123"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestBoundDropsOldestAndCounts(t *testing.T) {
	d := open(t, t.TempDir(), 3*(headerSize+10))
	for i := range 5 {
		require.NoError(t, d.Append(fmt.Appendf(nil, "batch-%04d", i))) // 10 bytes each
	}
	st := d.Stats()
	require.Equal(t, uint64(2), st.DroppedBatches)
	require.Equal(t, uint64(2*(headerSize+10)), st.DroppedBytes)
	require.Equal(t, []string{"batch-0002", "batch-0003", "batch-0004"}, drain(t, d))
}

func TestCorruptBatchIsSkippedAndKept(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir, 1<<20)
	for i := range 3 {
		require.NoError(t, d.Append(fmt.Appendf(nil, "batch-%d", i)))
	}
	// Flip a payload byte of the middle batch.
	path := d.path(2)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	data[len(data)-1] ^= 0xff
	require.NoError(t, os.WriteFile(path, data, 0o600))
	// Truncate the last one.
	require.NoError(t, os.Truncate(d.path(3), 5))

	require.Equal(t, []string{"batch-0"}, drain(t, d))
	require.Equal(t, uint64(2), d.Stats().CorruptBatches)
	moved, err := os.ReadDir(filepath.Join(dir, "corrupt"))
	require.NoError(t, err)
	require.Len(t, moved, 2, "corrupt files are kept for an operator to inspect")
}

func TestAckOfDroppedBatchIsHarmless(t *testing.T) {
	d := open(t, t.TempDir(), 1<<20)
	require.NoError(t, d.Ack(42))
}
