package portal

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kpilot/kpilot/internal/catalog"
)

// series is a series as the API answers it, with the definition of its
// field from the catalog of the asset's organization (kpis.Series): the
// API has already dropped what the caller may not read, so the page
// never names a field it was not given.
type series struct {
	Measurement string            `json:"measurement"`
	Field       string            `json:"field"`
	Tags        map[string]string `json:"tags"`
	Points      []struct {
		Time  time.Time `json:"time"`
		Value any       `json:"value"`
	} `json:"points"`
	Definition *definition `json:"definition"`
}

// definition is what the API says a series means (kpis.Brief).
type definition struct {
	Name       catalog.Text                 `json:"name"`
	Unit       catalog.Unit                 `json:"unit"`
	Kind       catalog.Kind                 `json:"kind"`
	States     map[int64]catalog.StateValue `json:"states"`
	Thresholds *catalog.Thresholds          `json:"thresholds"`
	Key        map[string]int               `json:"key"`
}

// rateSuffix names the rate series the agent computes of a counter.
const rateSuffix = "_per_second"

// chart is what the page's script draws with uPlot: times in Unix
// seconds, one value list per line (null where a line has no point),
// values already divided into Unit (the axis' symbol: "GiB", "%").
type chart struct {
	ID     string       `json:"id"`
	Title  string       `json:"title"`
	Unit   string       `json:"unit"`
	Labels []string     `json:"labels"`
	Times  []int64      `json:"times"`
	Values [][]*float64 `json:"values"`
	// From and To are the chosen range (Unix seconds): the x-axis spans
	// it whatever points there are, so one point is not a year wide.
	From int64 `json:"from"`
	To   int64 `json:"to"`
	// Lines are the warning and critical thresholds, in the axis' unit.
	Lines []limit `json:"lines,omitempty"`
}

// limit is a threshold line on a chart.
type limit struct {
	Label    string  `json:"label"`
	Value    float64 `json:"value"`
	Severity string  `json:"severity"`
}

// kpiField is one field an asset reports: a row of the latest values
// and, when it can be drawn, a chart the page may show.
type kpiField struct {
	Key, Measurement, Field string
	// Title is the definition's name in the page's language; a field the
	// catalog does not define keeps its key.
	Title string
	// Latest is the newest value as a person reads it: in its unit
	// (catalog.Format), a state by its name.
	Latest string
	// Chart says the field is drawn: numeric gauges, and counters as
	// their rate. States, facts and timestamps are listed only.
	Chart bool
	// Rate marks a counter without a rate series: the page draws the
	// rate of its values. ChartTitle and Unit are then the rate's.
	Rate       bool
	ChartTitle string
	Unit       catalog.Unit
	// Timeline marks a state drawn as a labelled timeline of its states.
	Timeline bool
	// Rank is the field's place among the key figures of the asset's
	// category (1 first); 0 for a field that is not one.
	Rank       int
	States     map[int64]catalog.StateValue
	Thresholds *catalog.Thresholds
	percent    bool
}

// chartable lists the fields of an asset's latest values that a page
// shows: the key figures of category by rank, then percentages, then
// the rest by key. perSecond names a counter's rate in the page's
// language.
func chartable(latest []series, lang, category string, perSecond func(name string) string) []kpiField {
	present := map[string]bool{}
	for _, s := range latest {
		present[s.Measurement+"."+s.Field] = true
	}
	seen := map[string]bool{}
	var out []kpiField
	for _, s := range latest {
		key := s.Measurement + "." + s.Field
		if len(s.Points) == 0 || s.Measurement == "agent_poll" || seen[key] {
			continue
		}
		f, ok := describe(s, lang, present[key+rateSuffix], perSecond)
		if !ok {
			continue
		}
		if s.Definition != nil {
			f.Rank = s.Definition.Key[category]
		}
		seen[key] = true
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b kpiField) int {
		if (a.Rank > 0) != (b.Rank > 0) {
			if a.Rank > 0 {
				return -1
			}
			return 1
		}
		if a.Rank != b.Rank {
			return cmp.Compare(a.Rank, b.Rank)
		}
		if a.percent != b.percent {
			if a.percent {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Key, b.Key)
	})
	return out
}

