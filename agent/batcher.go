package agent

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/kpilot/kpilot/agent/spool"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/wire"
)

// batcher gathers samples in memory and cuts them into spooled batches
// every flush interval, or sooner when maxLines are waiting. Samples become
// durable when their batch is appended to the spool.
type batcher struct {
	spool    *spool.Disk
	log      *slog.Logger
	maxLines int
	onSpool  func(samples int)
	onDrop   func(reason string, samples int) // may be nil

	mu      sync.Mutex
	samples []kpi.Sample
	inv     []kpi.Inventory
	full    chan struct{}
}

func newBatcher(sp *spool.Disk, maxLines int, log *slog.Logger, onSpool func(int)) *batcher {
	return &batcher{spool: sp, log: log, maxLines: maxLines, onSpool: onSpool, full: make(chan struct{}, 1)}
}

func (b *batcher) Sample(s kpi.Sample) {
	b.mu.Lock()
	b.samples = append(b.samples, s)
	n := len(b.samples)
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
// If the spool cannot take a batch (disk full), its samples are kept in
// memory for the next flush rather than lost.
func (b *batcher) flush() {
	b.mu.Lock()
	samples, inv := b.samples, b.inv
	b.samples, b.inv = nil, nil
	b.mu.Unlock()
	for len(samples) > 0 || len(inv) > 0 {
		n := min(len(samples), b.maxLines)
		batch, err := wire.NewBatch(samples[:n], inv)
		if err != nil {
			left := n
			if batch != nil {
				left = n - batch.Lines()
			}
			b.dropped("invalid", left)
			b.log.Error("some samples were invalid and left out of the batch", "samples", left, "err", err)
		}
		if batch != nil {
			if err := b.store(batch); err != nil {
				b.log.Error("spooling batch; keeping its samples in memory for the next try", "err", err)
				b.requeue(samples, inv)
				return
			}
			b.onSpool(batch.Lines())
		}
		samples, inv = samples[n:], nil
	}
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

func (b *batcher) requeue(samples []kpi.Sample, inv []kpi.Inventory) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.samples = append(samples, b.samples...)
	b.inv = append(inv, b.inv...)
	held := maxHeldBatches * b.maxLines
	if n := len(b.samples) - held; n > 0 {
		b.dropped("memory_bound", n)
		b.log.Error("spool unavailable and memory buffer full: dropped oldest samples", "dropped", n)
		b.samples = b.samples[n:]
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
