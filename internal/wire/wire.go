// Package wire is the only contract between kpilot-agent and kpilot-server:
// the batch an agent ships to POST /api/v1/ingest.
//
// A batch is compressed with gzip or zstd (its HTTP Content-Encoding;
// Decode tells them apart by their magic numbers). Version 2, which this build writes, is a
// JSON header on the first line ({"version":2,"id":…,"inventory":[…]})
// followed by the samples as InfluxDB line protocol (one line per sample,
// tagged with the agent-side asset id under AssetTag) up to the end. The
// samples are not a JSON string, so neither side escapes or scans them
// byte by byte. Version 1, a single JSON document with the samples in a
// "samples" string, is still read (batches spooled by older agents).
// Every batch has an ID chosen by the agent; the server remembers IDs it
// has stored, so a retried batch is acknowledged without being written
// twice.
package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/google/uuid"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/kpilot/kpilot/internal/kpi"
)

// Version is the batch format version this build writes. Decode reads
// versions 1 and 2.
const Version = 2

// AssetTag is the line-protocol tag that carries the agent-side asset id.
const AssetTag = "asset"

// Header names used by the ingest endpoint.
const (
	ContentType = "application/vnd.kpilot.batch"
	// ContentTypeV1 is what agents that wrote version 1 send.
	ContentTypeV1 = "application/vnd.kpilot.batch.v1+json"
	HeaderBatchID = "Kpilot-Batch-Id"
)

// Content codings of a marshalled batch, as named in HTTP's
// Content-Encoding. Every server takes Gzip; servers since 2026-11 also
// take Zstd, which costs them about half as much CPU to decompress, and
// say so with AcceptEncoding on their ingest answers (RFC 7694).
const (
	Gzip = "gzip"
	Zstd = "zstd"
	// AcceptEncoding is the server's Accept-Encoding answer header.
	AcceptEncoding = Zstd + ", " + Gzip
)

// Coding reports the content coding of a marshalled batch from its
// magic number: Gzip, Zstd, or "" for neither.
func Coding(data []byte) string {
	switch {
	case len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b:
		return Gzip
	case len(data) >= 4 && data[0] == 0x28 && data[1] == 0xb5 && data[2] == 0x2f && data[3] == 0xfd:
		return Zstd
	}
	return ""
}

// Accepts reports whether an Accept-Encoding header value lists coding
// with a non-zero weight.
func Accepts(header, coding string) bool {
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(name), coding) {
			continue
		}
		q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		return !ok || strings.Trim(q, "0.") != ""
	}
	return false
}

// Batch is one unit of shipping and of acknowledgement.
type Batch struct {
	Version   int             `json:"version"`
	ID        string          `json:"id"`
	Samples   string          `json:"samples,omitempty"` // line protocol, nanosecond precision; after the header in version 2
	Inventory []kpi.Inventory `json:"inventory,omitempty"`
}

// Lines reports the number of samples in the batch.
func (b *Batch) Lines() int { return strings.Count(b.Samples, "\n") }

// Marshal returns the gzip-compressed form sent on the wire and kept in
// the agent's spool, in the batch's version (2 unless set to 1). Gzip is
// what every server takes; MarshalAs chooses the coding.
func (b *Batch) Marshal() ([]byte, error) { return b.MarshalAs(Gzip) }

// MarshalAs is Marshal in the given content coding, Gzip or Zstd.
func (b *Batch) MarshalAs(coding string) ([]byte, error) {
	var buf bytes.Buffer
	if err := b.write(&buf); err != nil {
		return nil, fmt.Errorf("encoding batch %s: %w", b.ID, err)
	}
	out, err := compress(buf.Bytes(), coding)
	if err != nil {
		return nil, fmt.Errorf("compressing batch %s: %w", b.ID, err)
	}
	return out, nil
}

// AppendMarshal is MarshalAs appending to dst, with scratch as room for
// the uncompressed batch; it returns both, grown as needed, for the next
// batch. A caller marshalling batch after batch (the agent's batcher) so
// reuses two buffers instead of allocating them for every batch. With
// Gzip, dst is not used.
func (b *Batch) AppendMarshal(dst, scratch []byte, coding string) (out, scratchOut []byte, err error) {
	buf := bytes.NewBuffer(scratch[:0])
	if err := b.write(buf); err != nil {
		return dst, scratch, fmt.Errorf("encoding batch %s: %w", b.ID, err)
	}
	raw := buf.Bytes()
	if coding == Zstd {
		enc, err := zstdEncoder()
		if err != nil {
			return dst, raw, fmt.Errorf("compressing batch %s: %w", b.ID, err)
		}
		return enc.EncodeAll(raw, dst), raw, nil
	}
	out, err = compress(raw, coding)
	if err != nil {
		return dst, raw, fmt.Errorf("compressing batch %s: %w", b.ID, err)
	}
	return out, raw, nil
}

// Recode returns a marshalled batch in another content coding, without
// decoding the batch itself: the agent spools zstd and sends gzip to a
// server that has not said it takes zstd.
func Recode(data []byte, coding string) ([]byte, error) {
	if Coding(data) == coding {
		return data, nil
	}
	var d Decoder
	raw, err := d.decompress(data, "", 1<<40)
	if err != nil {
		return nil, err
	}
	return compress(raw, coding)
}

