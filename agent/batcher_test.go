package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/agent/spool"
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/wire"
)

func sample(i int) kpi.Sample {
	return kpi.Sample{Asset: "a", Measurement: "m", Time: time.Unix(int64(i), 0), Fields: map[string]any{"v": float64(i)}}
}

func heldSamples(b *batcher) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lines
}

// spooled reads back every batch in the spool, in order: each batch's
// lines.
func spooledBatches(t *testing.T, sp *spool.Disk) [][]string {
	t.Helper()
	var out [][]string
	for {
		e, err := sp.Peek()
		if errors.Is(err, spool.ErrEmpty) {
			return out
		}
		require.NoError(t, err)
		b, err := wire.Decode(bytes.NewReader(e.Data), 1<<20)
		require.NoError(t, err)
		out = append(out, strings.SplitAfter(b.Samples, "\n")[:b.Lines()])
		require.Equal(t, b.Lines(), e.Samples)
		require.NoError(t, sp.Ack(e.Seq))
	}
}

// TestBatcherCutsPollsIntoBatches hands over polls of different sizes:
// batches hold maxLines lines in the order they came, a poll larger than a
// batch is split between lines, and nothing is lost or doubled.
func TestBatcherCutsPollsIntoBatches(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sp, err := spool.Open(t.TempDir(), spool.Options{Log: log})
	require.NoError(t, err)
	defer sp.Close()
	b := newBatcher(sp, 4, 32<<20, log, func(int) {})
	next := 1
	var want []string
	for _, size := range []int{1, 9, 2, 4, 3} { // polls
		var e wire.Encoder
		for range size {
			require.NoError(t, e.Sample(sample(next)))
			want = append(want, fmt.Sprintf("m,asset=a v=%d %d000000000\n", next, next))
			next++
		}
		b.add(e.Take())
	}
	b.flush()
	var got []string
	batches := spooledBatches(t, sp)
	for i, lines := range batches {
		if i < len(batches)-1 {
			require.Len(t, lines, 4, "batch %d", i)
		}
		got = append(got, lines...)
	}
	require.Equal(t, want, got)
	require.Len(t, batches, 5, "19 lines at 4 per batch")
}

// TestTargetSinkHandsOverAtClose: a poll's samples and rows reach the
// batcher when the poll ends, invalid ones are counted and left out, and
// nothing is taken after the end.
func TestTargetSinkHandsOverAtClose(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sp, err := spool.Open(t.TempDir(), spool.Options{Log: log})
	require.NoError(t, err)
	defer sp.Close()
	b := newBatcher(sp, 1000, 32<<20, log, func(int) {})
	drops := map[string]int{}
	b.onDrop = func(reason string, n int) { drops[reason] += n }
	partial := prometheus.NewCounter(prometheus.CounterOpts{Name: "p"})
	s := &targetSink{b: b, log: log, asset: "a", partial: partial, keep: true}
	s.Sample(sample(1))
	r := kpi.Row{Asset: "a", Measurement: "m", Time: time.Unix(2, 0), Fields: []kpi.Field{{Key: "v", Float: 2}}}
	s.Row(&r)
	s.Sample(kpi.Sample{Asset: "a", Measurement: "Bad", Time: time.Unix(3, 0), Fields: map[string]any{"v": 1.0}})
	s.Sample(kpi.Sample{Asset: "other", Measurement: "m", Time: time.Unix(4, 0), Fields: map[string]any{"v": 1.0}})
	require.Zero(t, heldSamples(b), "held by the sink until the poll ends")
	s.close()
	s.Sample(sample(5))
	s.close()
	n, samples := s.result()
	require.Equal(t, 2, n)
	require.Len(t, samples, 2, "kept for the exporter")
	require.Equal(t, map[string]any{"v": 2.0}, samples[1].Fields)
	require.Equal(t, 1, drops["invalid"])
	require.Equal(t, 1.0, testutil.ToFloat64(partial), "the other asset's sample is a partial error")
	b.flush()
	require.Equal(t, [][]string{{"m,asset=a v=1 1000000000\n", "m,asset=a v=2 2000000000\n"}}, spooledBatches(t, sp))
}