// describe makes the row of a series from its newest point; false for a
// value that is neither a number nor defined.
func describe(s series, lang string, hasRate bool, perSecond func(string) string) (kpiField, bool) {
	key := s.Measurement + "." + s.Field
	f := kpiField{Key: key, Measurement: s.Measurement, Field: s.Field, Title: key, ChartTitle: key}
	v := s.Points[0].Value
	num, isNum := v.(float64)
	d := s.Definition
	if d == nil {
		if !isNum {
			return f, false
		}
		f.Latest, f.Chart = catalog.Format(num, catalog.None, lang), true
		f.percent = strings.HasSuffix(s.Field, "_percent")
		return f, true
	}
	f.Title, f.ChartTitle, f.Unit = d.Name.In(lang), d.Name.In(lang), d.Unit
	f.States, f.Thresholds = d.States, d.Thresholds
	f.percent = d.Unit == catalog.Percent || d.Unit == catalog.Ratio
	switch {
	case !isNum:
		f.Latest = scalar(v, lang)
	case d.Kind == catalog.State:
		f.Latest = scalar(v, lang)
		if st, ok := d.States[int64(num)]; ok && num == math.Trunc(num) {
			f.Latest = st.Name.In(lang)
		}
		f.Timeline = len(d.States) > 0
	default:
		f.Latest = catalog.Format(num, d.Unit, lang)
		switch d.Kind {
		case catalog.Gauge:
			f.Chart = d.Unit != catalog.Timestamp
		case catalog.Counter:
			// The agent's rate series is listed and drawn on its own.
			if !hasRate {
				f.Chart, f.Rate = true, true
				f.ChartTitle, f.Unit = perSecond(f.Title), catalog.RateUnit(d.Unit)
			}
		}
	}
	return f, true
}

// toChart joins the series of one field into one chart titled with the
// field's name and the unit its axis shows. For a counter drawn as its
// rate (f.Rate), the series are its last values per window, and each
// point becomes the rate since the one before; windows that start after
// complete have not ended, and their value would understate the rate.
func toChart(id string, f kpiField, ss []series, complete time.Time) chart {
	c := chart{ID: id, Title: f.ChartTitle, To: complete.Unix()}
	ss = ss[:min(len(ss), maxLines)]
	lines := make([][]point, len(ss))
	times := map[int64]bool{}
	big := 0.0
	for k, s := range ss {
		lines[k] = points(s)
		if f.Rate {
			lines[k] = rates(slices.DeleteFunc(lines[k], func(p point) bool { return p.t > complete.Unix() }))
		}
		for _, p := range lines[k] {
			times[p.t] = true
			big = max(big, math.Abs(p.v))
		}
	}
	if t := f.Thresholds; t != nil && !f.Rate {
		for _, v := range []*float64{t.Warning, t.Critical} {
			if v != nil {
				big = max(big, math.Abs(*v))
			}
		}
	}
	div, symbol := axisScale(f.Unit, big)
	c.Unit = symbol
	if t := f.Thresholds; t != nil && !f.Rate {
		if t.Warning != nil {
			c.Lines = append(c.Lines, limit{Value: *t.Warning / div, Severity: string(catalog.Warning)})
		}
		if t.Critical != nil {
			c.Lines = append(c.Lines, limit{Value: *t.Critical / div, Severity: string(catalog.Critical)})
		}
	}
	if symbol != "" {
		c.Title += " (" + symbol + ")"
	}
	for t := range times {
		c.Times = append(c.Times, t)
	}
	slices.Sort(c.Times)
	index := make(map[int64]int, len(c.Times))
	for i, t := range c.Times {
		index[t] = i
	}
	for k, s := range ss {
		c.Labels = append(c.Labels, seriesLabel(s, f.Title))
		vals := make([]*float64, len(c.Times))
		for _, p := range lines[k] {
			v := p.v / div
			vals[index[p.t]] = &v
		}
		c.Values = append(c.Values, vals)
	}
	return c
}

type point struct {
	t int64 // Unix seconds
	v float64
}

// points returns the numeric points of s in time order.
func points(s series) []point {
	out := make([]point, 0, len(s.Points))
	for _, p := range s.Points {
		if v, ok := p.Value.(float64); ok {
			out = append(out, point{p.Time.Unix(), v})
		}
	}
	slices.SortFunc(out, func(a, b point) int { return cmp.Compare(a.t, b.t) })
	return out
}

