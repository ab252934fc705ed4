package availability

import (
	"fmt"
	"slices"
	"time"
)

// Usage time is the time an asset was in use: powered on, or running.
// Three sources tell it, and at each moment the first that knows
// decides:
//
//  1. power state (SourcePower): a system's power state as its BMC
//     reports it (Redfish server_health powered_on); on is in use, off
//     (or powering on or off) is not. Each reading holds until the next,
//     for at most the gap, as polls do in Timeline; with several systems
//     the asset is in use while any is on.
//  2. uptime (SourceUptime): a reading of uptime u at t means the device
//     ran through [t-u, t], even while no agent watched it. Where a later
//     reading's boot comes after an earlier reading (a reboot or power
//     cycle between them, the readings at most the gap apart), the time
//     from the earlier reading to the boot is not in use: a lower bound,
//     since the device stopped somewhere in between. After the last
//     reading uptime knows nothing.
//  3. polls (SourcePolls): the availability timeline; up is in use, down
//     (unreachable) is not; a monitoring problem or unmonitored time is
//     unknown.
//
// Time none of them knows is unknown: it counts neither way.

// Usage sources, in the order they win.
const (
	SourcePower  = "power_state"
	SourceUptime = "uptime"
	SourcePolls  = "polls"
)

// PowerSample is one reading of a system's power state.
type PowerSample struct {
	Time   time.Time
	On     bool
	Source string // the system, so that several systems of one asset combine
}

// UptimeSample is one reading of how long the device, or a part of it
// (the operating system, the SNMP agent, a storage node), had been
// running.
type UptimeSample struct {
	Time    time.Time
	Seconds float64
	Source  string // the series read, so that each counts on its own
}

// UsageSegment is a stretch of time in which the asset was in use or not,
// as Source (SourcePower, SourceUptime, SourcePolls) says. Time no source
// knows has no segment.
type UsageSegment struct {
	Start, End time.Time
	InUse      bool
	Source     string
}

// span is a stretch of one source's verdict.
type span struct {
	start, end time.Time
	inUse      bool
}

// UsageTimeline builds the usage segments, in time order, from power
// readings, uptime readings and the availability timeline of the polls
// (Timeline's result).
func UsageTimeline(power []PowerSample, uptime []UptimeSample, polls []Segment) []UsageSegment {
	inUse, notInUse := uptimeSpans(uptime)
	return overlay([][]span{powerSpans(power), inUse, notInUse, pollSpans(polls)},
		[]string{SourcePower, SourceUptime, SourceUptime, SourcePolls})
}

// powerSpans holds each power reading as Timeline holds a poll.
func powerSpans(power []PowerSample) []span {
	obs := make([]Observation, 0, len(power))
	for _, p := range power {
		obs = append(obs, Observation{Time: p.Time, Up: p.On, Source: p.Source})
	}
	var out []span
	for _, s := range Timeline(obs, nil, 0) {
		if s.State == Up || s.State == Down {
			out = append(out, span{s.Start, s.End, s.State == Up})
		}
	}
	return out
}

// pollSpans is the up and down time of the availability timeline.
func pollSpans(segs []Segment) []span {
	var out []span
	for _, s := range segs {
		if s.State == Up || s.State == Down {
			out = append(out, span{s.Start, s.End, s.State == Up})
		}
	}
	return out
}

// uptimeSpans returns the time the uptime readings show the device
// running, and the time between a reading and a later boot of the same
// series (readings at most the gap apart) in which it did not run.
func uptimeSpans(uptime []UptimeSample) (inUse, notInUse []span) {
	bySource := map[string][]UptimeSample{}
	obs := make([]Observation, 0, len(uptime))
	for _, u := range uptime {
		if u.Seconds < 0 {
			continue
		}
		bySource[u.Source] = append(bySource[u.Source], u)
		obs = append(obs, Observation{Time: u.Time, Source: u.Source})
	}
	gap := DefaultGap(obs)
	for _, us := range bySource {
		slices.SortFunc(us, func(a, b UptimeSample) int { return a.Time.Compare(b.Time) })
		for i, u := range us {
			boot := u.Time.Add(-time.Duration(u.Seconds * float64(time.Second)))
			inUse = append(inUse, span{boot, u.Time, true})
			if i > 0 && boot.After(us[i-1].Time) && u.Time.Sub(us[i-1].Time) <= gap {
				notInUse = append(notInUse, span{us[i-1].Time, boot, false})
			}
		}
	}
	return union(inUse), union(notInUse)
}

// union merges overlapping and touching spans of one verdict.
func union(spans []span) []span {
	slices.SortFunc(spans, func(a, b span) int { return a.start.Compare(b.start) })
	var out []span
	for _, s := range spans {
		if n := len(out); n > 0 && !s.start.After(out[n-1].end) {
			out[n-1].end = maxTime(out[n-1].end, s.end)
			continue
		}
		out = append(out, s)
	}
	return out
}

