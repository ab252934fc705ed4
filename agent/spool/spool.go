// Package spool is the agent's on-disk queue of batches waiting for the
// server.
//
// Batches are records appended to segment files. A record carries its
// sequence number, the number of samples in it and a CRC-32C, so a reader
// can tell a whole record from a torn or damaged one:
//
//	magic "KPR1" | crc32c | seq uint64 | samples uint32 | length uint32 | payload
//
// The CRC covers everything after it. Segments are named by the sequence
// number of their first record and rolled when they pass the segment size.
// Delivery is in order and at least once: the shipper peeks the oldest
// record and acknowledges it once the server has stored it; the last
// acknowledged sequence number is kept in the file "acked", and a segment
// is removed when all its records are acknowledged; the segment being
// written is emptied in place instead, so that delivered space comes back
// even when it is the only one. A crash between delivery and
// acknowledgement sends the batch again, which the server recognises by
// the batch id.
//
// A full disk must not make delivery forget what it delivered: "acked" has
// a fixed size and is overwritten in place, which needs no new space, so
// it is recorded even when nothing else can be written.
//
// With the fsync policy "always" (the default) a batch counts as buffered
// only once Append has returned: it is then on disk, fsynced, and survives
// kill -9 and power loss. "interval" fsyncs at most every FsyncInterval
// (faster on slow disks; a power loss, not a kill, may cost that much) and
// "never" leaves it to the operating system.
//
// A record torn by a crash during Append is cut off at the next Open; it
// never counted as buffered. A damaged record elsewhere (a bad sector, a
// hand edit) is skipped and counted, its bytes copied to corrupt/ for a
// look, and the records after it are still delivered. When the queue
// passes its size bound the oldest segment is dropped, counted and logged:
// after a very long outage the newest data is the most useful.
package spool

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kpilot/kpilot/internal/atomicfile"
)

