package lineproto_test

// The codec's one fuzz suite: each target holds a part of package
// lineproto to influxdata/line-protocol/v2, which both ends of kpilot
// take as the reference.

import (
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	lp "github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/lineproto"
	"github.com/kpilot/kpilot/internal/wire"
)

// referenceLine is a sample's line as influxdata/line-protocol/v2's
// Encoder writes it after kpi.Sample.Validate: what the agent's encoder
// wrote when it used the library, and what it must still write.
func referenceLine(s kpi.Sample) (string, bool) {
	if s.Validate() != nil {
		return "", false
	}
	if _, reserved := s.Tags[wire.AssetTag]; reserved {
		return "", false
	}
	var enc lp.Encoder
	enc.SetPrecision(lp.Nanosecond)
	tags := slices.Sorted(maps.Keys(s.Tags))
	tags = append(tags, wire.AssetTag)
	slices.Sort(tags)
	fields := slices.Sorted(maps.Keys(s.Fields))
	values := make([]lp.Value, len(fields))
	for i, k := range fields {
		v, ok := lp.NewValue(s.Fields[k])
		if !ok {
			return "", false
		}
		values[i] = v
	}
	enc.StartLine(s.Measurement)
	for _, k := range tags {
		v := s.Tags[k]
		if k == wire.AssetTag {
			v = s.Asset
		}
		if v != "" {
			enc.AddTag(k, v)
		}
	}
	for i, k := range fields {
		enc.AddField(k, values[i])
	}
	enc.EndLine(s.Time)
	if enc.Err() != nil {
		return "", false
	}
	return string(enc.Bytes()), true
}

// FuzzEncoderMatchesLibrary holds the agent's encoder (wire.Encoder, which
// writes with AppendLine) to the library's: it writes what the library
// writes, and refuses what the library and Validate refuse, leaving
// nothing behind.
func FuzzEncoderMatchesLibrary(f *testing.F) {
	f.Add("sw 1", "interface", "ifname", `eth0,"x"=y`, "descr", "a\nb\t\"\\\r", 1.5, int64(-3), uint64(7), true, int64(1700000000123456789))
	f.Add("sw1", "cpu", "asset", "x", "load", "", math.Inf(1), int64(0), uint64(0), false, int64(-1))
	f.Add("a\\", "m", "Tag", "", "f", "\xff", 1e300, int64(math.MinInt64), uint64(math.MaxUint64), true, int64(0))
	before := kpi.Sample{Asset: "a", Measurement: "before", Fields: map[string]any{"v": 1.0}, Time: time.Unix(1, 0)}
	f.Fuzz(func(t *testing.T, asset, m, tk, tv, fk, fs string, ff float64, fi int64, fu uint64, fb bool, ns int64) {
		s := kpi.Sample{Asset: asset, Measurement: m, Tags: map[string]string{tk: tv, "z_" + tk: tv + "2"},
			Fields: map[string]any{fk: fs, "f": ff, "i": fi, "u": fu, "b": fb}, Time: time.Unix(0, ns)}
		var e wire.Encoder
		if err := e.Sample(before); err != nil {
			t.Fatal(err)
		}
		head := string(e.Bytes())
		err := e.Sample(s)
		want, ok := referenceLine(s)
		if ok != (err == nil) {
			t.Fatalf("encoder error %v, library encoder ok %v (%q)", err, ok, want)
		}
		if !ok {
			if string(e.Bytes()) != head || e.Lines() != 1 {
				t.Fatalf("a refused sample left %q behind", strings.TrimPrefix(string(e.Bytes()), head))
			}
			return
		}
		if string(e.Bytes()) != head+want {
			t.Fatalf("encoder wrote\n%q\nthe library encoder\n%q", strings.TrimPrefix(string(e.Bytes()), head), want)
		}
	})
}

// decodeOne decodes a line of one field with the library.
func decodeOne(t *testing.T, line []byte) (tags map[string]string, v lp.Value, at time.Time) {
	t.Helper()
	dec := lp.NewDecoderWithBytes(line)
	if !dec.Next() {
		t.Fatalf("no entry in %q", line)
	}
	if _, err := dec.Measurement(); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	tags = map[string]string{}
	for {
		k, tv, err := dec.NextTag()
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if k == nil {
			break
		}
		tags[string(k)] = string(tv)
	}
	_, v, err := dec.NextField()
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	at, err = dec.Time(lp.Nanosecond, time.Time{})
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	if dec.Next() {
		t.Fatalf("%q holds more than one entry", line)
	}
	return tags, v, at
}

