package spool

import (
	"bytes"
	"testing"
)

// The batcher cuts a batch every flush interval or at max_batch_lines; a
// gzip-compressed batch of 5000 lines is about 64 KiB. See bench/README.md
// for the figures and how to reproduce them.
const benchBatch = 64 << 10

func BenchmarkAppend(b *testing.B) {
	for _, p := range []FsyncPolicy{FsyncAlways, FsyncInterval, FsyncNever} {
		b.Run(string(p), func(b *testing.B) {
			d, err := Open(b.TempDir(), Options{MaxBytes: 1 << 40, Fsync: p})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			data := bytes.Repeat([]byte{'x'}, benchBatch)
			b.SetBytes(benchBatch)
			b.ReportAllocs()
			for b.Loop() {
				if err := d.Append(data, 5000); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReplay is the shipper's side after an outage: peek the oldest
// batch and acknowledge it, through the whole spool.
func BenchmarkReplay(b *testing.B) {
	d, err := Open(b.TempDir(), Options{MaxBytes: 1 << 40, Fsync: FsyncNever})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	data := bytes.Repeat([]byte{'x'}, benchBatch)
	for range b.N {
		if err := d.Append(data, 5000); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(benchBatch)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		e, err := d.Peek()
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Ack(e.Seq); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen is the start after an outage: every segment is read and
// checked once.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	d, err := Open(dir, Options{MaxBytes: 1 << 40, Fsync: FsyncNever})
	if err != nil {
		b.Fatal(err)
	}
	data := bytes.Repeat([]byte{'x'}, benchBatch)
	const n = 1024 // 64 MiB
	for range n {
		if err := d.Append(data, 5000); err != nil {
			b.Fatal(err)
		}
	}
	d.Close()
	b.SetBytes(n * benchBatch)
	for b.Loop() {
		d, err := Open(dir, Options{MaxBytes: 1 << 40})
		if err != nil {
			b.Fatal(err)
		}
		d.Close()
	}
}