const (
	magic      = "KPR1"
	headerSize = 4 + 4 + 8 + 4 + 4 // magic, crc32c, seq, samples, length
	segSuffix  = ".seg"
	ackedFile  = "acked"
	// ackedSize is the fixed size of the acknowledgement file: a sequence
	// number as 20 decimal digits and a newline, overwritten in place.
	ackedSize = 21

	// MaxRecord bounds one batch; a length above it in a header is damage.
	MaxRecord = 256 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrEmpty is returned by Peek when no batch is waiting.
var ErrEmpty = errors.New("spool is empty")

// FsyncPolicy says when appended records are forced to disk.
type FsyncPolicy string

// The fsync policies.
const (
	FsyncAlways   FsyncPolicy = "always"
	FsyncInterval FsyncPolicy = "interval"
	FsyncNever    FsyncPolicy = "never"
)

// Options configure a spool. Zero values take the defaults.
type Options struct {
	MaxBytes      int64         // size bound of all segments; default 512 MiB
	SegmentBytes  int64         // a segment is rolled past this size; default 8 MiB
	Fsync         FsyncPolicy   // default always
	FsyncInterval time.Duration // for FsyncInterval; default 1s
	Log           *slog.Logger
}

// Entry is one stored batch.
type Entry struct {
	Seq     uint64
	Samples int
	Data    []byte
}

// Stats are the queue's state and its counters since Open, for metrics.
type Stats struct {
	Batches        int   // waiting now
	Samples        int64 // in the waiting batches
	Bytes          int64 // on disk now
	Segments       int   // segment files now
	DroppedBatches uint64
	DroppedSamples uint64 // removed by the size bound
	DroppedBytes   uint64
	CorruptBatches uint64 // damaged records skipped
	CorruptBytes   uint64
	Fsyncs         uint64
}

// record locates one batch in a segment.
type record struct {
	seq     uint64
	samples int
	off     int64 // of the header
	size    int64 // header and payload
}

type segment struct {
	first   uint64 // names the file
	path    string
	size    int64
	records []record // not yet acknowledged, in order
}

// Disk is the on-disk queue. Safe for concurrent use: the batcher appends
// while the shipper peeks and acknowledges.
type Disk struct {
	dir  string
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	segs     []*segment // oldest first; the last one is written to
	active   *os.File   // the last segment, open for appending
	next     uint64
	acked    uint64
	dirty    bool // written since the last fsync
	lastSync time.Time
	stats    Stats
	notify   chan struct{}
	closed   bool
	ackedF   *os.File // open for overwriting in place; nil until it could be made
}

// Open opens (creating if needed) the queue in dir. It reads every segment
// once to check its records, so that damage is found and reported at start
// rather than at delivery.
func Open(dir string, o Options) (*Disk, error) {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 512 << 20
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 8 << 20
	}
	o.SegmentBytes = min(o.SegmentBytes, o.MaxBytes)
	switch o.Fsync {
	case "":
		o.Fsync = FsyncAlways
	case FsyncAlways, FsyncInterval, FsyncNever:
	default:
		return nil, fmt.Errorf("fsync policy %q: must be always, interval or never", o.Fsync)
	}
	if o.FsyncInterval <= 0 {
		o.FsyncInterval = time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating spool directory: %w", err)
	}
	d := &Disk{dir: dir, opts: o, log: o.Log, next: 1, notify: make(chan struct{}, 1)}
	if err := d.load(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Disk) load() error {
	if b, err := os.ReadFile(filepath.Join(d.dir, ackedFile)); err == nil {
		d.acked, err = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			d.log.Warn("spool acknowledgement file unreadable; batches may be sent twice (the server drops repeats)",
				"file", filepath.Join(d.dir, ackedFile), "err", err)
			d.acked = 0
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading spool acknowledgements: %w", err)
	}
	d.next = d.acked + 1

	des, err := os.ReadDir(d.dir)
	if err != nil {
		return fmt.Errorf("reading spool directory: %w", err)
	}
	for _, de := range des {
		name := de.Name()
		switch {
		case de.IsDir() || name == ackedFile:
		case strings.HasPrefix(name, "."):
			os.Remove(filepath.Join(d.dir, name)) // a torn acknowledgement write
		case strings.HasSuffix(name, segSuffix):
			first, err := strconv.ParseUint(strings.TrimSuffix(name, segSuffix), 10, 64)
			if err != nil {
				d.log.Warn("ignoring unexpected file in spool directory", "file", filepath.Join(d.dir, name))
				continue
			}
			d.segs = append(d.segs, &segment{first: first, path: filepath.Join(d.dir, name)})
		default:
			d.log.Warn("ignoring unexpected file in spool directory", "file", filepath.Join(d.dir, name))
		}
	}
	slices.SortFunc(d.segs, func(a, b *segment) int { return cmp.Compare(a.first, b.first) })
	for i, s := range d.segs {
		if err := d.scan(s, i == len(d.segs)-1); err != nil {
			return err
		}
	}
	// Segments whose records were all delivered are removed now.
	kept := d.segs[:0]
	for i, s := range d.segs {
		if len(s.records) == 0 && i < len(d.segs)-1 {
			if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("removing delivered spool segment: %w", err)
			}
			continue
		}
		kept = append(kept, s)
	}
	d.segs = kept
	// The last segment stays (it is written to next) but, delivered, it
	// need not hold space: on a full disk that space is what lets spooling
	// go on.
	if n := len(d.segs); n > 0 && len(d.segs[n-1].records) == 0 && d.segs[n-1].size > 0 {
		if err := os.Truncate(d.segs[n-1].path, 0); err != nil {
			return fmt.Errorf("emptying delivered spool segment: %w", err)
		}
		d.segs[n-1].size = 0
	}
	d.recount()
	if err := d.openAcked(); err != nil {
		d.log.Warn("delivered batches may be sent again after a restart until the spool can record them", "err", err)
	}
	return nil
}

