package lineproto

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Escape tables: the character written after a backslash for each byte
// that needs one, 0 for the others.
var (
	// tagEscapes: the separators that would end a tag value.
	tagEscapes = escapes(map[byte]byte{',': ',', '=': '=', ' ': ' '})
	// stringEscapes: what the library's encoder escapes in a string field.
	stringEscapes = escapes(map[byte]byte{'"': '"', '\\': '\\', '\n': 'n', '\r': 'r', '\t': 't'})
	// influxStringEscapes: what InfluxDB 1.x unescapes in a string field.
	influxStringEscapes = escapes(map[byte]byte{'"': '"', '\\': '\\'})
)

func escapes(m map[byte]byte) (t [256]byte) {
	for c, e := range m {
		t[c] = e
	}
	return t
}

func appendEscaped[S string | []byte](dst []byte, s S, table *[256]byte) []byte {
	from := 0
	for i := 0; i < len(s); i++ {
		if e := table[s[i]]; e != 0 {
			dst = append(append(append(dst, s[from:i]...), '\\'), e)
			from = i + 1
		}
	}
	return append(dst, s[from:]...)
}

// AppendTagValue appends a tag value (checked by CheckTagValue), escaping
// the characters that would end it.
func AppendTagValue[S string | []byte](dst []byte, v S) []byte {
	return appendEscaped(dst, v, &tagEscapes)
}

// The two programs write string field values differently, and both on
// purpose. The agent writes exactly what influxdata/line-protocol/v2's
// encoder writes (newline, carriage return and tab escaped as \n \r \t),
// so its batches are the bytes they have always been; the library's
// decoder on the server reads those escapes back. The server writes for
// InfluxDB 1.x, which unescapes only the quote and the backslash: a "\n"
// escape would be stored as two characters, so the controls go as they
// are, inside the quotes.

// AppendString appends a string field value, quoted, as the library's
// encoder writes it: the quote, the backslash, newline, carriage return
// and tab escaped. The agent's batches carry this form.
func AppendString[S string | []byte](dst []byte, s S) []byte {
	return append(appendEscaped(append(dst, '"'), s, &stringEscapes), '"')
}

// AppendInfluxString appends a string field value, quoted, as InfluxDB
// 1.x reads it: only the quote and the backslash escaped. The server
// writes this form to InfluxDB.
func AppendInfluxString[S string | []byte](dst []byte, s S) []byte {
	return append(appendEscaped(append(dst, '"'), s, &influxStringEscapes), '"')
}

// AppendFloat appends a float field value in its shortest form, as the
// library's encoder writes it. f must be finite.
func AppendFloat(dst []byte, f float64) []byte { return strconv.AppendFloat(dst, f, 'g', -1, 64) }

// AppendInt appends an integer field value with its 'i' suffix.
func AppendInt(dst []byte, n int64) []byte { return append(strconv.AppendInt(dst, n, 10), 'i') }

// AppendUint appends an unsigned field value with its 'u' suffix.
func AppendUint(dst []byte, n uint64) []byte { return append(strconv.AppendUint(dst, n, 10), 'u') }

// AppendBool appends a boolean field value.
func AppendBool(dst []byte, b bool) []byte { return strconv.AppendBool(dst, b) }

// AppendFieldValue checks a field value token (as the library's decoder
// returns it: without quotes, escapes or type suffix) and appends its
// canonical form for InfluxDB 1.x. Numbers are taken only in plain
// decimal notation (no hex floats, no "Inf"), and the text written is
// exactly the text checked; unsigned values are written as integers.
func AppendFieldValue(dst []byte, kind Kind, v []byte) ([]byte, error) {
	switch kind {
	case Float, Int, Uint:
		if !Decimal(v, kind) {
			return dst, fmt.Errorf("invalid number %q", v)
		}
		if kind == Uint && !FitsInt64(v) {
			return dst, fmt.Errorf("unsigned value %s is over 9223372036854775807, which InfluxDB 1.x cannot store", v)
		}
		dst = append(dst, v...)
		if kind != Float {
			// Unsigned values are written as integers: InfluxDB 1.x has no
			// unsigned type, and one field keeps one type either way.
			dst = append(dst, 'i')
		}
		return dst, nil
	case Bool:
		switch string(v) {
		case "t", "T", "true", "True", "TRUE":
			return append(dst, "true"...), nil
		case "f", "F", "false", "False", "FALSE":
			return append(dst, "false"...), nil
		}
		return dst, fmt.Errorf("invalid bool %q", v)
	case String:
		if !utf8.Valid(v) {
			return dst, errors.New("string is not valid UTF-8")
		}
		return AppendInfluxString(dst, v), nil
	}
	return dst, fmt.Errorf("unknown value kind %v", kind)
}

// AppendTimestamp appends " " and a timestamp: its digits tb, checked by
// UnixNanos to be ts, or ts formatted anew when they are not in canonical
// form (leading zeros, "-0").
func AppendTimestamp(dst, tb []byte, ts int64) []byte {
	dst = append(dst, ' ')
	if len(tb) > 1 && (tb[0] == '0' || tb[0] == '-' && tb[1] == '0') {
		return strconv.AppendInt(dst, ts, 10)
	}
	return append(dst, tb...)
}

// Tag is a tag of a line to write: a valid name and a value that
// CheckTagValue takes.
type Tag struct{ Key, Value string }

// Field is a field of a line to write, unboxed: a valid name, its kind
// and its value in F (Float), N (Int as int64 bits, Uint, Bool as 0 or 1)
// or S (String, valid UTF-8).
type Field struct {
	Key  string
	Kind Kind
	F    float64
	N    uint64
	S    string
}

// SortPairs sorts tags and fields by key, as a line wants them.
func SortPairs(tags []Tag, fields []Field) {
	if len(tags) > 1 {
		slices.SortFunc(tags, func(a, b Tag) int { return strings.Compare(a.Key, b.Key) })
	}
	if len(fields) > 1 {
		slices.SortFunc(fields, func(a, b Field) int { return strings.Compare(a.Key, b.Key) })
	}
}

// AppendLine appends a line of checked pairs, sorted by SortPairs, as the
// library's encoder writes it: names (valid names need no escaping), tag
// values escaped and empty ones left out (line protocol has none), string
// values by AppendString, a nanosecond timestamp and a newline.
func AppendLine(dst []byte, measurement string, tags []Tag, fields []Field, ns int64) []byte {
	dst = append(dst, measurement...)
	for _, t := range tags {
		if t.Value == "" {
			continue
		}
		dst = append(dst, ',')
		dst = append(dst, t.Key...)
		dst = append(dst, '=')
		dst = AppendTagValue(dst, t.Value)
	}
	sep := byte(' ')
	for _, f := range fields {
		dst = append(dst, sep)
		dst = append(dst, f.Key...)
		dst = append(dst, '=')
		switch f.Kind {
		case Float:
			dst = AppendFloat(dst, f.F)
		case Int:
			dst = AppendInt(dst, int64(f.N))
		case Uint:
			dst = AppendUint(dst, f.N)
		case Bool:
			dst = AppendBool(dst, f.N == 1)
		case String:
			dst = AppendString(dst, f.S)
		}
		sep = ','
	}
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, ns, 10)
	return append(dst, '\n')
}
