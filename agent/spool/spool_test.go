package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func open(t *testing.T, dir string, o Options) *Disk {
	t.Helper()
	d, err := Open(dir, o)
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
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

func appendN(t *testing.T, d *Disk, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		require.NoError(t, d.Append(fmt.Appendf(nil, "batch-%04d", i), 10)) // 10 bytes, 10 samples
	}
}

func names(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("batch-%04d", i))
	}
	return out
}

// segments lists the segment files in dir.
func segments(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	require.NoError(t, err)
	return m
}

const rec10 = headerSize + 10 // size of one test record

func TestDeliversInOrderAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir, Options{})
	appendN(t, d, 0, 5)
	e, err := d.Peek()
	require.NoError(t, err)
	require.Equal(t, "batch-0000", string(e.Data))
	require.Equal(t, 10, e.Samples)
	require.NoError(t, d.Ack(e.Seq))

	// A restart (or kill -9: no Close) keeps everything Append returned for
	// and forgets what was acknowledged.
	d2 := open(t, dir, Options{})
	st := d2.Stats()
	require.Equal(t, 4, st.Batches)
	require.Equal(t, int64(40), st.Samples)
	appendN(t, d2, 5, 1)
	require.Equal(t, names(1, 6), drain(t, d2))
	require.Equal(t, 0, d2.Stats().Batches)
	require.Equal(t, int64(0), d2.Stats().Samples)
}

func TestSegmentsRollAndDeliveredOnesAreRemoved(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir, Options{SegmentBytes: 3 * rec10})
	appendN(t, d, 0, 7)
	require.Len(t, segments(t, dir), 3, "three records per segment")
	require.Equal(t, 3, d.Stats().Segments)

	for range 4 {
		e, err := d.Peek()
		require.NoError(t, err)
		require.NoError(t, d.Ack(e.Seq))
	}
	require.Len(t, segments(t, dir), 2, "the first segment is delivered and removed")

	require.Equal(t, names(4, 7), drain(t, d))
	require.Len(t, segments(t, dir), 1, "the segment being written stays, so a server that keeps up costs no file per batch")

	// After a restart the delivered records in it are not sent again.
	d2 := open(t, dir, Options{SegmentBytes: 3 * rec10})
	require.Empty(t, drain(t, d2))
	appendN(t, d2, 7, 1)
	require.Equal(t, names(7, 8), drain(t, d2))
}

func TestTornAppendIsCutOffAtOpen(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir, Options{})
	appendN(t, d, 0, 2)
	require.NoError(t, d.Close())
	// What kill -9 in the middle of a write leaves: half a record.
	seg := segments(t, dir)[0]
	f, err := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte(magic + "\x00\x01half a reco"))
	require.NoError(t, err)
	require.NoError(t, f.Close())

	d2 := open(t, dir, Options{})
	require.Zero(t, d2.Stats().CorruptBatches, "a torn tail is not damage: it never counted as spooled")
	fi, err := os.Stat(seg)
	require.NoError(t, err)
	require.Equal(t, int64(2*rec10), fi.Size(), "the torn record is cut off")
	appendN(t, d2, 2, 1)
	require.Equal(t, names(0, 3), drain(t, d2))
}

func TestDamagedRecordIsSkippedCountedAndKept(t *testing.T) {
	for name, damage := range map[string]func(b []byte){
		"payload bit flip":   func(b []byte) { b[rec10+headerSize+3] ^= 0x40 },
		"length overwritten": func(b []byte) { copy(b[rec10+20:], []byte{0xff, 0xff, 0xff, 0x00}) },
		"magic overwritten":  func(b []byte) { copy(b[rec10:], "XXXX") },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			d := open(t, dir, Options{SegmentBytes: 3 * rec10})
			appendN(t, d, 0, 6) // two segments of three
			require.NoError(t, d.Close())
			seg := segments(t, dir)[0]
			b, err := os.ReadFile(seg)
			require.NoError(t, err)
			damage(b) // the second record of the first segment
			require.NoError(t, os.WriteFile(seg, b, 0o600))

			d2 := open(t, dir, Options{SegmentBytes: 3 * rec10})
			require.Equal(t, []string{"batch-0000", "batch-0002", "batch-0003", "batch-0004", "batch-0005"}, drain(t, d2),
				"the records after the damage are still delivered")
			st := d2.Stats()
			require.Equal(t, uint64(1), st.CorruptBatches)
			require.Equal(t, uint64(rec10), st.CorruptBytes)
			kept, err := os.ReadDir(filepath.Join(dir, "corrupt"))
			require.NoError(t, err)
			require.Len(t, kept, 1, "the damaged bytes are kept for an operator to look at")
		})
	}
}

func TestDamageAfterOpenIsFoundAtDelivery(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir, Options{})
	appendN(t, d, 0, 3)
	seg := segments(t, dir)[0]
	b, err := os.ReadFile(seg)
	require.NoError(t, err)
	b[headerSize+1] ^= 0xff // first record's payload
	require.NoError(t, os.WriteFile(seg, b, 0o600))

	require.Equal(t, names(1, 3), drain(t, d))
	require.Equal(t, uint64(1), d.Stats().CorruptBatches)
}

func TestBoundDropsOldestSegmentAndCountsSamples(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir, Options{MaxBytes: 4 * rec10, SegmentBytes: 2 * rec10})
	appendN(t, d, 0, 7)
	st := d.Stats()
	require.Equal(t, uint64(4), st.DroppedBatches, "two whole segments of two")
	require.Equal(t, uint64(40), st.DroppedSamples)
	require.Equal(t, uint64(4*rec10), st.DroppedBytes)
	require.LessOrEqual(t, st.Bytes, int64(4*rec10))
	require.Equal(t, names(4, 7), drain(t, d), "the newest data is kept")
}

func TestFsyncPolicies(t *testing.T) {
	for policy, want := range map[FsyncPolicy]uint64{FsyncAlways: 5, FsyncNever: 0, FsyncInterval: 1} {
		t.Run(string(policy), func(t *testing.T) {
			d := open(t, t.TempDir(), Options{Fsync: policy, FsyncInterval: 1 << 40})
			appendN(t, d, 0, 5)
			require.Equal(t, want, d.Stats().Fsyncs)
		})
	}
	_, err := Open(t.TempDir(), Options{Fsync: "sometimes"})
	require.ErrorContains(t, err, `fsync policy "sometimes": must be always, interval or never`)
}

func TestAckOfUnknownBatchIsHarmless(t *testing.T) {
	d := open(t, t.TempDir(), Options{})
	require.NoError(t, d.Ack(42))
	_, err := d.Peek()
	require.ErrorIs(t, err, ErrEmpty)
}

func TestOversizedBatchIsRefused(t *testing.T) {
	d := open(t, t.TempDir(), Options{})
	err := d.Append(make([]byte, MaxRecord+1), 1)
	require.ErrorContains(t, err, "more than")
	require.Zero(t, d.Stats().Batches)
}
