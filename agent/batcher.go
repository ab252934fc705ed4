package agent

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/kpilot/kpilot/agent/spool"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/wire"
)

// batcher gathers encoded samples in memory and cuts them into spooled
// batches every flush interval, or sooner when maxLines are waiting.
// Samples arrive as line protocol, encoded by each poll's sink as the
// collector reports them (add), so what waits here is compact text rather
// than maps. They become durable when their batch is appended to the spool.
//
// When the spool cannot write (a full disk), samples wait here, at most
// memLimit bytes of them and the batch being tried: beyond it the oldest
// are dropped and counted.
// The disk is tried again at every flush interval, not at every sample,
// and the state is logged when it starts, once a minute while it lasts,
// and when it ends.
type batcher struct {
	spool    *spool.Disk
	log      *slog.Logger
	maxLines int
	memLimit int64 // bytes of line protocol held while the spool cannot write
	onSpool  func(samples int)
	onDrop   func(reason string, samples int) // may be nil
	now      func() time.Time

	mu     sync.Mutex
	chunks []chunk // waiting lines, oldest first
	lines  int     // lines in chunks
	bytes  int64   // bytes in chunks
	// The batch flush is writing: not in chunks, still in memory.
	outLines int
	outBytes int64
	inv      []kpi.Inventory
	full     chan struct{}

	// While the spool cannot write; guarded by mu.
	stuck      bool
	stuckSince time.Time
	loggedAt   time.Time
	stuckDrops int // samples dropped by the memory bound in this episode

	// Buffers flush reuses from batch to batch (flushes run one at a
	// time): the batch's lines, its uncompressed and its compressed form.
	// Without them every batch allocated all three anew, which on a busy
	// agent was most of its garbage.
	lineBuf, raw, out []byte
}

// maxKeptBuffer bounds a buffer flush keeps for the next batch, so that
// an unusually large one (an inventory at start, a backlog after a full
// disk) is not held for good.
const maxKeptBuffer = 4 << 20

// chunk is some whole lines of line protocol and how many.
type chunk struct {
	data  []byte
	lines int
}

// maxHeldInventories bounds the inventory documents held while the spool
// cannot write; beyond it the oldest are dropped (the next poll reports
// the device's inventory again).
const maxHeldInventories = 1000

// stuckLogEvery is how often the log repeats that the spool cannot write.
const stuckLogEvery = time.Minute

func newBatcher(sp *spool.Disk, maxLines int, memLimit int64, log *slog.Logger, onSpool func(int)) *batcher {
	return &batcher{spool: sp, log: log, maxLines: maxLines, memLimit: memLimit, onSpool: onSpool,
		now: time.Now, full: make(chan struct{}, 1)}
}

// Sample encodes and adds one sample of the agent's own (agent_poll).
func (b *batcher) Sample(s kpi.Sample) {
	var e wire.Encoder
	if err := e.Sample(s); err != nil {
		b.dropped("invalid", 1)
		b.log.Error("sample invalid; left out", "err", err)
		return
	}
	b.add(e.Take())
}

// add takes lines a sink encoded; the batcher owns data afterwards.
func (b *batcher) add(data []byte, lines int) {
	if lines == 0 {
		return
	}
	b.mu.Lock()
	b.chunks = append(b.chunks, chunk{data, lines})
	b.lines += lines
	b.bytes += int64(len(data))
	b.boundLocked()
	// While the spool cannot write, a full batch waits for the next try
	// at the flush interval rather than trying the disk at every poll.
	signal := b.lines >= b.maxLines && !b.stuck
	b.mu.Unlock()
	if signal {
		select {
		case b.full <- struct{}{}:
		default:
		}
	}
}

func (b *batcher) Inventory(x kpi.Inventory) {
	b.mu.Lock()
	b.inv = append(b.inv, x)
	b.mu.Unlock()
}

