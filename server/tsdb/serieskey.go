package tsdb

import (
	"sort"
	"strconv"
	"strings"
)

// SeriesKey names a series of one asset stably: its measurement and its
// tags sorted by key, "m,k1=v1,k2=v2", values as they are. Check-up
// findings store it as their subject, so its form must not change: a new
// form would resolve every open finding and open it again. Tag values
// may hold "," and "=", so two series can share a SeriesKey; where that
// must not happen (grouping query results), use groupKey.
func SeriesKey(measurement string, tags map[string]string) string {
	return seriesKey(measurement, tags, false)
}

// groupKey is SeriesKey with the tag values quoted: distinct for every
// distinct series.
func groupKey(measurement string, tags map[string]string) string {
	return seriesKey(measurement, tags, true)
}

func seriesKey(measurement string, tags map[string]string, quote bool) string {
	keys := make([]string, 0, len(tags))
	n := len(measurement)
	for k, v := range tags {
		keys = append(keys, k)
		n += len(k) + len(v) + 4
	}
	sort.Strings(keys)
	var b strings.Builder
	b.Grow(n)
	b.WriteString(measurement)
	for _, k := range keys {
		b.WriteByte(',')
		b.WriteString(k)
		b.WriteByte('=')
		if quote {
			b.WriteString(strconv.Quote(tags[k]))
		} else {
			b.WriteString(tags[k])
		}
	}
	return b.String()
}