func TestBatcherCutsBatches(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sp, err := spool.Open(t.TempDir(), spool.Options{Log: log})
	require.NoError(t, err)
	spooled := 0
	b := newBatcher(sp, 3, 32<<20, log, func(n int) { spooled += n })
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
	b := newBatcher(sp, 1000, 32<<20, log, func(n int) { spooled += n })
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

// fullDisk returns a spool on a real tmpfs that is full, and a func that
// frees it.
func fullDisk(t *testing.T, log *slog.Logger) (*spool.Disk, func()) {
	t.Helper()
	disk := devenv.SmallDisk(t, 64<<10)
	sp, err := spool.Open(filepath.Join(disk, "spool"), spool.Options{Log: log})
	require.NoError(t, err)
	t.Cleanup(func() { sp.Close() })
	filler, err := os.Create(filepath.Join(disk, "filler"))
	require.NoError(t, err)
	for {
		if _, err := filler.Write(make([]byte, 4096)); err != nil {
			require.ErrorIs(t, err, syscall.ENOSPC)
			break
		}
	}
	require.NoError(t, filler.Close())
	return sp, func() { require.NoError(t, os.Remove(filepath.Join(disk, "filler"))) }
}

// TestBatcherMemoryBound: while the spool cannot write, what is held stays
// within the bound in bytes; beyond it the oldest samples go first, whole
// polls or lines of one, and every one is counted.
func TestBatcherMemoryBound(t *testing.T) {
	line := func(i int) string { return fmt.Sprintf("m,asset=a v=%d %d000000000\n", i, i) }
	lineLen := len(line(1000)) // every i below has four digits
	for _, tc := range []struct {
		name  string
		polls []int // samples per poll
		limit int   // in lines
	}{
		{name: "one sample per poll", polls: slices.Repeat([]int{1}, 100), limit: 10},
		{name: "lines cut off the front of a poll", polls: []int{30, 45, 25}, limit: 37},
		{name: "everything fits", polls: []int{5, 5}, limit: 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			sp, free := fullDisk(t, log)
			spooled := 0
			b := newBatcher(sp, 20, int64(tc.limit*lineLen), log, func(n int) { spooled += n })
			drops := map[string]int{}
			b.onDrop = func(reason string, n int) { drops[reason] += n }
			next, total := 1000, 0
			for _, n := range tc.polls {
				var e wire.Encoder
				for range n {
					require.NoError(t, e.Sample(sample(next)))
					next++
				}
				b.add(e.Take())
				total += n
				b.flush()
				writable, held, bytes := b.state()
				require.False(t, writable)
				require.LessOrEqual(t, bytes, int64(tc.limit*lineLen), "within the bound")
				require.Equal(t, int64(held*lineLen), bytes)
			}
			require.Zero(t, spooled, "the disk is full")
			kept := min(total, tc.limit)
			require.Equal(t, total-kept, drops["memory_bound"], "every dropped sample is counted")

			free()
			b.flush()
			writable, held, _ := b.state()
			require.True(t, writable)
			require.Zero(t, held)
			var want, got []string
			for i := 1000 + total - kept; i < 1000+total; i++ {
				want = append(want, line(i))
			}
			for _, lines := range spooledBatches(t, sp) {
				got = append(got, lines...)
			}
			require.Equal(t, want, got, "the newest are kept, in order")
		})
	}
}

// TestBatcherLogsFullDiskOnce: a full disk is logged when it starts, once
// a minute while it lasts and when it ends, however often the batcher
// tries; samples arriving meanwhile do not make it try the disk.
func TestBatcherLogsFullDiskOnce(t *testing.T) {
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	sp, free := fullDisk(t, log)
	b := newBatcher(sp, 2, 1<<20, log, func(int) {})
	now := time.Unix(0, 0)
	b.now = func() time.Time { return now }
	for i := range 150 { // 150 s of tries, one a second
		b.Sample(sample(i))
		b.Sample(sample(i))
		if i > 0 {
			select {
			case <-b.full:
				t.Fatal("a full batch made the batcher try the full disk")
			default:
			}
		}
		b.flush()
		if i == 0 {
			<-b.full // from before the first try
		}
		now = now.Add(time.Second)
	}
	free()
	b.flush()
	require.Equal(t, 1, strings.Count(logged.String(), "spool cannot write: "), logged.String())
	require.Contains(t, logged.String(), "holding samples in memory up to 1 MiB")
	require.Equal(t, 2, strings.Count(logged.String(), "spool still cannot write: "), "at 60 s and 120 s")
	require.Equal(t, 1, strings.Count(logged.String(), "spool writes again"))
	require.Equal(t, 4, strings.Count(logged.String(), "\n"), "nothing else: "+logged.String())
}

// TestBatcherReusesBuffers: once warm, cutting polls into batches,
// compressing and spooling them allocates a fraction of the lines it
// moves. Before, every batch allocated its lines cut together, its
// uncompressed and its compressed form anew: about three times the lines.
func TestBatcherReusesBuffers(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sp, err := spool.Open(t.TempDir(), spool.Options{Log: log, Fsync: spool.FsyncNever})
	require.NoError(t, err)
	defer sp.Close()
	const perPoll, polls, batches = 250, 10, 8 // a batch of 2,500 lines from ten polls
	b := newBatcher(sp, perPoll*polls, 32<<20, log, func(int) {})
	poll := func(round, p int) ([]byte, int) {
		var e wire.Encoder
		for i := range perPoll {
			require.NoError(t, e.Sample(kpi.Sample{Asset: fmt.Sprintf("dev-%d", p), Measurement: "interface",
				Tags:   map[string]string{"interface": fmt.Sprintf("eth%d", i)},
				Time:   time.Unix(int64(round), 0),
				Fields: map[string]any{"in_octets": float64(round * i * 7919), "out_octets": float64(round * i * 104729)}}))
		}
		return e.Take()
	}
	batch := func(round int, data [][]byte, lines []int) {
		for p := range polls {
			b.add(data[p], lines[p])
		}
		b.flush()
	}
	// Every batch's polls are encoded before the measurement: what is
	// measured is the batcher's work alone.
	data, lines := make([][][]byte, batches+1), make([][]int, batches+1)
	var moved uint64
	for r := range batches + 1 {
		data[r], lines[r] = make([][]byte, polls), make([]int, polls)
		for p := range polls {
			data[r][p], lines[r][p] = poll(r, p)
			if r > 0 {
				moved += uint64(len(data[r][p]))
			}
		}
	}
	batch(0, data[0], lines[0]) // warm: the encoder and the first buffers
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for r := 1; r <= batches; r++ {
		batch(r, data[r], lines[r])
	}
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	bound := moved / 2
	if raceEnabled {
		// The race detector drops pooled buffers at random; fresh ones
		// for every batch cost 6 times the lines, so this still tells.
		bound = moved
	}
	require.Less(t, allocated, bound, "allocated %d bytes for %d bytes of lines", allocated, moved)
	require.Len(t, spooledBatches(t, sp), batches+1)
}
