// Package availability turns an asset's reachability and reboots into
// availability and downtime per period, and its power state, uptime and
// reachability into usage time (usage.go).
//
// The agent records every poll of a target as an agent_poll sample with
// its outcome (ok, partial, unreachable, credentials rejected, protocol
// error; older agents send only up = true or false), and the SNMP
// collector records each reboot it sees (uptime going back) as a reboot
// sample stamped with the boot time, with the last time the device was
// seen up before it. From these:
//
//   - A poll is up (ok, partial), down (unreachable) or a monitoring
//     problem (credentials rejected, protocol error): the agent reached
//     something but could not tell whether the asset works, so the time
//     counts neither as up nor as down. An older agent's poll without an
//     outcome is up or down by its up field.
//   - After an observation the asset keeps its state until the next one,
//     for at most the gap (DefaultGap). Where no observation covers the
//     time (the agent was stopped or could not send), the time is
//     unmonitored: it counts neither as up nor as down.
//   - With several collectors polling one asset, it is up while any of
//     them last saw it up, else down while any saw it unreachable, else a
//     monitoring problem while any had one.
//   - A reboot is down from the last time the device was seen up until it
//     booted, where that time was monitored: an upper bound, since the
//     device went down somewhere in between. A reboot that polls also saw
//     fail becomes one outage with them.
//   - Downtime inside a maintenance window is planned (MarkPlanned).
//   - Availability is up time over monitored (up plus down) time less
//     planned downtime, as SLA reports count it: work announced in a
//     maintenance window does not count against the asset.
package availability

import (
	"cmp"
	"maps"
	"slices"
	"time"
)

// Observation is one poll's verdict on one asset.
type Observation struct {
	Time time.Time
	Up   bool
	// Problem says why the poll could not tell whether the asset is up
	// (CredentialsRejected, ProtocolError); "" for a poll that could.
	// Such a poll is neither up nor down, and Up is false.
	Problem string
	Source  string // the collector, so that several pollers combine
}

// Outcomes of a poll, as the agent's agent_poll outcome field has them.
const (
	OutcomeOK                  = 0
	OutcomePartial             = 1
	OutcomeUnreachable         = 2
	OutcomeCredentialsRejected = 3
	OutcomeProtocolError       = 4
)

// Causes: why a Down segment is down, or why a Problem segment could not
// tell.
const (
	Unreachable         = "unreachable"
	Rebooted            = "reboot"
	CredentialsRejected = "credentials_rejected"
	ProtocolError       = "protocol_error"
)

// Poll is the observation of one agent_poll sample of source at t, from
// its up and outcome fields (nil where the sample has none; older agents
// send no outcome). Outcome wins: ok and partial are up, unreachable is
// down, credentials rejected and protocol error are a monitoring problem.
// Without an outcome, or with one this server does not know (a newer
// agent's), up decides: the agent sets it false only when the target was
// unreachable. ok is false for a sample with neither field.
func Poll(t time.Time, source string, up *bool, outcome *int64) (o Observation, ok bool) {
	o = Observation{Time: t, Source: source}
	if outcome != nil {
		switch *outcome {
		case OutcomeOK, OutcomePartial:
			o.Up = true
			return o, true
		case OutcomeUnreachable:
			return o, true
		case OutcomeCredentialsRejected:
			o.Problem = CredentialsRejected
			return o, true
		case OutcomeProtocolError:
			o.Problem = ProtocolError
			return o, true
		}
	}
	if up == nil {
		return o, false
	}
	o.Up = *up
	return o, true
}

// Reboot is one reboot the agent saw.
type Reboot struct {
	Boot       time.Time
	LastSeenUp time.Time // zero when unknown
}

// State of an asset over a segment of time.
type State int8

// States.
const (
	Unknown State = iota // unmonitored
	Up
	Down
	Problem // polled, but the poll could not tell: a monitoring problem
)

// Segment is a stretch of time in one state. Cause says why a Down
// segment is down (Unreachable, Rebooted) or why a Problem segment could
// not tell (CredentialsRejected, ProtocolError).
type Segment struct {
	Start, End time.Time
	State      State
	Cause      string
	Planned    bool // a Down segment inside a maintenance window
}

