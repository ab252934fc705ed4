package spool

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
)

// TestFullDisk fills a real (tmpfs) file system: the Append that does not
// fit fails with the cause, nothing of it stays behind, everything before
// it is still delivered in order, and once deliveries free space appending
// works again.
func TestFullDisk(t *testing.T) {
	dir := devenv.SmallDisk(t, 256<<10)
	o := Options{MaxBytes: 64 << 20, SegmentBytes: 32 << 10}
	d := open(t, dir, o)
	payload := func(i int) []byte { return append(fmt.Appendf(nil, "%06d", i), bytes.Repeat([]byte{'x'}, 4000)...) }
	var stored int
	var err error
	for stored = 0; stored < 1000; stored++ {
		if err = d.Append(payload(stored), 1); err != nil {
			break
		}
	}
	require.Error(t, err, "a 256 KiB disk cannot take 4 MB")
	require.ErrorContains(t, err, "no space left on device")
	require.Greater(t, stored, 10)
	require.Equal(t, stored, d.Stats().Batches, "the failed batch is not counted")
	require.Error(t, d.Append(payload(stored), 1), "still full")

	// A restart sees exactly what was stored, without a torn record.
	require.NoError(t, d.Close())
	d = open(t, dir, o)
	require.Equal(t, stored, d.Stats().Batches)
	require.Zero(t, d.Stats().CorruptBatches)

	// Delivering frees whole segments, and the spool takes batches again.
	for i := range stored / 2 {
		e, err := d.Peek()
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("%06d", i), string(e.Data[:6]))
		require.NoError(t, d.Ack(e.Seq))
	}
	require.NoError(t, d.Append(payload(stored), 1), "space freed by deliveries is used again")
	for i := stored / 2; i <= stored; i++ {
		e, err := d.Peek()
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("%06d", i), string(e.Data[:6]), "in order, none lost")
		require.NoError(t, d.Ack(e.Seq))
	}
}

// TestFullDiskOneSegment fills a real tmpfs with a single segment, the one
// being written: delivering everything in it gives its space back, so the
// spool takes batches again, and deliveries recorded while the disk is
// full are not sent again after a restart.
func TestFullDiskOneSegment(t *testing.T) {
	dir := devenv.SmallDisk(t, 256<<10)
	o := Options{MaxBytes: 64 << 20, SegmentBytes: 64 << 20} // never rolls
	d := open(t, dir, o)
	payload := func(i int) []byte { return append(fmt.Appendf(nil, "%06d", i), bytes.Repeat([]byte{'x'}, 4000)...) }
	fill := func(from int) int {
		for i := from; ; i++ {
			if err := d.Append(payload(i), 1); err != nil {
				require.ErrorIs(t, err, syscall.ENOSPC)
				return i
			}
		}
	}
	stored := fill(0)
	require.Greater(t, stored, 10)
	require.Len(t, segments(t, dir), 1)
	for i := range stored {
		e, err := d.Peek()
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("%06d", i), string(e.Data[:6]))
		require.NoError(t, d.Ack(e.Seq))
	}
	require.Zero(t, d.Stats().Bytes)
	fi, err := os.Stat(segments(t, dir)[0])
	require.NoError(t, err)
	require.Zero(t, fi.Size(), "the delivered segment being written gives its space back")

	// Full again; half of it is delivered while the disk stays full.
	end := fill(stored)
	require.Greater(t, end-stored, 10, "the space came back")
	half := stored + (end-stored)/2
	for i := stored; i < half; i++ {
		e, err := d.Peek()
		require.NoError(t, err)
		require.NoError(t, d.Ack(e.Seq))
	}
	filler, err := os.Create(filepath.Join(dir, "filler"))
	require.NoError(t, err)
	for {
		if _, err := filler.Write(make([]byte, 4096)); err != nil {
			break
		}
	}
	require.NoError(t, filler.Close())
	require.NoError(t, d.Close())

	d = open(t, dir, o)
	e, err := d.Peek()
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("%06d", half), string(e.Data[:6]), "a restart on the full disk sends nothing delivered again")
	require.Equal(t, end-half, d.Stats().Batches)
}
