package agent

import (
	"bytes"
	"context"
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
type batcher struct {
	spool    *spool.Disk
	log      *slog.Logger
	maxLines int
	onSpool  func(samples int)
	onDrop   func(reason string, samples int) // may be nil

	mu     sync.Mutex
	chunks []chunk // waiting lines, oldest first
	lines  int     // lines in chunks
	inv    []kpi.Inventory
	full   chan struct{}
}

// chunk is some whole lines of line protocol and how many.
type chunk struct {
	data  []byte
	lines int
}

func newBatcher(sp *spool.Disk, maxLines int, log *slog.Logger, onSpool func(int)) *batcher {
	return &batcher{spool: sp, log: log, maxLines: maxLines, onSpool: onSpool, full: make(chan struct{}, 1)}
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
	n := b.lines
	b.mu.Unlock()
	if n >= b.maxLines {
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

// flush writes what is waiting to the spool, maxLines samples per batch.
// If the spool cannot take a batch (disk full), the lines are kept in
// memory for the next flush rather than lost.
func (b *batcher) flush() {
	b.mu.Lock()
	chunks, inv := b.chunks, b.inv
	b.chunks, b.inv, b.lines = nil, nil, 0
	b.mu.Unlock()
	for len(chunks) > 0 || len(inv) > 0 {
		var data []byte
		data, chunks = cut(chunks, b.maxLines)
		batch := wire.BatchOf(data, inv)
		n := batch.Lines()
		if err := b.store(batch); err != nil {
			b.log.Error("spooling batch; keeping its samples in memory for the next try", "err", err)
			b.requeue(append([]chunk{{data, n}}, chunks...), inv)
			return
		}
		b.onSpool(n)
		inv = nil
	}
}

// cut takes up to max lines off the front of chunks, as one buffer.
func cut(chunks []chunk, max int) ([]byte, []chunk) {
	if len(chunks) > 0 && (chunks[0].lines == max || len(chunks) == 1 && chunks[0].lines < max) {
		return chunks[0].data, chunks[1:] // one poll's lines as they are
	}
	var out []byte
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
	data, err := batch.MarshalAs(wire.Zstd)
	if err != nil {
		return err
	}
	return b.spool.Append(data, batch.Lines())
}

// maxHeldBatches bounds how much the batcher keeps in memory while the spool
// cannot take batches (disk full): beyond it the oldest samples are dropped
// and logged, so a full disk cannot exhaust memory.
const maxHeldBatches = 20

func (b *batcher) requeue(chunks []chunk, inv []kpi.Inventory) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.chunks = append(chunks, b.chunks...)
	b.inv = append(inv, b.inv...)
	b.lines = 0
	for _, c := range b.chunks {
		b.lines += c.lines
	}
	held := maxHeldBatches * b.maxLines
	if n := b.lines - held; n > 0 {
		_, b.chunks = cut(b.chunks, n)
		b.lines -= n
		b.dropped("memory_bound", n)
		b.log.Error("spool unavailable and memory buffer full: dropped oldest samples", "dropped", n)
	}
	if n := len(b.inv) - held; n > 0 {
		b.inv = b.inv[n:]
	}
}

func (b *batcher) dropped(reason string, n int) {
	if b.onDrop != nil && n > 0 {
		b.onDrop(reason, n)
	}
}