// Timeline builds the segments from observations and reboots, in time
// order, adjacent segments of the same state and cause merged. maxGap 0
// takes DefaultGap(obs).
func Timeline(obs []Observation, reboots []Reboot, maxGap time.Duration) []Segment {
	if maxGap <= 0 {
		maxGap = DefaultGap(obs)
	}
	obs = slices.Clone(obs)
	slices.SortStableFunc(obs, func(a, b Observation) int { return a.Time.Compare(b.Time) })
	last := map[string]Observation{}
	stateAt := func(t time.Time) (State, string) {
		st, cause := Unknown, ""
		for _, src := range slices.Sorted(maps.Keys(last)) {
			l := last[src]
			switch {
			case t.Sub(l.Time) > maxGap:
			case l.Up:
				return Up, ""
			case l.Problem == "":
				st, cause = Down, Unreachable
			case st == Unknown:
				st, cause = Problem, l.Problem
			}
		}
		return st, cause
	}
	var segs []Segment
	add := func(start, end time.Time, st State, cause string) {
		if !end.After(start) {
			return
		}
		if n := len(segs); n > 0 && segs[n-1].State == st && segs[n-1].Cause == cause && segs[n-1].End.Equal(start) {
			segs[n-1].End = end
			return
		}
		segs = append(segs, Segment{Start: start, End: end, State: st, Cause: cause})
	}
	for i := 0; i < len(obs); {
		t := obs[i].Time
		for ; i < len(obs) && obs[i].Time.Equal(t); i++ {
			last[obs[i].Source] = obs[i]
		}
		st, cause := stateAt(t)
		end := t.Add(maxGap)
		if i < len(obs) && obs[i].Time.Before(end) {
			end = obs[i].Time
		}
		add(t, end, st, cause)
		if i < len(obs) && end.Before(obs[i].Time) {
			add(end, obs[i].Time, Unknown, "")
		}
	}
	for _, r := range reboots {
		from := r.LastSeenUp
		if from.IsZero() || !from.Before(r.Boot) {
			from = r.Boot.Add(-maxGap)
		}
		segs = paint(segs, from, r.Boot)
	}
	return segs
}

// MarkPlanned marks the Down parts of segs inside windows (each [start,
// end), in time order, as maintenance.Matcher.Planned gives them)
// planned, splitting segments at the windows' borders.
func MarkPlanned(segs []Segment, windows [][2]time.Time) []Segment {
	if len(windows) == 0 {
		return segs
	}
	var out []Segment
	for _, s := range segs {
		if s.State != Down {
			out = append(out, s)
			continue
		}
		at := s.Start
		for _, w := range windows {
			from, to := maxTime(w[0], at), minTime(w[1], s.End)
			if !to.After(from) {
				continue
			}
			if from.After(at) {
				out = append(out, Segment{Start: at, End: from, State: Down, Cause: s.Cause})
			}
			out = append(out, Segment{Start: from, End: to, State: Down, Cause: s.Cause, Planned: true})
			at = to
		}
		if s.End.After(at) {
			out = append(out, Segment{Start: at, End: s.End, State: Down, Cause: s.Cause})
		}
	}
	return out
}

