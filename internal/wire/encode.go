package wire

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/google/uuid"

	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/lineproto"
)

// NewBatch encodes samples and inventories into a batch with a fresh ID.
// Samples that fail kpi.Sample.Validate, or cannot be carried by line
// protocol (a NaN, a time outside 1677-2262), are returned in the error
// (joined) and left out; the batch holds the rest.
func NewBatch(samples []kpi.Sample, inv []kpi.Inventory) (*Batch, error) {
	e := Encoder{buf: make([]byte, 0, len(samples)*bytesPerSample)}
	var errs []error
	for _, s := range samples {
		if err := e.Sample(s); err != nil {
			errs = append(errs, err)
		}
	}
	// The buffer becomes the batch's string without a copy: nothing else
	// holds it.
	return BatchOf(e.buf, inv), errors.Join(errs...)
}

// BatchOf makes a batch with a fresh ID of lines an Encoder wrote. The
// batch takes lines over: the caller must not change them afterwards.
func BatchOf(lines []byte, inv []kpi.Inventory) *Batch {
	return &Batch{Version: Version, ID: uuid.NewString(),
		Samples: unsafe.String(unsafe.SliceData(lines), len(lines)), Inventory: inv}
}

// bytesPerSample is room for a typical sample's line (an interface's
// rates, a volume's sizes), so the buffer seldom grows.
const bytesPerSample = 160

// Encoder writes samples as line protocol as they come, checked as
// kpi.Sample.Validate checks them: exactly as influxdata/line-protocol/v2's
// Encoder writes them (lineproto's FuzzEncoderMatchesLibrary holds the
// two to that), with tags (the asset's under AssetTag) and fields in key order,
// empty tag values left out, and a nanosecond timestamp. A refused sample
// leaves nothing behind. The zero Encoder is ready; it is not safe for
// concurrent use.
type Encoder struct {
	buf   []byte
	lines int
	sc    scratch
}

// Sample appends the line of s, or returns why s cannot be carried.
func (e *Encoder) Sample(s kpi.Sample) error {
	var err error
	if e.buf, err = appendSample(e.buf, s, &e.sc); err == nil {
		e.lines++
	}
	return err
}

// Row appends the line of r, or returns why r cannot be carried. It does
// not keep r: the caller may reuse it at once.
func (e *Encoder) Row(r *kpi.Row) error {
	var err error
	if e.buf, err = appendRow(e.buf, r, &e.sc); err == nil {
		e.lines++
	}
	return err
}

// Grow makes room for n more bytes of lines, so that an encoder told how
// much the last poll wrote does not grow its buffer step by step.
func (e *Encoder) Grow(n int) {
	if n > cap(e.buf)-len(e.buf) {
		e.buf = slices.Grow(e.buf, n)
	}
}

// Lines is the number of lines written since the last Take.
func (e *Encoder) Lines() int { return e.lines }

// Bytes returns the lines written since the last Take, each ending in a
// newline. They stay valid until the next call of Sample, Row or Take.
func (e *Encoder) Bytes() []byte { return e.buf }

// Take returns the lines written and starts the Encoder afresh, with a new
// buffer: what Take returned is the caller's.
func (e *Encoder) Take() ([]byte, int) {
	b, n := e.buf, e.lines
	e.buf, e.lines = nil, 0
	return b, n
}

// scratch holds the pairs a line is written from, sorted by key, reused
// so that encoding does not allocate per sample.
type scratch struct {
	tags   []lineproto.Tag
	fields []lineproto.Field
}

// Timestamps line protocol can carry: nanoseconds in an int64.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

func checkHead(asset, measurement string, nfields int, at time.Time, validate func() error) error {
	if asset == "" || !kpi.ValidTagValue(asset) || !kpi.ValidName(measurement) || nfields == 0 || at.IsZero() {
		return validate() // names the problem
	}
	if at.Before(minTime) || at.After(maxTime) {
		return fmt.Errorf("sample %s of asset %s: time %s is outside what line protocol can carry", measurement, asset, at.UTC().Format(time.RFC3339))
	}
	return nil
}

func badFloat(measurement, asset, k string, x float64) error {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Errorf("sample %s of asset %s: field %s: value %v cannot be encoded", measurement, asset, k, x)
	}
	return nil
}