// run flushes every interval until ctx is done, then flushes once more so
// that nothing collected before shutdown is lost.
func (b *batcher) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			b.flush()
			return
		case <-t.C:
		case <-b.full:
		}
		b.flush()
	}
}

// flush writes what is waiting to the spool, maxLines samples per batch,
// taking one batch at a time so that what waits stays counted and bounded.
// If the spool cannot take a batch (disk full), its lines go back in
// front, for the next flush.
func (b *batcher) flush() {
	b.mu.Lock()
	batches := b.lines/b.maxLines + 1 // what came before this flush, so that it ends
	b.mu.Unlock()
	wrote := false
	for range batches {
		b.mu.Lock()
		if len(b.chunks) == 0 && len(b.inv) == 0 {
			b.mu.Unlock()
			break
		}
		var data []byte
		data, b.chunks = cut(b.lineBuf[:0], b.chunks, b.maxLines)
		n := min(b.lines, b.maxLines)
		inv := b.inv
		b.inv, b.lines, b.bytes = nil, b.lines-n, b.bytes-int64(len(data))
		b.outLines, b.outBytes = n, int64(len(data))
		b.mu.Unlock()

		err := b.store(wire.BatchOf(data, inv))
		if err != nil {
			b.lineBuf = nil // data goes back into chunks, which own it now
			b.requeue(chunk{data, n}, inv)
			b.cannotWrite(err)
			return
		}
		// Spooled: data (the lines cut into lineBuf, or a poll's own
		// buffer taken whole) is free for the next batch.
		b.lineBuf = kept(b.lineBuf, data)
		b.mu.Lock()
		b.outLines, b.outBytes = 0, 0
		b.mu.Unlock()
		b.onSpool(n)
		wrote = true
	}
	if wrote {
		b.canWrite()
	}
}

// cannotWrite notes a failed write: logged when the state starts and once
// a minute while it lasts.
func (b *batcher) cannotWrite(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	switch {
	case !b.stuck:
		b.stuck, b.stuckSince, b.loggedAt, b.stuckDrops = true, now, now, 0
		b.log.Error(fmt.Sprintf("spool cannot write: %v; holding samples in memory up to %s", err, mib(b.memLimit)),
			"held_samples", b.lines, "held_bytes", b.bytes)
	case now.Sub(b.loggedAt) >= stuckLogEvery:
		b.loggedAt = now
		b.log.Error(fmt.Sprintf("spool still cannot write: %v; holding samples in memory up to %s", err, mib(b.memLimit)),
			"since", b.stuckSince.Format(time.RFC3339), "held_samples", b.lines, "held_bytes", b.bytes,
			"dropped_samples", b.stuckDrops)
	}
}

// canWrite ends the state cannotWrite started, with one line in the log.
func (b *batcher) canWrite() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.stuck {
		return
	}
	b.stuck = false
	b.log.Info("spool writes again; samples held in memory were spooled",
		"after", b.now().Sub(b.stuckSince).Round(time.Second), "dropped_samples", b.stuckDrops)
}

func mib(n int64) string { return fmt.Sprintf("%.4g MiB", float64(n)/(1<<20)) }

// cut takes up to max lines off the front of chunks, as one buffer:
// appended to dst, or one chunk's own buffer when it is the batch.
func cut(dst []byte, chunks []chunk, max int) ([]byte, []chunk) {
	if len(chunks) > 0 && (chunks[0].lines == max || len(chunks) == 1 && chunks[0].lines < max) {
		return chunks[0].data, chunks[1:] // one poll's lines as they are
	}
	out := dst
	for n := 0; len(chunks) > 0 && n < max; {
		c := &chunks[0]
		if n+c.lines <= max {
			out = append(out, c.data...)
			n += c.lines
			chunks = chunks[1:]
			continue
		}
		// Split the chunk after the line that fills the batch.
		end := 0
		for range max - n {
			end += bytes.IndexByte(c.data[end:], '\n') + 1
		}
		out = append(out, c.data[:end]...)
		c.data, c.lines = c.data[end:], c.lines-(max-n)
		n = max
	}
	return out, chunks
}