// plain is the plain decimal notation the server takes per kind.
var plain = map[lineproto.Kind]*regexp.Regexp{
	lineproto.Int:   regexp.MustCompile(`^-?[0-9]+$`),
	lineproto.Uint:  regexp.MustCompile(`^[0-9]+$`),
	lineproto.Float: regexp.MustCompile(`^-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`),
}

// FuzzFieldValueMatchesLibrary holds the server's field value check and
// writer (AppendFieldValue, with Decimal, FitsInt64 and PlainNumber under
// it) to the library: a value is taken exactly when the library takes it
// and it is in plain decimal notation (and an unsigned value fits an
// int64), and what is written decodes to the value the library read.
func FuzzFieldValueMatchesLibrary(f *testing.F) {
	for _, s := range []string{"1.5", "-0", "9223372036854775807", "9223372036854775808", "00000000000000000000001",
		".5", "1.", "1e5", "-1.5E-07", "1e400", "1e-400", "0x10", "Inf", "NaN", "1_000", "t", "FALSE", "yes", "a\"b\\c\nd", "\xff"} {
		for k := lineproto.String; k <= lineproto.Bool; k++ {
			f.Add(uint8(k), s)
		}
	}
	f.Fuzz(func(t *testing.T, k uint8, v string) {
		kind := lineproto.Kind(k%5 + 1)
		got, err := lineproto.AppendFieldValue([]byte("x="), kind, []byte(v))
		want, lerr := lp.NewValueFromBytes(lp.ValueKind(kind), []byte(v))
		if err != nil {
			if string(got) != "x=" {
				t.Fatalf("%v %q refused (%v) but %q written", kind, v, err, got)
			}
			if lerr != nil {
				return
			}
			stricter := kind != lineproto.Bool && kind != lineproto.String &&
				(!plain[kind].MatchString(v) || kind == lineproto.Uint && want.UintV() > math.MaxInt64)
			if !stricter {
				t.Fatalf("%v %q refused (%v), the library takes it as %v", kind, v, err, want)
			}
			return
		}
		if lerr != nil {
			t.Fatalf("%v %q taken as %q, the library refuses it: %v", kind, v, got, lerr)
		}
		_, dv, _ := decodeOne(t, append(append([]byte("m "), got...), " 1"...))
		switch kind {
		case lineproto.Uint:
			if dv.Kind() != lp.Int || uint64(dv.IntV()) != want.UintV() {
				t.Fatalf("uint %q written as %q, read back as %v", v, got, dv)
			}
		case lineproto.String:
			if dv.Kind() != lp.String || dv.StringV() != v {
				t.Fatalf("string %q written as %q, read back as %q", v, got, dv.StringV())
			}
		default:
			if !dv.Equal(want) {
				t.Fatalf("%v %q written as %q, read back as %v, want %v", kind, v, got, dv, want)
			}
		}
		if kind == lineproto.Float || kind == lineproto.Int {
			// What PlainNumber takes in a line, Decimal takes alone.
			line := []byte(v)
			if kind == lineproto.Int {
				line = append(line, 'i')
			}
			if end, pk := lineproto.PlainNumber(append(line, ' '), 0); pk != lineproto.Unknown && end == len(line) && pk != kind {
				t.Fatalf("PlainNumber(%q) = %v, want %v", line, pk, kind)
			}
		}
	})
}