func reservedTag(measurement, asset string) error {
	return fmt.Errorf("sample %s of asset %s: tag %q is reserved", measurement, asset, AssetTag)
}

// appendSample appends the line of s to dst; on error dst is returned as
// it was. Checking and writing in one pass over the maps costs half of
// what the library's encoder after Validate did.
func appendSample(dst []byte, s kpi.Sample, sc *scratch) ([]byte, error) {
	if err := checkHead(s.Asset, s.Measurement, len(s.Fields), s.Time, s.Validate); err != nil {
		return dst, err
	}
	tags := append(sc.tags[:0], lineproto.Tag{Key: AssetTag, Value: s.Asset})
	for k, v := range s.Tags {
		if k == AssetTag {
			return dst, reservedTag(s.Measurement, s.Asset)
		}
		if !kpi.ValidName(k) || !kpi.ValidTagValue(v) {
			return dst, s.Validate()
		}
		tags = append(tags, lineproto.Tag{Key: k, Value: v})
	}
	fields := sc.fields[:0]
	for k, v := range s.Fields {
		if !kpi.ValidName(k) {
			return dst, s.Validate()
		}
		f := lineproto.Field{Key: k}
		switch x := v.(type) {
		case float64:
			if err := badFloat(s.Measurement, s.Asset, k, x); err != nil {
				return dst, err
			}
			f.Kind, f.F = lineproto.Float, x
		case int64:
			f.Kind, f.N = lineproto.Int, uint64(x)
		case uint64:
			f.Kind, f.N = lineproto.Uint, x
		case bool:
			f.Kind = lineproto.Bool
			if x {
				f.N = 1
			}
		case string:
			if !utf8.ValidString(x) {
				return dst, fmt.Errorf("sample %s of asset %s: field %s: value %q is not valid UTF-8", s.Measurement, s.Asset, k, x)
			}
			f.Kind, f.S = lineproto.String, x
		default:
			return dst, s.Validate()
		}
		fields = append(fields, f)
	}
	sc.tags, sc.fields = tags, fields
	lineproto.SortPairs(tags, fields)
	return lineproto.AppendLine(dst, s.Measurement, tags, fields, s.Time.UnixNano()), nil
}

// appendRow is appendSample for a Row. A key given twice is refused.
func appendRow(dst []byte, r *kpi.Row, sc *scratch) ([]byte, error) {
	validate := func() error { return r.Sample().Validate() }
	if err := checkHead(r.Asset, r.Measurement, len(r.Fields), r.Time, validate); err != nil {
		return dst, err
	}
	tags := append(sc.tags[:0], lineproto.Tag{Key: AssetTag, Value: r.Asset})
	for _, t := range r.Tags {
		if t.Key == AssetTag {
			return dst, reservedTag(r.Measurement, r.Asset)
		}
		if !kpi.ValidName(t.Key) || !kpi.ValidTagValue(t.Value) {
			return dst, validate()
		}
		tags = append(tags, lineproto.Tag{Key: t.Key, Value: t.Value})
	}
	fields := sc.fields[:0]
	for _, x := range r.Fields {
		if !kpi.ValidName(x.Key) {
			return dst, validate()
		}
		f := lineproto.Field{Key: x.Key, Kind: lineproto.Float, F: x.Float}
		if x.IsInt {
			f.Kind, f.N = lineproto.Int, uint64(x.Int)
		} else if err := badFloat(r.Measurement, r.Asset, x.Key, x.Float); err != nil {
			return dst, err
		}
		fields = append(fields, f)
	}
	sc.tags, sc.fields = tags, fields
	lineproto.SortPairs(tags, fields)
	for i := 1; i < len(tags); i++ {
		if tags[i].Key == tags[i-1].Key {
			return dst, fmt.Errorf("sample %s of asset %s: tag %s given twice", r.Measurement, r.Asset, tags[i].Key)
		}
	}
	for i := 1; i < len(fields); i++ {
		if fields[i].Key == fields[i-1].Key {
			return dst, fmt.Errorf("sample %s of asset %s: field %s given twice", r.Measurement, r.Asset, fields[i].Key)
		}
	}
	return lineproto.AppendLine(dst, r.Measurement, tags, fields, r.Time.UnixNano()), nil
}