// openAcked opens the acknowledgement file for overwriting in place. A
// file of another size (an older agent's, or none yet) is first replaced
// whole by one of the fixed size; that needs a little space, so on a disk
// that is already full it is tried again at the next Ack. Called with mu
// held, or before the Disk is shared.
func (d *Disk) openAcked() error {
	path := filepath.Join(d.dir, ackedFile)
	if fi, err := os.Stat(path); err != nil || fi.Size() != ackedSize {
		if err := atomicfile.WriteFile(path, ackedBytes(d.acked), 0o600); err != nil {
			return fmt.Errorf("creating the spool acknowledgement file: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("opening the spool acknowledgement file: %w", err)
	}
	d.ackedF = f
	return nil
}

func ackedBytes(seq uint64) []byte { return fmt.Appendf(nil, "%020d\n", seq) }

// scan reads a segment, keeps its unacknowledged records and handles
// damage. In the last segment, an invalid tail with nothing valid after it
// is an Append torn by a crash: it is cut off.
func (d *Disk) scan(s *segment, last bool) error {
	buf, err := os.ReadFile(s.path)
	if err != nil {
		return fmt.Errorf("reading spool segment: %w", err)
	}
	off := 0
	for off < len(buf) {
		r, ok := parseAt(buf, off)
		if ok {
			d.next = max(d.next, r.seq+1)
			if r.seq > d.acked {
				s.records = append(s.records, r)
			}
			off += int(r.size)
			continue
		}
		resync := nextValid(buf, off+1)
		if resync < 0 {
			if last {
				d.log.Info("cutting off a batch torn by a crash during its write; it was never reported as spooled",
					"segment", s.path, "offset", off, "bytes", len(buf)-off)
				if err := os.Truncate(s.path, int64(off)); err != nil {
					return fmt.Errorf("truncating torn spool segment: %w", err)
				}
				buf = buf[:off]
				break
			}
			resync = len(buf)
		}
		d.corrupt(s, buf[off:resync], int64(off))
		off = resync
	}
	s.size = int64(len(buf))
	return nil
}

// corrupt counts and logs a damaged stretch of a segment and keeps a copy.
func (d *Disk) corrupt(s *segment, bad []byte, off int64) {
	dst := filepath.Join(d.dir, "corrupt", fmt.Sprintf("%s.%d", filepath.Base(s.path), off))
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err == nil {
		_ = os.WriteFile(dst, bad, 0o600)
	}
	d.stats.CorruptBatches++
	d.stats.CorruptBytes += uint64(len(bad))
	d.log.Error("skipping damaged data in the spool; the batches after it are still delivered",
		"segment", s.path, "offset", off, "bytes", len(bad), "copied_to", dst)
}

// parseAt decodes the record at off if it is whole and its CRC matches.
func parseAt(buf []byte, off int) (record, bool) {
	if len(buf)-off < headerSize || string(buf[off:off+4]) != magic {
		return record{}, false
	}
	h := buf[off:]
	n := binary.BigEndian.Uint32(h[20:])
	if n > MaxRecord || len(h)-headerSize < int(n) {
		return record{}, false
	}
	if crc32.Checksum(h[8:headerSize+int(n)], castagnoli) != binary.BigEndian.Uint32(h[4:]) {
		return record{}, false
	}
	return record{
		seq:     binary.BigEndian.Uint64(h[8:]),
		samples: int(binary.BigEndian.Uint32(h[16:])),
		off:     int64(off),
		size:    int64(headerSize) + int64(n),
	}, true
}

// nextValid finds the next whole record at or after from, or -1.
func nextValid(buf []byte, from int) int {
	for from < len(buf) {
		i := bytes.Index(buf[from:], []byte(magic))
		if i < 0 {
			return -1
		}
		if _, ok := parseAt(buf, from+i); ok {
			return from + i
		}
		from += i + 1
	}
	return -1
}

func (d *Disk) recount() {
	d.stats.Batches, d.stats.Samples, d.stats.Bytes = 0, 0, 0
	for _, s := range d.segs {
		d.stats.Batches += len(s.records)
		d.stats.Bytes += s.size
		for _, r := range s.records {
			d.stats.Samples += int64(r.samples)
		}
	}
	d.stats.Segments = len(d.segs)
}

// Append stores data, holding samples samples, as the newest batch. With
// the fsync policy "always" the batch is on disk when Append returns nil.
// On an error (a full disk) nothing of the batch stays in the spool and
// the caller keeps it.
func (d *Disk) Append(data []byte, samples int) error {
	if len(data) > MaxRecord {
		return fmt.Errorf("spooling batch: %d bytes is more than the %d a batch may have", len(data), MaxRecord)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("spooling batch: spool is closed")
	}
	if err := d.ensureActive(int64(headerSize + len(data))); err != nil {
		return fmt.Errorf("spooling batch: %w", err)
	}
	seg := d.segs[len(d.segs)-1]
	rec := make([]byte, headerSize+len(data))
	copy(rec, magic)
	binary.BigEndian.PutUint64(rec[8:], d.next)
	binary.BigEndian.PutUint32(rec[16:], uint32(samples))
	binary.BigEndian.PutUint32(rec[20:], uint32(len(data)))
	copy(rec[headerSize:], data)
	binary.BigEndian.PutUint32(rec[4:], crc32.Checksum(rec[8:], castagnoli))

	if _, err := d.active.Write(rec); err != nil {
		// A short write (ENOSPC) leaves a partial record: cut it off so
		// the next Append starts clean.
		if terr := d.active.Truncate(seg.size); terr != nil {
			d.log.Error("cutting off a partial spool write", "segment", seg.path, "err", terr)
		}
		_, _ = d.active.Seek(seg.size, io.SeekStart)
		return fmt.Errorf("spooling batch: writing %s: %w", seg.path, err)
	}
	d.dirty = true
	if err := d.maybeSync(false); err != nil {
		if terr := d.active.Truncate(seg.size); terr == nil {
			_, _ = d.active.Seek(seg.size, io.SeekStart)
		}
		return fmt.Errorf("spooling batch: %w", err)
	}
	seg.records = append(seg.records, record{seq: d.next, samples: samples, off: seg.size, size: int64(len(rec))})
	seg.size += int64(len(rec))
	d.next++
	d.stats.Batches++
	d.stats.Samples += int64(samples)
	d.stats.Bytes += int64(len(rec))
	d.enforceBound()
	select {
	case d.notify <- struct{}{}:
	default:
	}
	return nil
}

// ensureActive opens the segment to write to, rolling to a new one when
// the current one would pass the segment size. Called with mu held.
func (d *Disk) ensureActive(recSize int64) error {
	if len(d.segs) > 0 && d.active == nil {
		s := d.segs[len(d.segs)-1]
		f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("opening spool segment: %w", err)
		}
		d.active = f
	}
	if d.active != nil {
		s := d.segs[len(d.segs)-1]
		if s.size == 0 || s.size+recSize <= d.opts.SegmentBytes {
			return nil
		}
		if err := d.closeActive(); err != nil {
			return err
		}
	}
	path := filepath.Join(d.dir, fmt.Sprintf("%020d%s", d.next, segSuffix))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("creating spool segment: %w", err)
	}
	if d.opts.Fsync != FsyncNever {
		if err := atomicfile.SyncDir(d.dir); err != nil {
			f.Close()
			os.Remove(path)
			return err
		}
	}
	d.active = f
	d.segs = append(d.segs, &segment{first: d.next, path: path})
	d.stats.Segments = len(d.segs)
	return nil
}

