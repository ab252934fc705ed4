// Package availability turns an asset's reachability and reboots into
// availability and downtime per period.
//
// The agent records every poll of a target as an agent_poll sample with
// up = true or false, and the SNMP collector records each reboot it sees
// (uptime going back) as a reboot sample stamped with the boot time, with
// the last time the device was seen up before it. From these:
//
//   - After an observation the asset keeps its state until the next one,
//     for at most MaxGap. Where no observation covers the time (the agent
//     was stopped or could not send), the time is unmonitored: it counts
//     neither as up nor as down.
//   - With several collectors polling one asset, it is up while any of
//     them last saw it up.
//   - A reboot is down from the last time the device was seen up until it
//     booted, where that time was monitored: an upper bound, since the
//     device went down somewhere in between. A reboot that polls also saw
//     fail becomes one outage with them.
//   - Availability is up time over monitored time.
package availability

import (
	"cmp"
	"slices"
	"time"
)

// Observation is one poll's verdict on one asset.
type Observation struct {
	Time   time.Time
	Up     bool
	Source string // the collector, so that several pollers combine
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
)

// Segment is a stretch of time in one state. Cause says why a Down
// segment is down: "unreachable" or "reboot".
type Segment struct {
	Start, End time.Time
	State      State
	Cause      string
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
	type seen struct {
		at time.Time
		up bool
	}
	last := map[string]seen{}
	stateAt := func(t time.Time) State {
		s := Unknown
		for _, l := range last {
			if t.Sub(l.at) > maxGap {
				continue
			}
			if l.up {
				return Up
			}
			s = Down
		}
		return s
	}
	var segs []Segment
	add := func(start, end time.Time, st State) {
		if !end.After(start) {
			return
		}
		cause := ""
		if st == Down {
			cause = "unreachable"
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
			last[obs[i].Source] = seen{t, obs[i].Up}
		}
		st := stateAt(t)
		end := t.Add(maxGap)
		if i < len(obs) && obs[i].Time.Before(end) {
			end = obs[i].Time
		}
		add(t, end, st)
		if i < len(obs) && end.Before(obs[i].Time) {
			add(end, obs[i].Time, Unknown)
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

// paint marks the monitored parts of [from, to) down because of a reboot.
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
		put(Segment{Start: maxTime(s.Start, from), End: minTime(s.End, to), State: Down, Cause: "reboot"})
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

// Outage is one stretch of downtime.
type Outage struct {
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Seconds float64   `json:"seconds"`
	Cause   string    `json:"cause"`          // unreachable, or reboot when the asset rebooted in it
	Open    bool      `json:"open,omitempty"` // still down at the end of the period
}

// Report sums up one period.
type Report struct {
	Start            time.Time `json:"start"`
	Stop             time.Time `json:"stop"`
	MonitoredSeconds float64   `json:"monitored_seconds"`
	UpSeconds        float64   `json:"up_seconds"`
	DownSeconds      float64   `json:"down_seconds"`
	// Availability is up time over monitored time (0 to 1); nil when
	// nothing of the period was monitored.
	Availability *float64 `json:"availability"`
	Reboots      int      `json:"reboots"`
	Outages      []Outage `json:"outages"`
}

// Summarize reports the period [start, stop) of a timeline. reboots are
// counted by their boot time.
func Summarize(segs []Segment, reboots []Reboot, start, stop time.Time) Report {
	r := Report{Start: start.UTC(), Stop: stop.UTC(), Outages: []Outage{}}
	var cur *Outage
	for _, s := range segs {
		a, b := maxTime(s.Start, start), minTime(s.End, stop)
		if !b.After(a) {
			continue
		}
		d := b.Sub(a).Seconds()
		switch s.State {
		case Up:
			r.UpSeconds += d
		case Down:
			r.DownSeconds += d
		}
		if s.State != Down {
			cur = nil
			continue
		}
		if cur != nil && cur.End.Equal(a) {
			cur.End = b
			if s.Cause == "reboot" {
				cur.Cause = "reboot"
			}
		} else {
			r.Outages = append(r.Outages, Outage{Start: a.UTC(), End: b.UTC(), Cause: s.Cause})
			cur = &r.Outages[len(r.Outages)-1]
		}
	}
	for i := range r.Outages {
		o := &r.Outages[i]
		o.Seconds = o.End.Sub(o.Start).Seconds()
		o.Open = o.End.Equal(stop.UTC())
	}
	r.MonitoredSeconds = r.UpSeconds + r.DownSeconds
	if r.MonitoredSeconds > 0 {
		v := r.UpSeconds / r.MonitoredSeconds
		r.Availability = &v
	}
	for _, rb := range reboots {
		if !rb.Boot.Before(start) && rb.Boot.Before(stop) {
			r.Reboots++
		}
	}
	slices.SortFunc(r.Outages, func(a, b Outage) int { return cmp.Compare(a.Start.UnixNano(), b.Start.UnixNano()) })
	return r
}
