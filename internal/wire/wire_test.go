package wire

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/kpi"
)

func TestRoundTrip(t *testing.T) {
	at := time.Unix(1700000000, 123).UTC()
	samples := []kpi.Sample{
		{Asset: "sw 1", Measurement: "interface", Time: at,
			Tags:   map[string]string{"ifname": `eth0,"x"=y`, "ifindex": "1"},
			Fields: map[string]any{"in_octets": int64(5), "up": true, "descr": "a\nb"}},
		{Asset: "sw 1", Measurement: "BAD NAME", Time: at, Fields: map[string]any{"x": 1.0}},
	}
	b, err := NewBatch(samples, []kpi.Inventory{{Asset: "sw 1", Time: at, Attributes: map[string]any{"serial": "X1"}}})
	require.ErrorContains(t, err, `invalid measurement name "BAD NAME"`)
	require.Equal(t, 1, b.Lines(), "the invalid sample is left out, the valid one kept")
	require.Equal(t, `interface,asset=sw\ 1,ifindex=1,ifname=eth0\,"x"\=y descr="a\nb",in_octets=5i,up=true 1700000000000000123`+"\n", b.Samples)

	data, err := b.Marshal()
	require.NoError(t, err)
	got, err := Decode(bytes.NewReader(data), 1<<20)
	require.NoError(t, err)
	require.Equal(t, b.ID, got.ID)
	require.Equal(t, b.Samples, got.Samples)
	require.Equal(t, "X1", got.Inventory[0].Attributes["serial"])
	require.Equal(t, Version, got.Version)

	// A version 1 batch, as older agents spooled it, reads the same.
	b.Version = 1
	v1, err := b.Marshal()
	require.NoError(t, err)
	got, err = Decode(bytes.NewReader(v1), 1<<20)
	require.NoError(t, err)
	require.Equal(t, 1, got.Version)
	require.Equal(t, b.Samples, got.Samples)
	require.Equal(t, "X1", got.Inventory[0].Attributes["serial"])
}

func TestReservedAssetTag(t *testing.T) {
	_, err := NewBatch([]kpi.Sample{{Asset: "a", Measurement: "m", Time: time.Now(),
		Tags: map[string]string{AssetTag: "other"}, Fields: map[string]any{"f": 1.0}}}, nil)
	require.ErrorContains(t, err, "reserved")
}

func TestDecodeRefusesGzipBomb(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(`{"version":1,"id":"5f0c6a36-1c1e-4c5e-9a57-1f7c2d9e0b11","samples":"`))
	chunk := bytes.Repeat([]byte("a"), 1<<20)
	for range 64 { // 64 MiB of text, a few KiB compressed
		zw.Write(chunk)
	}
	zw.Write([]byte(`"}`))
	zw.Close()
	require.Less(t, buf.Len(), 1<<20)
	_, err := Decode(&buf, 1<<20)
	require.ErrorIs(t, err, ErrTooLarge)
}

func TestDecodeRefusesGzipBombInV2Samples(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(`{"version":2,"id":"5f0c6a36-1c1e-4c5e-9a57-1f7c2d9e0b11"}` + "\n"))
	chunk := bytes.Repeat([]byte("a"), 1<<20)
	for range 64 {
		zw.Write(chunk)
	}
	zw.Close()
	_, err := Decode(&buf, 1<<20)
	require.ErrorIs(t, err, ErrTooLarge)
}

func TestDecodeErrors(t *testing.T) {
	enc := func(s string) *bytes.Reader {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(s))
		zw.Close()
		return bytes.NewReader(buf.Bytes())
	}
	tests := []struct{ name, body, want string }{
		{"version", `{"version":3,"id":"5f0c6a36-1c1e-4c5e-9a57-1f7c2d9e0b11"}`, "unsupported batch version 3"},
		{"samples in a v2 header", `{"version":2,"id":"5f0c6a36-1c1e-4c5e-9a57-1f7c2d9e0b11","samples":"m v=1 1"}`, "samples follow the header"},
		{"trailing data after v1", `{"version":1,"id":"5f0c6a36-1c1e-4c5e-9a57-1f7c2d9e0b11"} m v=1 1`, "data after the JSON document"},
		{"id", `{"version":1,"id":"x"}`, `batch id "x" is not a UUID`},
		{"unknown field", `{"version":1,"id":"5f0c6a36-1c1e-4c5e-9a57-1f7c2d9e0b11","extra":1}`, "unknown field"},
		{"truncated", `{"version":1,"id":"5f0c`, "decoding batch JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(enc(tt.body), 1<<20)
			require.ErrorContains(t, err, tt.want)
		})
	}
	_, err := Decode(strings.NewReader("not gzip"), 1<<20)
	require.ErrorContains(t, err, "neither gzip nor zstd")
	_, err = Decode(bytes.NewReader([]byte{0x1f, 0x8b, 0}), 1<<20)
	require.ErrorContains(t, err, "gzip header")
	_, err = Decode(bytes.NewReader([]byte{0x28, 0xb5, 0x2f, 0xfd, 0}), 1<<20)
	require.ErrorContains(t, err, "decompressing zstd")
}