// closeActive syncs and closes the segment being written. Called with mu
// held.
func (d *Disk) closeActive() error {
	if d.active == nil {
		return nil
	}
	err := d.maybeSync(true)
	if cerr := d.active.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("closing spool segment: %w", cerr)
	}
	d.active = nil
	return err
}

// maybeSync fsyncs the active segment as the policy says, or always when
// force is set (except under "never"). Called with mu held.
func (d *Disk) maybeSync(force bool) error {
	if !d.dirty || d.active == nil {
		return nil
	}
	switch d.opts.Fsync {
	case FsyncNever:
		return nil
	case FsyncInterval:
		if !force && time.Since(d.lastSync) < d.opts.FsyncInterval {
			return nil
		}
	}
	if err := d.active.Sync(); err != nil {
		return fmt.Errorf("fsync of spool segment: %w", err)
	}
	d.dirty = false
	d.lastSync = time.Now()
	d.stats.Fsyncs++
	return nil
}

// Sync forces what was appended to disk (for the "interval" policy, at
// shutdown and from a ticker).
func (d *Disk) Sync() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.maybeSync(true)
}

// enforceBound drops the oldest segments until the queue fits, keeping the
// one being written. Called with mu held.
func (d *Disk) enforceBound() {
	for d.stats.Bytes > d.opts.MaxBytes && len(d.segs) > 1 {
		s := d.segs[0]
		if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			d.log.Error("dropping oldest spool segment", "segment", s.path, "err", err)
			return
		}
		d.segs = d.segs[1:]
		var samples int64
		for _, r := range s.records {
			samples += int64(r.samples)
		}
		d.stats.DroppedBatches += uint64(len(s.records))
		d.stats.DroppedSamples += uint64(samples)
		d.stats.DroppedBytes += uint64(s.size)
		d.recount()
		d.log.Warn("spool full: dropped the oldest batches", "batches", len(s.records), "samples", samples,
			"bytes", s.size, "max_bytes", d.opts.MaxBytes)
	}
}

// Notify returns a channel that receives a value after an Append.
func (d *Disk) Notify() <-chan struct{} { return d.notify }

