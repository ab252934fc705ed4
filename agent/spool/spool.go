// Package spool is the agent's on-disk queue of batches waiting for the
// server. A batch counts as buffered only once Append has returned: it is
// then on disk, fsynced, and survives kill -9 and power loss.
//
// Each batch is one file named by a sequence number, so delivery is in
// order and removal is a single unlink. A file starts with a header holding
// a CRC-32C of the payload; a file that fails the check (a torn disk, a
// hand edit) is moved to corrupt/ with a log line, counted, and skipped,
// and the rest is still delivered. When the queue passes its size bound the
// oldest batches are dropped, counted and logged: after a very long outage
// the newest data is the most useful.
package spool

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/kpilot/kpilot/internal/atomicfile"
)

const (
	magic      = "KPB1"
	headerSize = 4 + 4 + 4 // magic, crc32c, payload length
	suffix     = ".batch"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrEmpty is returned by Peek when no batch is waiting.
var ErrEmpty = errors.New("spool is empty")

// Entry is one stored batch.
type Entry struct {
	Seq  uint64
	Data []byte
}

// Stats are the queue's counters since Open, for metrics.
type Stats struct {
	Batches        int    // waiting now
	Bytes          int64  // on disk now
	DroppedBatches uint64 // removed by the size bound
	DroppedBytes   uint64
	CorruptBatches uint64 // moved to corrupt/
}

// Disk is the on-disk queue. Safe for concurrent use: collectors' batches
// are appended while the shipper peeks and acks.
type Disk struct {
	dir      string
	maxBytes int64
	log      *slog.Logger

	mu      sync.Mutex
	entries []meta // in sequence order
	next    uint64
	stats   Stats
	notify  chan struct{}
}

type meta struct {
	seq  uint64
	size int64
}

// Open opens (creating if needed) the queue in dir, bounded to maxBytes.
// Leftover temporary files from a crash during Append are removed: their
// batches never counted as buffered.
func Open(dir string, maxBytes int64, log *slog.Logger) (*Disk, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating spool directory: %w", err)
	}
	d := &Disk{dir: dir, maxBytes: maxBytes, log: log, next: 1, notify: make(chan struct{}, 1)}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading spool directory: %w", err)
	}
	for _, de := range des {
		name := de.Name()
		switch {
		case de.IsDir():
			continue
		case strings.HasPrefix(name, "."):
			os.Remove(filepath.Join(dir, name)) // torn Append
		case strings.HasSuffix(name, suffix):
			seq, err := strconv.ParseUint(strings.TrimSuffix(name, suffix), 10, 64)
			if err != nil {
				log.Warn("ignoring unexpected file in spool directory", "file", filepath.Join(dir, name))
				continue
			}
			info, err := de.Info()
			if err != nil {
				return nil, fmt.Errorf("reading spool directory: %w", err)
			}
			d.entries = append(d.entries, meta{seq: seq, size: info.Size()})
			d.stats.Bytes += info.Size()
			d.next = max(d.next, seq+1)
		}
	}
	slices.SortFunc(d.entries, func(a, b meta) int { return cmp.Compare(a.seq, b.seq) })
	d.stats.Batches = len(d.entries)
	return d, nil
}

func (d *Disk) path(seq uint64) string {
	return filepath.Join(d.dir, fmt.Sprintf("%020d%s", seq, suffix))
}

