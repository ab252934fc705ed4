// Package lineproto is kpilot's one InfluxDB line-protocol codec: the
// byte classes and scanners the server checks an agent's lines with, and
// the appenders both programs write lines with (the agent's encoder in
// internal/wire, the server's re-encoder in server/ingest).
//
// influxdata/line-protocol/v2 is the reference: what this package writes,
// the library reads back as written, and what its scanners take, the
// library takes too (the fuzz tests hold the two together). The library
// is not linked here, so the agent does not carry it; the server's
// re-encoder falls back to its decoder for lines the scanners do not take.
package lineproto

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// Kind is the type of a field value. The values are those of the
// library's lineprotocol.ValueKind, so that one converts to the other.
type Kind uint8

// Kinds of field values.
const (
	Unknown Kind = iota
	String
	Int
	Uint
	Float
	Bool
)

var kindNames = [...]string{Unknown: "unknown", String: "string", Int: "int", Uint: "uint", Float: "float", Bool: "bool"}

// String returns the kind's name as the library writes it.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Byte classes for Scan.
const (
	ClassName  = 1 << iota // [a-z0-9_]
	ClassPlain             // printable ASCII but for space , = " \ : a tag value or number
	ClassHigh              // part of a multi-byte UTF-8 sequence
)

var class = func() (t [256]byte) {
	for c := range 256 {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_':
			t[c] = ClassName | ClassPlain
		case c > ' ' && c < 0x7f && c != ',' && c != '=' && c != '"' && c != '\\':
			t[c] = ClassPlain
		case c >= 0x80:
			t[c] = ClassHigh
		}
	}
	return t
}()

// Scan returns the index of the first byte from i on that is of none of
// the classes c.
func Scan(b []byte, i int, c byte) int {
	for i < len(b) && class[b[i]]&c != 0 {
		i++
	}
	return i
}

// ScannedName is kpi.ValidName for bytes scanned as ClassName: only the
// first byte and the length are left to check.
func ScannedName(k []byte) bool {
	return len(k) > 0 && len(k) <= 63 && k[0] >= 'a' && k[0] <= 'z'
}

// Key returns the end of the name that starts line[k0:] and is followed
// by '=', or -1.
func Key(line []byte, k0 int) int {
	i := Scan(line, k0, ClassName)
	if i == len(line) || line[i] != '=' || !ScannedName(line[k0:i]) {
		return -1
	}
	return i
}

// IsDigit reports whether c is a decimal digit.
func IsDigit(c byte) bool { return c >= '0' && c <= '9' }

// PlainNumber scans line[i:] for a number that Decimal takes without a
// second look: [-]digits (at most 18) followed by 'i', which is an Int and
// ends after the 'i'; or [-]digits[.digits][(e|E)[+|-]digits] with at
// most 200 digits and a one- or two-digit exponent, a Float. It returns
// the end and the kind, or Unknown for anything else.
func PlainNumber(line []byte, i int) (int, Kind) {
	// One pass: [-]digits, then 'i' (an Int) or the rest of a Float.
	j := i
	if j < len(line) && line[j] == '-' {
		j++
	}
	d0 := j
	for j < len(line) && IsDigit(line[j]) {
		j++
	}
	n := j - d0
	if j < len(line) && line[j] == 'i' {
		if n == 0 || n > 18 {
			return j, Unknown
		}
		return j + 1, Int
	}
	end, n, e := scanFloatRest(line, j, n)
	if n == 0 || n > 200 || e == 0 || e > 2 {
		return end, Unknown
	}
	return end, Float
}

// ScanDecimal scans a number of the kind in plain decimal notation from
// b[i:]: [-]digits for Int, digits for Uint, and for Float
// [-]digits[.digits][(e|E)[+|-]digits]. It returns where the scan ended,
// the number of digits before the exponent and the number in the
// exponent (-1 without one); it stops at the first byte that does not fit.
func ScanDecimal(b []byte, i int, kind Kind) (end, digits, exp int) {
	if i < len(b) && b[i] == '-' && kind != Uint {
		i++
	}
	d0 := i
	for i < len(b) && IsDigit(b[i]) {
		i++
	}
	digits = i - d0
	if kind != Float {
		return i, digits, -1
	}
	return scanFloatRest(b, i, digits)
}