// paint marks [from, to) down because of a reboot wherever it was polled
// (up, down, or a monitoring problem: the reboot is known either way);
// unmonitored time stays unmonitored.
func paint(segs []Segment, from, to time.Time) []Segment {
	if !to.After(from) {
		return segs
	}
	out := make([]Segment, 0, len(segs)+2)
	put := func(s Segment) {
		if !s.End.After(s.Start) {
			return
		}
		if n := len(out); n > 0 && out[n-1].State == s.State && out[n-1].Cause == s.Cause && out[n-1].End.Equal(s.Start) {
			out[n-1].End = s.End
			return
		}
		out = append(out, s)
	}
	for _, s := range segs {
		if !s.Start.Before(to) || !s.End.After(from) || s.State == Unknown {
			put(s)
			continue
		}
		put(Segment{Start: s.Start, End: minTime(s.End, from), State: s.State, Cause: s.Cause})
		put(Segment{Start: maxTime(s.Start, from), End: minTime(s.End, to), State: Down, Cause: Rebooted})
		put(Segment{Start: maxTime(s.Start, to), End: s.End, State: s.State, Cause: s.Cause})
	}
	return out
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

// DefaultGap is three times the median time between one source's
// observations, at least 2 minutes and at most an hour: a missed poll or
// two keeps the state, a stopped agent leaves a gap.
func DefaultGap(obs []Observation) time.Duration {
	bySource := map[string][]time.Time{}
	for _, o := range obs {
		bySource[o.Source] = append(bySource[o.Source], o.Time)
	}
	var gaps []time.Duration
	for _, ts := range bySource {
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		for i := 1; i < len(ts); i++ {
			if d := ts[i].Sub(ts[i-1]); d > 0 {
				gaps = append(gaps, d)
			}
		}
	}
	if len(gaps) == 0 {
		return 2 * time.Minute
	}
	slices.Sort(gaps)
	return min(max(3*gaps[len(gaps)/2], 2*time.Minute), time.Hour)
}

// Outage is one stretch of downtime, or of a monitoring problem.
type Outage struct {
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Seconds float64   `json:"seconds"`
	// Cause: unreachable, or reboot when the asset rebooted in it; for a
	// monitoring problem credentials_rejected or protocol_error.
	Cause string `json:"cause"`
	Open  bool   `json:"open,omitempty"` // still going on at the end of the period
	// Planned: downtime inside a maintenance window.
	Planned bool `json:"planned,omitempty"`
}

// Report sums up one period. Its seconds add up to the period:
// up + down + monitoring problem + unmonitored.
type Report struct {
	Start time.Time `json:"start"`
	Stop  time.Time `json:"stop"`
	// MonitoredSeconds is the time whose state is known: up plus down.
	MonitoredSeconds float64 `json:"monitored_seconds"`
	UpSeconds        float64 `json:"up_seconds"`
	DownSeconds      float64 `json:"down_seconds"`
	// PlannedDownSeconds is the part of DownSeconds inside maintenance
	// windows; availability does not count it.
	PlannedDownSeconds float64 `json:"planned_down_seconds"`
	// ProblemSeconds is the time the agent polled but could not tell
	// (credentials rejected, protocol error): neither up nor down.
	ProblemSeconds float64 `json:"monitoring_problem_seconds"`
	// UnmonitoredSeconds is the time no poll covered (no agent sent).
	UnmonitoredSeconds float64 `json:"unmonitored_seconds"`
	// Availability is up time over monitored time (0 to 1); nil when
	// nothing of the period was monitored.
	Availability *float64 `json:"availability"`
	Reboots      int      `json:"reboots"`
	Outages      []Outage `json:"outages"`
	// Problems are the stretches of monitoring problems, with their cause.
	Problems []Outage `json:"monitoring_problems"`
}

// Summarize reports the period [start, stop) of a timeline. reboots are
// counted by their boot time.
func Summarize(segs []Segment, reboots []Reboot, start, stop time.Time) Report {
	return summarize(segs, reboots, start, stop)
}

// SummarizeEvery summarizes each window of length every from start on, the
// last one cut at stop.
func SummarizeEvery(segs []Segment, reboots []Reboot, start, stop time.Time, every time.Duration) []Report {
	out := []Report{}
	for t := start; t.Before(stop); t = t.Add(every) {
		end := t.Add(every)
		if end.After(stop) {
			end = stop
		}
		out = append(out, summarize(segs, reboots, t, end))
	}
	return out
}

func summarize(segs []Segment, reboots []Reboot, start, stop time.Time) Report {
	r := Report{Start: start.UTC(), Stop: stop.UTC(), Outages: []Outage{}, Problems: []Outage{}}
	var cur *Outage
	curState := Unknown
	for _, s := range segs {
		a, b := maxTime(s.Start, start), minTime(s.End, stop)
		if !b.After(a) {
			continue
		}
		d := b.Sub(a).Seconds()
		var list *[]Outage
		switch s.State {
		case Up:
			r.UpSeconds += d
		case Down:
			r.DownSeconds += d
			if s.Planned {
				r.PlannedDownSeconds += d
			}
			list = &r.Outages
		case Problem:
			r.ProblemSeconds += d
			list = &r.Problems
		}
		switch {
		case list == nil:
			cur = nil
		case cur != nil && curState == s.State && cur.End.Equal(a) && (s.State == Down || cur.Cause == s.Cause) && cur.Planned == s.Planned:
			// A reboot inside an outage makes the outage a reboot's.
			cur.End = b
			if s.Cause == Rebooted {
				cur.Cause = Rebooted
			}
		default:
			*list = append(*list, Outage{Start: a.UTC(), End: b.UTC(), Cause: s.Cause, Planned: s.Planned})
			cur, curState = &(*list)[len(*list)-1], s.State
		}
	}
	for _, l := range [][]Outage{r.Outages, r.Problems} {
		for i := range l {
			o := &l[i]
			o.Seconds = o.End.Sub(o.Start).Seconds()
			o.Open = o.End.Equal(stop.UTC())
		}
		slices.SortFunc(l, func(a, b Outage) int { return cmp.Compare(a.Start.UnixNano(), b.Start.UnixNano()) })
	}
	r.MonitoredSeconds = r.UpSeconds + r.DownSeconds
	r.UnmonitoredSeconds = max(stop.Sub(start).Seconds()-r.MonitoredSeconds-r.ProblemSeconds, 0)
	if counted := r.MonitoredSeconds - r.PlannedDownSeconds; counted > 0 {
		v := r.UpSeconds / counted
		r.Availability = &v
	}
	for _, rb := range reboots {
		if !rb.Boot.Before(start) && rb.Boot.Before(stop) {
			r.Reboots++
		}
	}
	return r
}
