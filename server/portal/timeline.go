package portal

import (
	"time"

	"github.com/kpilot/kpilot/internal/catalog"
)

// timeline is a state KPI drawn as labelled bars over the chosen range:
// one row per series (which sensor, which interface), one segment per
// stretch of one state, coloured by the state's severity.
type timeline struct {
	Title string
	Rows  []timelineRow
}

type timelineRow struct {
	Label string
	Segs  []segment
}

// segment is one stretch of one state. Width is its share of the range
// in percent; Severity is ok, warning, critical, unknown, or none where
// no value was reported.
type segment struct {
	Width    float64
	Name     string
	Severity string
	From, To time.Time
}

// toTimeline turns the series of a state field into a timeline over
// [from, to): a value holds until the next; before the first there is
// no data. noData names the stretches without a value.
func toTimeline(f kpiField, ss []series, from, to time.Time, lang, noData string) timeline {
	tl := timeline{Title: f.Title}
	total := to.Sub(from).Seconds()
	if total <= 0 {
		return tl
	}
	for _, s := range ss[:min(len(ss), maxLines)] {
		row := timelineRow{Label: seriesLabel(s, f.Title)}
		add := func(a, b time.Time, name, sev string) {
			a, b = maxTime(a, from), minTime(b, to)
			if !b.After(a) {
				return
			}
			if n := len(row.Segs); n > 0 && row.Segs[n-1].Name == name && row.Segs[n-1].To.Equal(a) {
				row.Segs[n-1].To = b
				row.Segs[n-1].Width += b.Sub(a).Seconds() / total * 100
				return
			}
			row.Segs = append(row.Segs, segment{Width: b.Sub(a).Seconds() / total * 100, Name: name, Severity: sev, From: a, To: b})
		}
		ps := points(s)
		if len(ps) == 0 || time.Unix(ps[0].t, 0).After(from) {
			end := to
			if len(ps) > 0 {
				end = time.Unix(ps[0].t, 0)
			}
			add(from, end, noData, "none")
		}
		for i, p := range ps {
			end := to
			if i+1 < len(ps) {
				end = time.Unix(ps[i+1].t, 0)
			}
			name, sev := stateName(f.States, p.v, lang)
			add(time.Unix(p.t, 0), end, name, sev)
		}
		tl.Rows = append(tl.Rows, row)
	}
	return tl
}

// stateName is a state value's name and severity by the catalog; a
// value it does not name is shown as the number, of unknown severity.
func stateName(states map[int64]catalog.StateValue, v float64, lang string) (string, string) {
	d := catalog.Definition{Kind: catalog.State, States: states}
	if st, ok := d.StateOf(v); ok {
		return st.Name.In(lang), string(st.Severity)
	}
	return catalog.Format(v, catalog.None, lang), string(catalog.Unknown)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
