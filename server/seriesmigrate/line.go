package seriesmigrate

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kpilot/kpilot/internal/lineproto"
	"github.com/kpilot/kpilot/server/tsdb"
)

// Field types as SHOW FIELD KEYS names them.
const (
	typeFloat    = "float"
	typeInteger  = "integer"
	typeUnsigned = "unsigned"
	typeString   = "string"
	typeBoolean  = "boolean"
)

// fieldTypes maps a measurement's field keys to their InfluxDB types.
// InfluxQL's JSON answer cannot tell a float 2.0 from an integer 2, so a
// value is written with the type InfluxDB holds for its field, not the
// one its JSON suggests. A key InfluxDB lists with two types (a type
// changed between shards) maps to "" and its values keep the JSON's type.
type fieldTypes map[string]string

// isLegacyTag reports whether a tag is one of the old schema's tenant
// tags, or the new one (which the copy sets itself).
func isLegacyTag(k string) bool {
	switch k {
	case tsdb.LegacyAssetTag, tsdb.LegacyOrgTag, tsdb.LegacyOUTag, tsdb.AssetTag:
		return true
	}
	return false
}

// appendSeriesKey appends the new schema's series key of an old series:
// the measurement and its tags, sorted, without the legacy tenant tags
// and with asset=seriesID, escaped as line protocol wants them. A tag
// value line protocol cannot carry (a newline, a trailing backslash) is
// an error: the ingest never wrote one, so something else did.
func appendSeriesKey(dst []byte, measurement string, tags map[string]string, seriesID string) ([]byte, error) {
	keys := make([]string, 0, len(tags)+1)
	for k, v := range tags {
		if v == "" || isLegacyTag(k) { // line protocol has no empty tag values
			continue
		}
		if ok, _ := lineproto.CheckTagValue(v); !ok {
			return dst, fmt.Errorf("tag %s=%q cannot be written in line protocol", k, v)
		}
		keys = append(keys, k)
	}
	keys = append(keys, tsdb.AssetTag)
	slices.Sort(keys)
	dst = appendMeasurement(dst, measurement)
	for _, k := range keys {
		v := tags[k]
		if k == tsdb.AssetTag {
			v = seriesID
		}
		dst = append(dst, ',')
		dst = lineproto.AppendTagValue(dst, k) // a key escapes as a tag value does
		dst = append(dst, '=')
		dst = lineproto.AppendTagValue(dst, v)
	}
	return dst, nil
}

// appendMeasurement appends a measurement name, escaping the comma and
// the space (InfluxDB unescapes only those two in a measurement).
func appendMeasurement(dst []byte, m string) []byte {
	for i := 0; i < len(m); i++ {
		if m[i] == ',' || m[i] == ' ' {
			dst = append(dst, '\\')
		}
		dst = append(dst, m[i])
	}
	return dst
}

// appendFields appends " k=v,k=v" for the non-null fields of one row of
// a SELECT * answer (cols names its columns; the "time" column is
// skipped) and returns how many it wrote. Strings are written as
// InfluxDB 1.x reads them (lineproto.AppendInfluxString), as the server's
// ingest writes them.
func appendFields(dst []byte, cols []string, row []any, types fieldTypes) ([]byte, int, error) {
	n := 0
	for j, c := range cols {
		if c == "time" || j >= len(row) || row[j] == nil {
			continue
		}
		if n == 0 {
			dst = append(dst, ' ')
		} else {
			dst = append(dst, ',')
		}
		dst = lineproto.AppendTagValue(dst, c)
		dst = append(dst, '=')
		var err error
		if dst, err = appendValue(dst, row[j], types[c]); err != nil {
			return dst, n, fmt.Errorf("field %s: %w", c, err)
		}
		n++
	}
	return dst, n, nil
}

// appendValue appends a field value read back from InfluxQL (int64,
// float64, bool or string) as a value of type typ ("" keeps the Go type).
func appendValue(dst []byte, v any, typ string) ([]byte, error) {
	switch x := v.(type) {
	case float64:
		switch typ {
		case typeFloat, "":
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return dst, fmt.Errorf("value %v cannot be written", x)
			}
			return lineproto.AppendFloat(dst, x), nil
		case typeInteger, typeUnsigned:
			// An integer above 2^53 read through a float: refuse rather
			// than write a rounded value.
			if x != math.Trunc(x) || math.Abs(x) >= 1<<53 {
				return dst, fmt.Errorf("integer field holds %v", x)
			}
			return lineproto.AppendInt(dst, int64(x)), nil
		}
	case int64:
		switch typ {
		case typeInteger, typeUnsigned, "":
			return lineproto.AppendInt(dst, x), nil
		case typeFloat:
			return lineproto.AppendFloat(dst, float64(x)), nil
		}
	case bool:
		if typ == typeBoolean || typ == "" {
			return lineproto.AppendBool(dst, x), nil
		}
	case string:
		if typ == typeString || typ == "" {
			return lineproto.AppendInfluxString(dst, x), nil
		}
	}
	return dst, fmt.Errorf("value %v (%T) does not fit the field's type %q", v, v, typ)
}

// timeAt returns the time of row (its "time" column at index ti) in
// nanoseconds since the epoch.
func timeAt(row []any, ti int) (int64, error) {
	if ti < 0 || ti >= len(row) {
		return 0, fmt.Errorf("answer has no time column")
	}
	switch t := row[ti].(type) {
	case time.Time:
		return t.UnixNano(), nil
	case int64: // epoch=ns answers read as numbers
		return t, nil
	}
	return 0, fmt.Errorf("time %v (%T) is not a time", row[ti], row[ti])
}

// columnIndex returns the index of column name in cols, or -1.
func columnIndex(cols []string, name string) int { return slices.Index(cols, name) }

// quoteIdent quotes an InfluxQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// quoteString quotes an InfluxQL string literal.
func quoteString(s string) string {
	return `'` + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + `'`
}

// timeLiteral is an InfluxQL time literal: nanoseconds since the epoch.
func timeLiteral(ns int64) string { return strconv.FormatInt(ns, 10) }