// rates turns a counter's values into its rate per second between
// neighbouring points; a fall is a reset (a restarted device), which
// has no rate.
func rates(ps []point) []point {
	var out []point
	for i := 1; i < len(ps); i++ {
		dt, dv := ps[i].t-ps[i-1].t, ps[i].v-ps[i-1].v
		if dt <= 0 || dv < 0 {
			continue
		}
		out = append(out, point{ps[i].t, dv / float64(dt)})
	}
	return out
}

// seriesLabel names a line by its tags as a person tells the lines
// apart (the interface, the sensor, the volume: "CPU1 Temp", not
// "descr=CPU1 Temp index=1"), or, for the only line of a field, by the
// field's name.
func seriesLabel(s series, name string) string {
	if len(s.Tags) == 0 {
		return name
	}
	for _, k := range namingTags {
		if v := s.Tags[k]; v != "" {
			return v
		}
	}
	keys := make([]string, 0, len(s.Tags))
	for k := range s.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		if s.Tags[k] != "" {
			parts = append(parts, s.Tags[k])
		}
	}
	if len(parts) == 0 {
		return name
	}
	return strings.Join(parts, " · ")
}

// namingTags are the tags that name a series on their own, best first.
var namingTags = []string{"name", "descr", "ifname", "ifName", "interface", "sensor", "volume", "pool", "disk", "device", "label", "mount", "path", "index", "ifindex"}

var (
	binarySymbols  = []string{"", "Ki", "Mi", "Gi", "Ti", "Pi"}
	decimalSymbols = []string{"", "k", "M", "G", "T", "P"}
)

// axisScale returns what values in unit are divided by on a chart whose
// largest value is big, and the symbol of the result, so that an axis
// reads as catalog.Format writes a value: GiB and KiB/s in powers of
// 1024, Mbit/s and kW in powers of 1000, durations in ms, s, min, h or d,
// a ratio as a percentage.
func axisScale(unit catalog.Unit, big float64) (div float64, symbol string) {
	prefixed := func(base float64, prefixes []string, sym string) (float64, string) {
		return prefix(big, base, prefixes, sym)
	}
	switch unit {
	case catalog.Bytes:
		return prefixed(1024, binarySymbols, "B")
	case catalog.BytesPerSecond:
		return prefixed(1024, binarySymbols, "B/s")
	case catalog.BitsPerSecond:
		return prefixed(1000, decimalSymbols, "bit/s")
	case catalog.Watts:
		return prefixed(1000, decimalSymbols, "W")
	case catalog.VoltAmperes:
		return prefixed(1000, decimalSymbols, "VA")
	case catalog.Volts:
		return prefixed(1000, decimalSymbols, "V")
	case catalog.Hertz:
		return prefixed(1000, decimalSymbols, "Hz")
	case catalog.Joules:
		div, sym := prefix(big/3600, 1000, decimalSymbols, "Wh")
		return div * 3600, sym
	case catalog.Seconds, catalog.Hours, catalog.Days:
		per := map[catalog.Unit]float64{catalog.Seconds: 1, catalog.Hours: 3600, catalog.Days: 86400}[unit]
		secs := big * per
		switch {
		case secs < 1 && secs > 0:
			return 0.001 / per, "ms"
		case secs < 60:
			return 1 / per, "s"
		case secs < 3600:
			return 60 / per, "min"
		case secs < 48*3600:
			return 3600 / per, "h"
		}
		return 86400 / per, "d"
	case catalog.Percent:
		return 1, "%"
	case catalog.Ratio:
		return 0.01, "%"
	case catalog.PerSecond:
		return 1, "/s"
	case catalog.Celsius:
		return 1, "°C"
	case catalog.Amperes:
		return 1, "A"
	case catalog.RPM:
		return 1, "rpm"
	case catalog.DBm:
		return 1, "dBm"
	case catalog.None, catalog.Timestamp:
		return 1, ""
	}
	return 1, string(unit)
}

// prefix returns the power of base that v is divided by to read with
// one of prefixes before sym.
func prefix(v, base float64, prefixes []string, sym string) (float64, string) {
	div, i := 1.0, 0
	for v/div >= base && i < len(prefixes)-1 {
		div *= base
		i++
	}
	return div, prefixes[i] + sym
}