// store spools a batch as zstd: cheaper to compress here and to
// decompress on the server than gzip. The shipper recodes it to gzip for
// a server that has not said it takes zstd.
func (b *batcher) store(batch *wire.Batch) error {
	out, raw, err := batch.AppendMarshal(b.out[:0], b.raw, wire.Zstd)
	b.out, b.raw = kept(b.out, out), kept(b.raw, raw)
	if err != nil {
		return err
	}
	return b.spool.Append(out, batch.Lines()) // a copy: out is reused
}

// kept returns the buffer to keep for the next batch: used, emptied, if
// it is the larger of the two and within maxKeptBuffer.
func kept(old, used []byte) []byte {
	switch {
	case cap(used) > maxKeptBuffer:
		return old[:0]
	case cap(used) >= cap(old):
		return used[:0]
	}
	return old[:0]
}

// requeue puts back, in front of what came since, the batch flush could
// not spool.
func (b *batcher) requeue(c chunk, inv []kpi.Inventory) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.outLines, b.outBytes = 0, 0
	if c.lines > 0 {
		b.chunks = append([]chunk{c}, b.chunks...)
		b.lines += c.lines
		b.bytes += int64(len(c.data))
	}
	b.inv = append(inv, b.inv...)
	b.boundLocked()
	if n := len(b.inv) - maxHeldInventories; n > 0 {
		b.inv = b.inv[n:]
		b.log.Warn("spool cannot write and too many inventories are waiting: dropped the oldest", "inventories", n)
	}
}

// boundLocked drops the oldest lines until what is held fits memLimit,
// and counts them. Called with mu held.
func (b *batcher) boundLocked() {
	if b.memLimit <= 0 || b.bytes <= b.memLimit {
		return
	}
	dropped := 0
	for b.bytes > b.memLimit && len(b.chunks) > 0 {
		c := &b.chunks[0]
		if b.bytes-int64(len(c.data)) >= b.memLimit || c.lines == 1 {
			dropped += c.lines
			b.bytes -= int64(len(c.data))
			b.chunks = b.chunks[1:]
			continue
		}
		// Drop from the front of this chunk only the lines needed.
		end, lines := 0, 0
		for b.bytes-int64(end) > b.memLimit {
			end += bytes.IndexByte(c.data[end:], '\n') + 1
			lines++
		}
		b.bytes -= int64(end)
		// A copy, so that the dropped lines' memory is freed.
		c.data, c.lines = append([]byte(nil), c.data[end:]...), c.lines-lines
		dropped += lines
	}
	b.lines -= dropped
	if dropped > 0 {
		if b.stuck && b.stuckDrops == 0 {
			b.log.Warn(fmt.Sprintf("spool cannot write and %s of samples are held in memory: dropping the oldest", mib(b.memLimit)))
		}
		b.stuckDrops += dropped
		b.dropped("memory_bound", dropped)
	}
}

// stop spools what is still held, one last try, and counts what cannot
// be spooled as lost at shutdown.
func (b *batcher) stop() {
	b.flush()
	b.mu.Lock()
	lost := b.lines
	b.chunks, b.inv, b.lines, b.bytes = nil, nil, 0, 0
	b.mu.Unlock()
	if lost > 0 {
		b.dropped("shutdown", lost)
		b.log.Error("stopping with samples the spool could not take; they are lost", "samples", lost)
	}
}

// state reports whether the spool took the last write, and what waits in
// memory.
func (b *batcher) state() (writable bool, samples int, bytes int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.stuck, b.lines + b.outLines, b.bytes + b.outBytes
}

func (b *batcher) dropped(reason string, n int) {
	if b.onDrop != nil && n > 0 {
		b.onDrop(reason, n)
	}
}