// overlay lays the layers over each other, the first on top: at each
// moment the first layer with a span there decides, and names[i] names
// layer i's source. Each layer is sorted and its spans do not overlap.
func overlay(layers [][]span, names []string) []UsageSegment {
	var cuts []time.Time
	for _, l := range layers {
		for _, s := range l {
			cuts = append(cuts, s.start, s.end)
		}
	}
	slices.SortFunc(cuts, func(a, b time.Time) int { return a.Compare(b) })
	cuts = slices.CompactFunc(cuts, func(a, b time.Time) bool { return a.Equal(b) })
	next := make([]int, len(layers))
	var out []UsageSegment
	for k := 0; k+1 < len(cuts); k++ {
		a, b := cuts[k], cuts[k+1]
		for li, l := range layers {
			for next[li] < len(l) && !l[next[li]].end.After(a) {
				next[li]++
			}
			if next[li] == len(l) || l[next[li]].start.After(a) {
				continue
			}
			// The span covers [a, b): b is the next cut, never past its end.
			s := UsageSegment{Start: a, End: b, InUse: l[next[li]].inUse, Source: names[li]}
			if n := len(out); n > 0 && out[n-1].End.Equal(a) && out[n-1].InUse == s.InUse && out[n-1].Source == s.Source {
				out[n-1].End = b
			} else {
				out = append(out, s)
			}
			break
		}
	}
	return out
}

// UsageReport sums up one period's usage. Its seconds add up to the
// period: in use + not in use + unknown.
type UsageReport struct {
	Start           time.Time `json:"start"`
	Stop            time.Time `json:"stop"`
	InUseSeconds    float64   `json:"in_use_seconds"`
	NotInUseSeconds float64   `json:"not_in_use_seconds"`
	UnknownSeconds  float64   `json:"unknown_seconds"`
	// Sources is how much of the period (seconds) each source decided.
	Sources map[string]float64 `json:"sources"`
}

// SummarizeUsage reports the period [start, stop) of a usage timeline.
func SummarizeUsage(segs []UsageSegment, start, stop time.Time) UsageReport {
	r := UsageReport{Start: start.UTC(), Stop: stop.UTC(), Sources: map[string]float64{}}
	for _, s := range segs {
		a, b := maxTime(s.Start, start), minTime(s.End, stop)
		if !b.After(a) {
			continue
		}
		d := b.Sub(a).Seconds()
		if s.InUse {
			r.InUseSeconds += d
		} else {
			r.NotInUseSeconds += d
		}
		r.Sources[s.Source] += d
	}
	r.UnknownSeconds = max(stop.Sub(start).Seconds()-r.InUseSeconds-r.NotInUseSeconds, 0)
	return r
}

// Calendar periods usage is reported in, in UTC.
const (
	Day   = "day"
	Week  = "week" // Monday to Sunday (ISO 8601)
	Month = "month"
)

// Window is one period of a report.
type Window struct {
	Start, Stop time.Time
}

// PeriodStart returns the start of the calendar period (Day, Week,
// Month, UTC) that holds t.
func PeriodStart(period string, t time.Time) (time.Time, error) {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	switch period {
	case Day:
		return day, nil
	case Week:
		return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7)), nil
	case Month:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC), nil
	}
	return time.Time{}, fmt.Errorf("period %q: one of day, week, month", period)
}

// Windows splits [start, stop) at the calendar periods' bounds: one
// window per period, the first and last cut at start and stop.
func Windows(period string, start, stop time.Time) ([]Window, error) {
	from, err := PeriodStart(period, start)
	if err != nil {
		return nil, err
	}
	var out []Window
	for from.Before(stop) {
		to := from.AddDate(0, 0, 1)
		switch period {
		case Week:
			to = from.AddDate(0, 0, 7)
		case Month:
			to = from.AddDate(0, 1, 0)
		}
		out = append(out, Window{Start: maxTime(from, start).UTC(), Stop: minTime(to, stop).UTC()})
		from = to
	}
	return out, nil
}

// DefaultStart is where a usage report of period starts when its caller
// names no start: the start of the day 30 days, the week 12 weeks or the
// month 12 months before now.
func DefaultStart(period string, now time.Time) (time.Time, error) {
	switch period {
	case Week:
		now = now.AddDate(0, 0, -7*12)
	case Month:
		now = now.AddDate(0, -12, 0)
	default:
		now = now.AddDate(0, 0, -30)
	}
	return PeriodStart(period, now)
}

// UsagePeriods reports usage over [start, stop) as a whole and per
// calendar period (Windows).
func UsagePeriods(segs []UsageSegment, period string, start, stop time.Time) (UsageReport, []UsageReport, error) {
	ws, err := Windows(period, start, stop)
	if err != nil {
		return UsageReport{}, nil, err
	}
	out := make([]UsageReport, 0, len(ws))
	for _, w := range ws {
		out = append(out, SummarizeUsage(segs, w.Start, w.Stop))
	}
	return SummarizeUsage(segs, start, stop), out, nil
}