func compress(raw []byte, coding string) ([]byte, error) {
	switch coding {
	case Gzip:
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(raw); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	case Zstd:
		enc, err := zstdEncoder()
		if err != nil {
			return nil, err
		}
		return enc.EncodeAll(raw, make([]byte, 0, len(raw)/4)), nil
	}
	return nil, fmt.Errorf("unknown content coding %q (want %s or %s)", coding, Gzip, Zstd)
}

// zstdEncoder is the process's one zstd encoder: EncodeAll may be called
// concurrently, and an encoder's state is too large to make per batch.
var zstdEncoder = sync.OnceValues(newZstdEncoder)

// newZstdEncoder makes the encoder of batches, sized for the agent, the
// one program that compresses them: one encoder state (concurrency 1;
// concurrent calls wait their turn, and the agent compresses one batch at
// a time), and a window of 1 MiB, which holds a whole batch of the
// agent's default 5,000 lines. Each state keeps a history of about twice
// its window: with the default concurrency (GOMAXPROCS) and an 8 MiB
// window that was 16 MiB a state, most of the running agent's heap.
// Windows stay within 8 MB, which every decoder must support (RFC 8878).
func newZstdEncoder() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithWindowSize(zstdEncodeWindow),
		zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
}

// zstdEncodeWindow is the window batches are compressed with.
const zstdEncodeWindow = 1 << 20

// zstdMaxWindow is the largest window a batch may have been compressed
// with (other encoders than this one may use up to 8 MB).
const zstdMaxWindow = 8 << 20

func (b *Batch) write(w io.Writer) error {
	if b.Version == 1 {
		return json.NewEncoder(w).Encode(b)
	}
	header := *b
	header.Version, header.Samples = 2, ""
	if err := json.NewEncoder(w).Encode(header); err != nil { // ends with a newline
		return err
	}
	_, err := io.WriteString(w, b.Samples)
	return err
}

// ErrTooLarge is returned by Decode when the decompressed batch exceeds the
// limit: the server answers 413 and the agent splits the batch.
var ErrTooLarge = errors.New("batch exceeds the decompressed size limit")

// Decode reads a compressed batch (gzip or zstd, told apart by the magic
// number) from r, refusing to decompress more than maxBytes (a
// decompression bomb stops at the limit, it is never held in memory), and
// checks its version and ID.
func Decode(r io.Reader, maxBytes int64) (*Batch, error) {
	var d Decoder
	b, err := d.Decode(r, "", maxBytes)
	if err != nil {
		return nil, err
	}
	b.Samples = strings.Clone(b.Samples) // d's buffer is not kept
	return b, nil
}

// A Decoder decodes batches as Decode does, reusing its decompressor and
// its buffer from one batch to the next. The Samples of a batch it returns
// share that buffer: they are valid until the decoder's next Decode. The
// zero value is ready to use.
type Decoder struct {
	zr    *gzip.Reader
	zd    *zstd.Decoder
	zdMax int64        // the decompressed size limit zd was made with
	in    bytes.Buffer // the compressed batch
	br    bytes.Reader // reads in; a byte reader saves the decompressor a bufio
	out   []byte       // the decompressed batch
}

// Decode reads one batch; see the package function Decode. coding is
// the batch's declared Content-Encoding, Gzip or Zstd: a body in another
// is refused. An empty coding takes either.
func (d *Decoder) Decode(r io.Reader, coding string, maxBytes int64) (*Batch, error) {
	if err := d.ReadBody(r); err != nil {
		return nil, err
	}
	return d.DecodeBody(coding, maxBytes)
}

// ReadBody reads a compressed batch from r into the decoder's buffer, for
// DecodeBody: a server reads a slow client's body before it spends a
// decoding turn on it. r bounds the size.
func (d *Decoder) ReadBody(r io.Reader) error {
	d.in.Reset()
	if _, err := d.in.ReadFrom(r); err != nil {
		return fmt.Errorf("reading the batch: %w", err)
	}
	return nil
}

// DecodeBody decodes the batch ReadBody read, as Decode does.
func (d *Decoder) DecodeBody(coding string, maxBytes int64) (*Batch, error) {
	data, err := d.decompress(d.in.Bytes(), coding, maxBytes)
	if err != nil {
		return nil, err
	}
	var b Batch
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("decoding batch JSON: %w", err)
	}
	rest := data[dec.InputOffset():]
	switch b.Version {
	case 1:
		if len(bytes.TrimSpace(rest)) > 0 {
			return nil, errors.New("version 1 batch: data after the JSON document")
		}
	case 2:
		if b.Samples != "" {
			return nil, errors.New(`version 2 batch: samples follow the header line, not in "samples"`)
		}
		if len(rest) > 0 && rest[0] == '\n' {
			rest = rest[1:]
		}
		// The samples are read where they lie in the buffer: no copy of
		// a megabyte per batch.
		b.Samples = unsafe.String(unsafe.SliceData(rest), len(rest))
	default:
		return nil, fmt.Errorf("unsupported batch version %d (this server reads versions 1 and 2)", b.Version)
	}
	if _, err := uuid.Parse(b.ID); err != nil {
		return nil, fmt.Errorf("batch id %q is not a UUID", b.ID)
	}
	return &b, nil
}