// FuzzTagValueRoundTrip holds CheckTagValue and AppendTagValue to the
// library: a value taken is read back by the library's decoder as it was,
// and exactly what cannot be carried is refused.
func FuzzTagValueRoundTrip(f *testing.F) {
	for _, s := range []string{"", "plain", "Gi 1/0/1, uplink=core", "München", "a\\", `a\b`, "a\x01b", "a\x7f", "\xff", "a\nevil"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		ok, esc := lineproto.CheckTagValue(v)
		bok, besc := lineproto.CheckTagValue([]byte(v))
		if ok != bok || esc != besc {
			t.Fatalf("CheckTagValue(%q) string %v %v, bytes %v %v", v, ok, esc, bok, besc)
		}
		control := strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0
		want := !strings.HasSuffix(v, `\`) && !control && utf8.ValidString(v)
		if ok != want {
			t.Fatalf("CheckTagValue(%q) = %v, want %v", v, ok, want)
		}
		if !ok || v == "" {
			return
		}
		if esc != strings.ContainsAny(v, ", =") {
			t.Fatalf("CheckTagValue(%q) escape %v", v, esc)
		}
		line := lineproto.AppendTagValue([]byte("m,t="), v)
		tags, _, _ := decodeOne(t, append(line, " f=1i 1"...))
		if tags["t"] != v {
			t.Fatalf("tag value %q written as %q, read back as %q", v, line, tags["t"])
		}
	})
}

// FuzzStringsMatchLibrary holds both string writers to the library:
// AppendString writes what the library's encoder writes, and both are read
// back by the library's decoder as the string they wrote.
func FuzzStringsMatchLibrary(f *testing.F) {
	for _, s := range []string{"", "plain", `say "hi" \ there`, "two\nlines\r\tend", `\n`, "München"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return // refused before it is written
		}
		var enc lp.Encoder
		enc.StartLine("m")
		enc.AddField("f", lp.MustNewValue(s))
		enc.EndLine(time.Unix(0, 1))
		want := strings.TrimSuffix(strings.TrimPrefix(string(enc.Bytes()), "m f="), " 1\n")
		if got := string(lineproto.AppendString(nil, s)); got != want {
			t.Fatalf("AppendString(%q) = %q, the library writes %q", s, got, want)
		}
		for name, w := range map[string]func([]byte, string) []byte{
			"AppendString": lineproto.AppendString[string], "AppendInfluxString": lineproto.AppendInfluxString[string]} {
			line := w([]byte("m f="), s)
			_, v, _ := decodeOne(t, append(line, " 1"...))
			if v.StringV() != s {
				t.Fatalf("%s(%q) wrote %q, read back as %q", name, s, line, v.StringV())
			}
		}
		if got := lineproto.AppendInfluxString(nil, s); strings.ContainsAny(s, "\n\r\t") != strings.ContainsAny(string(got), "\n\r\t") {
			t.Fatalf("AppendInfluxString(%q) = %q: controls go as they are", s, got)
		}
	})
}

// FuzzTimestampMatchesLibrary holds UnixNanos and AppendTimestamp to the
// library's decoder: a timestamp taken is the time the library reads, and
// is written back in canonical form; one the library reads with at most
// 19 digits is taken.
func FuzzTimestampMatchesLibrary(f *testing.F) {
	for _, s := range []string{"0", "-0", "0012", "1700000000123456789", "9223372036854775807", "9223372036854775808",
		"-9223372036854775808", "-9223372036854775809", "00000000000000000001", "", "-", "1-2", "+5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tb string) {
		ts, ok := lineproto.UnixNanos([]byte(tb))
		dec := lp.NewDecoderWithBytes([]byte("m f=1 " + tb + "\n"))
		dec.Next()
		_, _ = dec.Measurement()
		_, _, _ = dec.NextField()
		at, lerr := dec.Time(lp.Nanosecond, time.Time{})
		digits := strings.TrimPrefix(tb, "-")
		if !ok {
			if lerr == nil && tb != "" && len(digits) <= 19 && strings.Trim(tb, "-0123456789") == "" {
				t.Fatalf("UnixNanos(%q) refused, the library reads %v", tb, at.UnixNano())
			}
			return
		}
		if lerr != nil || at.UnixNano() != ts {
			t.Fatalf("UnixNanos(%q) = %d, the library reads %v (%v)", tb, ts, at.UnixNano(), lerr)
		}
		if got, want := string(lineproto.AppendTimestamp(nil, []byte(tb), ts)), " "+strconv.FormatInt(ts, 10); got != want {
			t.Fatalf("AppendTimestamp(%q) = %q, want %q", tb, got, want)
		}
		if len(tb) == 19 && lineproto.Digits19([]byte(tb)) != (strings.Trim(tb, "0123456789") == "") {
			t.Fatalf("Digits19(%q) wrong", tb)
		}
	})
}