func TestZstdRoundTripAndRecode(t *testing.T) {
	at := time.Unix(1700000000, 0)
	b, err := NewBatch([]kpi.Sample{{Asset: "sw1", Measurement: "interface", Time: at,
		Tags: map[string]string{"ifname": "Gi1/0/1"}, Fields: map[string]any{"in_bps": 1.5}}},
		[]kpi.Inventory{{Asset: "sw1", Time: at, Attributes: map[string]any{"serial": "X1"}}})
	require.NoError(t, err)
	z, err := b.MarshalAs(Zstd)
	require.NoError(t, err)
	require.Equal(t, Zstd, Coding(z))

	var d Decoder
	got, err := d.Decode(bytes.NewReader(z), Zstd, 1<<20)
	require.NoError(t, err)
	require.Equal(t, b.ID, got.ID)
	require.Equal(t, b.Samples, got.Samples)
	require.Equal(t, "X1", got.Inventory[0].Attributes["serial"])

	_, err = d.Decode(bytes.NewReader(z), Gzip, 1<<20)
	require.ErrorContains(t, err, "Content-Encoding is gzip but the body is zstd")

	g, err := Recode(z, Gzip)
	require.NoError(t, err)
	require.Equal(t, Gzip, Coding(g))
	got, err = d.Decode(bytes.NewReader(g), Gzip, 1<<20)
	require.NoError(t, err)
	require.Equal(t, b.Samples, got.Samples)
	same, err := Recode(g, Gzip)
	require.NoError(t, err)
	require.Equal(t, g, same, "a batch already in the coding is returned as it is")

	_, err = b.MarshalAs("br")
	require.ErrorContains(t, err, `unknown content coding "br"`)
}

// A zstd bomb, and a frame that only claims to be huge, are refused at
// the limit: the decoder never holds more than the limit.
func TestDecodeRefusesZstdBomb(t *testing.T) {
	enc, err := zstdEncoder()
	require.NoError(t, err)
	bomb := enc.EncodeAll(append([]byte(`{"version":2,"id":"5f0c6a36-1c1e-4c5e-9a57-1f7c2d9e0b11"}`+"\n"), bytes.Repeat([]byte("a"), 64<<20)...), nil)
	require.Less(t, len(bomb), 1<<20)
	var d Decoder
	_, err = d.Decode(bytes.NewReader(bomb), Zstd, 1<<20)
	require.ErrorIs(t, err, ErrTooLarge)
	require.LessOrEqual(t, d.Cap(), 2<<20, "nothing near the bomb's size was held")

	// A frame header claiming 4 GiB of content, and nothing behind it.
	// Magic, a single-segment header with a 4-byte content size, then one
	// last raw block of one byte.
	liar := []byte{0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0xff, 0xff, 0xff, 0xff, 0x09, 0, 0, 'a'}
	_, err = d.Decode(bytes.NewReader(liar), Zstd, 1<<20)
	require.ErrorIs(t, err, ErrTooLarge)
	require.LessOrEqual(t, d.Cap(), 2<<20)
}

func TestAccepts(t *testing.T) {
	for h, want := range map[string]bool{
		"zstd, gzip":       true,
		"gzip":             false,
		"":                 false,
		"gzip;q=1, ZSTD":   true,
		"zstd;q=0":         false,
		"zstd; q=0.000":    false,
		"zstd;q=0.5, gzip": true,
		"identity, zstdx":  false,
	} {
		require.Equal(t, want, Accepts(h, Zstd), "Accept-Encoding %q", h)
	}
}