// scanFloatRest is ScanDecimal for a Float after its integer digits,
// which end at b[i]: [.digits][(e|E)[+|-]digits].
func scanFloatRest(b []byte, i, digits int) (end, n, exp int) {
	if i < len(b) && b[i] == '.' {
		i++
		f0 := i
		for i < len(b) && IsDigit(b[i]) {
			i++
		}
		digits += i - f0
	}
	if digits == 0 || i == len(b) || b[i] != 'e' && b[i] != 'E' {
		return i, digits, -1
	}
	i++
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	e0 := i
	for i < len(b) && IsDigit(b[i]) {
		i++
	}
	return i, digits, i - e0
}

// Decimal reports whether v is a number of the kind in plain decimal
// notation (see ScanDecimal; either side of a float's point may be empty,
// not both) that the library takes. Values that may be out of range are
// parsed to be sure, as the library parses them.
func Decimal(v []byte, kind Kind) bool {
	end, n, e := ScanDecimal(v, 0, kind)
	switch {
	case end != len(v) || n == 0 || e == 0:
		return false
	case kind != Float && n < 19:
		return true
	case kind == Float && (e < 0 || e <= 2 && n <= 200):
		return true // under 10^299: no overflow, and underflow is zero
	}
	// Near the limits of 64 bits, or a long exponent: the library parses
	// with strconv and refuses what is out of range or infinite.
	s := unsafe.String(unsafe.SliceData(v), len(v))
	var err error
	switch kind {
	case Int:
		_, err = strconv.ParseInt(s, 10, 64)
	case Uint:
		_, err = strconv.ParseUint(s, 10, 64)
	default:
		var f float64
		f, err = strconv.ParseFloat(s, 64)
		if err == nil && (math.IsInf(f, 0) || math.IsNaN(f)) {
			return false
		}
	}
	return err == nil
}

// FitsInt64 reports whether the digits v (as Decimal took them for a
// Uint) are at most the largest int64.
func FitsInt64(v []byte) bool {
	if len(v) < 19 {
		return true
	}
	_, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(v), len(v)), 10, 64) // leading zeros count for nothing
	return err == nil
}

// Digits19 reports whether the 19 bytes of b are all decimal digits,
// eight at a time: a byte is a digit when its high nibble is 3 and adding
// 6 keeps it so.
func Digits19(b []byte) bool {
	const hi, three, six = 0xF0F0F0F0F0F0F0F0, 0x3030303030303030, 0x0606060606060606
	b = b[:19]
	for _, w := range [...]uint64{binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:]), binary.LittleEndian.Uint64(b[11:])} {
		if w&hi != three || (w+six)&hi != three {
			return false
		}
	}
	return true
}

// UnixNanos parses a line-protocol timestamp: an optional minus and at
// most 19 decimal digits that fit in an int64.
func UnixNanos(b []byte) (int64, bool) {
	digits, neg := b, len(b) > 0 && b[0] == '-'
	if neg {
		digits = digits[1:]
	}
	const maxInt64 = "9223372036854775807"
	switch {
	case len(digits) == 0 || len(digits) > len(maxInt64):
		return 0, false
	case len(digits) == len(maxInt64) && string(digits) > maxInt64:
		// Digits of equal length compare as numbers; the smallest
		// int64 has no positive counterpart.
		if !neg || string(digits) != "9223372036854775808" {
			return 0, false
		}
		return math.MinInt64, true
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// CheckTagValue refuses what line protocol cannot carry in a tag value:
// control characters, invalid UTF-8, and a trailing backslash (which would
// escape the separator after it). It also reports whether the value has
// characters that need escaping (AppendTagValue escapes them).
func CheckTagValue[S string | []byte](v S) (ok, escape bool) {
	if len(v) > 0 && v[len(v)-1] == '\\' {
		return false, false
	}
	var c byte
	for i := 0; i < len(v); i++ {
		c |= tagByte[v[i]]
	}
	switch {
	case c&tagControl != 0:
		return false, false
	case c&tagNonASCII != 0 && !validUTF8(v):
		return false, false
	}
	return true, c&tagEscape != 0
}

func validUTF8[S string | []byte](v S) bool {
	switch v := any(v).(type) {
	case string:
		return utf8.ValidString(v)
	case []byte:
		return utf8.Valid(v)
	}
	return false
}

// Classes of the bytes of a tag value.
const (
	tagControl  = 1 << iota // cannot be carried
	tagEscape               // ends a tag value unless escaped
	tagNonASCII             // part of a multi-byte UTF-8 sequence
)

var tagByte = func() (t [256]byte) {
	for c := range 256 {
		switch {
		case c < 0x20 || c == 0x7f:
			t[c] = tagControl
		case c == ',' || c == '=' || c == ' ':
			t[c] = tagEscape
		case c >= 0x80:
			t[c] = tagNonASCII
		}
	}
	return t
}()
