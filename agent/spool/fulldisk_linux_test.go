package spool

import (
	"bytes"
	"fmt"
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