// decompress returns data decompressed into d.out, at most maxBytes.
// Memory is what a bomb costs: the output grows in steps up to maxBytes
// and one byte more, never beyond, from the size the stream says it has
// (a gzip trailer, a zstd frame header) when that is within the limit; a
// stream that says it is larger is refused before anything is
// decompressed. zstd is read as a stream too: DecodeAll grows its output
// as append does, past the limit.
func (d *Decoder) decompress(data []byte, coding string, maxBytes int64) ([]byte, error) {
	got := Coding(data)
	switch {
	case got == "" && coding != "":
		return nil, fmt.Errorf("the body is not %s", coding)
	case got == "":
		return nil, errors.New("the body is neither gzip nor zstd")
	case coding != "" && got != coding:
		return nil, fmt.Errorf("Content-Encoding is %s but the body is %s", coding, got)
	}
	d.br.Reset(data)
	var (
		r    io.Reader
		hint int64 = -1 // the decompressed size the stream says, if it does
	)
	if got == Zstd {
		var h zstd.Header
		if h.Decode(data) == nil && h.HasFCS {
			hint = int64(min(h.FrameContentSize, 1<<62))
		}
		if d.zd == nil || d.zdMax != maxBytes {
			if d.zd != nil {
				d.zd.Close()
			}
			var err error
			d.zd, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
				zstd.WithDecoderMaxMemory(uint64(max(maxBytes, 1))), zstd.WithDecoderMaxWindow(zstdMaxWindow))
			if err != nil {
				return nil, fmt.Errorf("starting zstd: %w", err)
			}
			d.zdMax = maxBytes
		}
		if hint < 0 {
			// Only the stream needs the reader; DecodeAll below reads data
			// itself, and a Reset would parse the frame header twice.
			if err := d.zd.Reset(&d.br); err != nil {
				return nil, fmt.Errorf("reading zstd header: %w", err)
			}
			r = d.zd
		}
	} else {
		// ISIZE, the last four bytes, is the size of the last member
		// modulo 2^32: the whole is at least as large.
		if len(data) >= 18 {
			hint = int64(binary.LittleEndian.Uint32(data[len(data)-4:]))
		}
		var err error
		if d.zr == nil {
			d.zr, err = gzip.NewReader(&d.br)
		} else {
			err = d.zr.Reset(&d.br)
		}
		if err != nil {
			return nil, fmt.Errorf("reading gzip header: %w", err)
		}
		r = d.zr
	}
	if hint > maxBytes {
		return nil, ErrTooLarge
	}
	if got == Zstd && hint >= 0 {
		// The first frame says its size, within the limit: decode the
		// body whole, which costs a fifth less server CPU per point than
		// the stream (bench/README.md). The decoder's memory limit
		// (maxBytes) stops frames that hold more than they say.
		buf := d.out[:0]
		if int64(cap(buf)) < hint {
			buf = make([]byte, 0, hint)
		}
		out, err := d.zd.DecodeAll(data, buf)
		if out != nil {
			d.out = out[:0]
		}
		switch {
		case errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) || int64(len(out)) > maxBytes:
			return nil, ErrTooLarge
		case err != nil:
			return nil, fmt.Errorf("decompressing %s: %w", got, err)
		}
		return out, nil
	}
	out, err := readBounded(r, d.out[:0], hint, maxBytes)
	if out != nil {
		d.out = out
	}
	switch {
	case errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, ErrTooLarge):
		// The window is bounded too: a frame that needs more may hold
		// more, so the sender is told to split.
		return nil, ErrTooLarge
	case err != nil:
		return nil, fmt.Errorf("decompressing %s: %w", got, err)
	}
	return out, nil
}

// readBounded reads r to its end into buf, growing it from about hint
// bytes (or a guess) by doubling, never past maxBytes+1, and answers
// ErrTooLarge when r holds more than maxBytes.
func readBounded(r io.Reader, buf []byte, hint, maxBytes int64) ([]byte, error) {
	want := int64(256 << 10)
	if hint >= 0 {
		want = hint + 512 // room to see the end without growing
	}
	want = min(want, maxBytes+1)
	if int64(cap(buf)) < want {
		buf = make([]byte, 0, want)
	}
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > maxBytes {
				return buf[:0], ErrTooLarge
			}
			buf = slices.Grow(buf, int(min(int64(cap(buf)), maxBytes+1-int64(cap(buf)))))
			buf = buf[:len(buf):min(cap(buf), int(maxBytes+1))]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case int64(len(buf)) > maxBytes:
			return buf[:0], ErrTooLarge
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return buf[:0], err
		}
	}
}

// Cap is the capacity of the decoder's buffer, for callers that keep
// decoders and would rather not keep an outsized one.
func (d *Decoder) Cap() int { return max(cap(d.out), d.in.Cap()) }