// Append stores data durably as the newest batch. When it returns nil the
// batch is on disk.
func (d *Disk) Append(data []byte) error {
	buf := make([]byte, headerSize+len(data))
	copy(buf, magic)
	binary.BigEndian.PutUint32(buf[4:], crc32.Checksum(data, castagnoli))
	binary.BigEndian.PutUint32(buf[8:], uint32(len(data)))
	copy(buf[headerSize:], data)

	d.mu.Lock()
	seq := d.next
	d.next++
	d.mu.Unlock()

	// The write happens outside the lock so that a slow disk does not stall
	// the shipper; the entry becomes visible only after it is durable.
	if err := atomicfile.WriteFile(d.path(seq), buf, 0o600); err != nil {
		return fmt.Errorf("spooling batch: %w", err)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	i, _ := slices.BinarySearchFunc(d.entries, seq, func(m meta, s uint64) int { return cmp.Compare(m.seq, s) })
	d.entries = slices.Insert(d.entries, i, meta{seq: seq, size: int64(len(buf))})
	d.stats.Bytes += int64(len(buf))
	d.stats.Batches = len(d.entries)
	d.enforceBound()
	select {
	case d.notify <- struct{}{}:
	default:
	}
	return nil
}

// enforceBound drops the oldest batches until the queue fits, keeping at
// least the newest one. Called with mu held.
func (d *Disk) enforceBound() {
	for d.stats.Bytes > d.maxBytes && len(d.entries) > 1 {
		m := d.entries[0]
		if err := os.Remove(d.path(m.seq)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			d.log.Error("dropping oldest spooled batch", "seq", m.seq, "err", err)
			return
		}
		d.entries = d.entries[1:]
		d.stats.Bytes -= m.size
		d.stats.DroppedBatches++
		d.stats.DroppedBytes += uint64(m.size)
		d.stats.Batches = len(d.entries)
		d.log.Warn("spool full: dropped oldest batch", "seq", m.seq, "bytes", m.size, "max_bytes", d.maxBytes)
	}
}

// Notify returns a channel that receives a value after an Append.
func (d *Disk) Notify() <-chan struct{} { return d.notify }

// Peek returns the oldest batch without removing it. A corrupt batch is
// quarantined and the next one returned. ErrEmpty means nothing waits.
func (d *Disk) Peek() (Entry, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.entries) > 0 {
		m := d.entries[0]
		data, err := d.read(m.seq)
		if err == nil {
			return Entry{Seq: m.seq, Data: data}, nil
		}
		if errors.Is(err, errCorrupt) {
			d.quarantine(m, err)
			continue
		}
		return Entry{}, err
	}
	return Entry{}, ErrEmpty
}

var errCorrupt = errors.New("corrupt batch file")

func (d *Disk) read(seq uint64) ([]byte, error) {
	buf, err := os.ReadFile(d.path(seq))
	if err != nil {
		return nil, fmt.Errorf("reading spooled batch %d: %w", seq, err)
	}
	if len(buf) < headerSize || string(buf[:4]) != magic {
		return nil, fmt.Errorf("%w: bad header", errCorrupt)
	}
	n := binary.BigEndian.Uint32(buf[8:])
	payload := buf[headerSize:]
	if int(n) != len(payload) {
		return nil, fmt.Errorf("%w: length %d, header says %d", errCorrupt, len(payload), n)
	}
	if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(buf[4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	return payload, nil
}

// quarantine moves a corrupt file aside so that an operator can look at it.
// Called with mu held.
func (d *Disk) quarantine(m meta, cause error) {
	dst := filepath.Join(d.dir, "corrupt", filepath.Base(d.path(m.seq)))
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err == nil {
		err = os.Rename(d.path(m.seq), dst)
		if err != nil {
			os.Remove(d.path(m.seq))
		}
	}
	d.entries = d.entries[1:]
	d.stats.Bytes -= m.size
	d.stats.Batches = len(d.entries)
	d.stats.CorruptBatches++
	d.log.Error("skipping corrupt spooled batch; moved it aside, the rest is delivered",
		"seq", m.seq, "moved_to", dst, "err", cause)
}

// Ack removes a delivered batch. Acking a batch that is already gone (it was
// dropped by the size bound while in flight) is not an error.
func (d *Disk) Ack(seq uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	i, found := slices.BinarySearchFunc(d.entries, seq, func(m meta, s uint64) int { return cmp.Compare(m.seq, s) })
	if !found {
		return nil
	}
	if err := os.Remove(d.path(seq)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing delivered batch %d: %w", seq, err)
	}
	d.stats.Bytes -= d.entries[i].size
	d.entries = slices.Delete(d.entries, i, i+1)
	d.stats.Batches = len(d.entries)
	return nil
}

// Stats returns a snapshot of the counters.
func (d *Disk) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}