// Peek returns the oldest batch without removing it. A record damaged since
// Open is skipped, counted and logged, and the next one returned. ErrEmpty
// means nothing waits.
func (d *Disk) Peek() (Entry, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.segs {
		for len(s.records) > 0 {
			r := s.records[0]
			e, err := d.read(s, r)
			if err == nil {
				return e, nil
			}
			if !errors.Is(err, errCorrupt) {
				return Entry{}, err
			}
			d.corrupt(s, rawAt(s.path, r), r.off)
			d.dropRecord(s)
		}
	}
	return Entry{}, ErrEmpty
}

var errCorrupt = errors.New("damaged spool record")

func (d *Disk) read(s *segment, r record) (Entry, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return Entry{}, fmt.Errorf("reading spool segment: %w", err)
	}
	defer f.Close()
	buf := make([]byte, r.size)
	if _, err := f.ReadAt(buf, r.off); err != nil {
		return Entry{}, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	got, ok := parseAt(buf, 0)
	if !ok || got.seq != r.seq {
		return Entry{}, errCorrupt
	}
	return Entry{Seq: r.seq, Samples: r.samples, Data: buf[headerSize:]}, nil
}

// rawAt returns the bytes where r was, for the copy in corrupt/.
func rawAt(path string, r record) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	buf := make([]byte, r.size)
	n, _ := f.ReadAt(buf, r.off)
	return buf[:n]
}

// dropRecord forgets the oldest record of s. Called with mu held.
func (d *Disk) dropRecord(s *segment) {
	r := s.records[0]
	s.records = s.records[1:]
	d.stats.Batches--
	d.stats.Samples -= int64(r.samples)
}

// Ack records that the batch seq was delivered: it and every batch before
// it leave the queue. A segment whose batches are all delivered is
// removed. Acknowledging a batch that is already gone (dropped by the size
// bound while in flight) is not an error.
func (d *Disk) Ack(seq uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if seq <= d.acked {
		return nil
	}
	for _, s := range d.segs {
		for len(s.records) > 0 && s.records[0].seq <= seq {
			d.dropRecord(s)
		}
	}
	d.acked = seq
	// The acknowledgement need not be durable: if it is lost, the batches
	// since the last one that was are sent again and the server drops the
	// repeats. It is written before segments are removed or emptied, so
	// that a restart never finds delivered batches it does not know of.
	if err := d.writeAcked(seq); err != nil {
		d.log.Warn("could not record the delivered batch; it may be sent again after a restart", "seq", seq, "err", err)
	}
	// Delivered segments go; the one being written stays, so a server that
	// keeps up does not cost a file per batch, but is emptied in place:
	// delivered space always comes back, which on a full disk is what
	// lets spooling go on.
	for len(d.segs) > 1 && len(d.segs[0].records) == 0 {
		s := d.segs[0]
		if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing delivered spool segment: %w", err)
		}
		d.segs = d.segs[1:]
		d.stats.Bytes -= s.size
	}
	if n := len(d.segs); n > 0 && len(d.segs[n-1].records) == 0 && d.segs[n-1].size > 0 {
		if err := d.empty(d.segs[n-1]); err != nil {
			return err
		}
	}
	d.stats.Segments = len(d.segs)
	return nil
}

// empty truncates the segment being written, all of whose records were
// delivered. Called with mu held.
func (d *Disk) empty(s *segment) error {
	var err error
	if d.active != nil {
		err = d.active.Truncate(0) // appends (O_APPEND) start again at 0
	} else {
		err = os.Truncate(s.path, 0)
	}
	if err != nil {
		return fmt.Errorf("emptying delivered spool segment: %w", err)
	}
	d.stats.Bytes -= s.size
	s.size = 0
	return nil
}

// writeAcked records seq by overwriting the fixed-size acknowledgement
// file in place. Called with mu held.
func (d *Disk) writeAcked(seq uint64) error {
	if d.ackedF == nil {
		if err := d.openAcked(); err != nil {
			return fmt.Errorf("recording delivered batch: %w", err)
		}
	}
	if _, err := d.ackedF.WriteAt(ackedBytes(seq), 0); err != nil {
		return fmt.Errorf("recording delivered batch: %w", err)
	}
	return nil
}

// Stats returns a snapshot of the state and counters.
func (d *Disk) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// Close syncs and closes the segment being written.
func (d *Disk) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if d.ackedF != nil {
		d.ackedF.Close()
		d.ackedF = nil
	}
	return d.closeActive()
}