// One sample that cannot be encoded (a control character in a tag value
// from a device, a NaN) is left out with an error naming it; the batch
// holds the others.
func TestBadSampleLeavesTheRestOfTheBatch(t *testing.T) {
	at := time.Unix(1700000000, 0)
	good := kpi.Sample{Asset: "sw1", Measurement: "interface", Time: at,
		Tags: map[string]string{"ifname": "Gi 1/0/1"}, Fields: map[string]any{"in_bps": 1.5}}
	b, err := NewBatch([]kpi.Sample{
		{Asset: "sw1", Measurement: "interface", Time: at, Tags: map[string]string{"ifalias": "bad\x01alias"}, Fields: map[string]any{"in_bps": 1.0}},
		{Asset: "sw1", Measurement: "interface", Time: at, Tags: map[string]string{"ifalias": `trailing\`}, Fields: map[string]any{"in_bps": 1.0}},
		{Asset: "sw1", Measurement: "interface", Time: at, Tags: map[string]string{"ifalias": "bad\xffutf8"}, Fields: map[string]any{"in_bps": 1.0}},
		{Asset: "sw1", Measurement: "cpu", Time: at, Fields: map[string]any{"load": math.NaN()}},
		good,
	}, nil)
	require.ErrorContains(t, err, "ifalias")
	require.ErrorContains(t, err, "field load")
	require.Equal(t, "interface,asset=sw1,ifname=Gi\\ 1/0/1 in_bps=1.5 1700000000000000000\n", b.Samples)
}

func BenchmarkNewBatch(b *testing.B) {
	at := time.Now()
	samples := make([]kpi.Sample, 1000)
	for i := range samples {
		samples[i] = kpi.Sample{Asset: "switch-01", Measurement: "software", Time: at,
			Tags:   map[string]string{"index": strconv.Itoa(i), "name": fmt.Sprintf("libfoo%d-1.2.3", i)},
			Fields: map[string]any{"type": int64(4), "installed": "2026-11-22"}}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewBatch(samples, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(samples))/b.Elapsed().Seconds(), "samples/s")
}

// A Row is encoded exactly as the Sample it converts to, and refused
// exactly when that Sample is (keys given twice aside, which a Sample's
// maps cannot hold).
func FuzzRowMatchesSample(f *testing.F) {
	f.Add("sw 1", "interface", "ifname", `eth0,"x"=y`, "in_octets", 1.5, int64(-3), int64(1700000000123456789))
	f.Add("sw1", "cpu", "asset", "x", "load", math.NaN(), int64(0), int64(-1))
	f.Add("a\\", "m", "Tag", "", "i", 1e300, int64(math.MinInt64), int64(0))
	f.Fuzz(func(t *testing.T, asset, m, tk, tv, fk string, ff float64, fi int64, ns int64) {
		r := kpi.Row{Asset: asset, Measurement: m, Time: time.Unix(0, ns)}
		r.Tags = []kpi.Tag{{Key: tk, Value: tv}, {Key: "z_" + tk, Value: tv + "2"}}
		r.Fields = []kpi.Field{{Key: fk, Float: ff}, {Key: "i", Int: fi, IsInt: true}}
		var sc scratch
		got, err := appendRow([]byte("before\n"), &r, &sc)
		if fk == "i" {
			if err == nil {
				t.Fatalf("field i given twice: got %q", got)
			}
			return
		}
		want, werr := appendSample([]byte("before\n"), r.Sample(), &sc)
		if (err == nil) != (werr == nil) {
			t.Fatalf("row error %v, sample error %v", err, werr)
		}
		if string(got) != string(want) {
			t.Fatalf("row wrote\n%q\nits sample\n%q", got, want)
		}
	})
}

func TestRowRefusesKeysGivenTwice(t *testing.T) {
	at := time.Unix(1700000000, 0)
	for _, r := range []kpi.Row{
		{Asset: "a", Measurement: "m", Time: at, Tags: []kpi.Tag{{Key: "k", Value: "1"}, {Key: "k", Value: "2"}}, Fields: []kpi.Field{{Key: "f"}}},
		{Asset: "a", Measurement: "m", Time: at, Fields: []kpi.Field{{Key: "f"}, {Key: "f", IsInt: true}}},
	} {
		var e Encoder
		if err := e.Row(&r); err == nil || !strings.Contains(err.Error(), "given twice") {
			t.Errorf("%+v: err %v, want given twice", r, err)
		}
		if e.Lines() != 0 || len(e.Bytes()) != 0 {
			t.Errorf("a refused row left %q", e.Bytes())
		}
	}
}

func TestRowSetters(t *testing.T) {
	var r kpi.Row
	r.Reset("a", "m", time.Unix(1, 0))
	r.SetTag("k", "1")
	r.SetTag("k", "2")
	r.SetInt("f", 3)
	r.SetFloat("f", 1.5)
	r.SetFloat("g", 2)
	r.DeleteField("g")
	var e Encoder
	e.Grow(1000)
	if len(e.Bytes()) != 0 || cap(e.Bytes()) < 1000 {
		t.Fatalf("Grow(1000): len %d cap %d", len(e.Bytes()), cap(e.Bytes()))
	}
	if err := e.Row(&r); err != nil {
		t.Fatal(err)
	}
	if got, want := string(e.Bytes()), "m,asset=a,k=2 f=1.5 1000000000\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	b, n := e.Take()
	if n != 1 || string(b) != "m,asset=a,k=2 f=1.5 1000000000\n" || e.Lines() != 0 || e.Bytes() != nil {
		t.Errorf("Take: %q %d, left %d %q", b, n, e.Lines(), e.Bytes())
	}
}

func BenchmarkEncoderRow(b *testing.B) {
	at := time.Now()
	rows := make([]kpi.Row, 1000)
	for i := range rows {
		rows[i] = kpi.Row{Asset: "switch-01", Measurement: "software", Time: at,
			Tags:   []kpi.Tag{{Key: "index", Value: strconv.Itoa(i)}, {Key: "name", Value: fmt.Sprintf("libfoo%d-1.2.3", i)}},
			Fields: []kpi.Field{{Key: "type", Int: 4, IsInt: true}, {Key: "size", Float: 12345.5}}}
	}
	b.ReportAllocs()
	var e Encoder
	for b.Loop() {
		e = Encoder{buf: e.buf[:0]} // as a batch's buffer, sized once
		for i := range rows {
			if err := e.Row(&rows[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "rows/s")
}

// TestDecodeNeverGrowsPastTheLimit: the decompressed buffer stays within
// the limit and one byte (plus what the hint's slack adds), whether the
// stream says its size or not; a stream that says it is over the limit
// is refused before its buffer is made.
func TestDecodeNeverGrowsPastTheLimit(t *testing.T) {
	const limit = 1 << 20
	header := `{"version":2,"id":"5f0c6a36-1c1e-4c5e-9a57-1f7c2d9e0b11"}` + "\n"
	batchOf := func(n int) []byte { return append([]byte(header), bytes.Repeat([]byte("a"), n-len(header))...) }
	// members concatenates compressed pieces, as a sender that hides the
	// whole size would: no member's size says it.
	members := func(coding string, pieces ...[]byte) []byte {
		var out []byte
		for _, p := range pieces {
			c, err := compress(p, coding)
			require.NoError(t, err)
			out = append(out, c...)
		}
		return out
	}
	tests := []struct {
		name    string
		coding  string
		data    []byte
		wantErr error
		maxCap  int
	}{
		{"gzip at the limit", Gzip, members(Gzip, batchOf(limit)), nil, limit + 1},
		{"gzip one byte over", Gzip, members(Gzip, batchOf(limit+1)), ErrTooLarge, 0},
		{"gzip members hiding the size", Gzip, members(Gzip, batchOf(limit/2), make([]byte, limit/2), make([]byte, 1024)), ErrTooLarge, limit + 1},
		// A zstd frame that says its size is decoded whole (DecodeAll, bounded
		// by the decoder's memory limit), whose appends round up to the
		// allocator's size class: a few bytes past the limit, not more.
		{"zstd at the limit", Zstd, members(Zstd, batchOf(limit)), nil, limit + 4096},
		{"zstd one byte over", Zstd, members(Zstd, batchOf(limit+1)), ErrTooLarge, 0},
		{"zstd frames hiding the size", Zstd, members(Zstd, batchOf(limit/2), make([]byte, limit/2), make([]byte, 1024)), ErrTooLarge, limit + 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			_, err := d.Decode(bytes.NewReader(tt.data), tt.coding, limit)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.LessOrEqual(t, cap(d.out), tt.maxCap, "buffer within the limit (0: never made)")
		})
	}
}
