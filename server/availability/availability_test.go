package availability

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

// polls returns one observation a minute from minute a to b (exclusive).
func polls(a, b int, up bool, source string) []Observation {
	var out []Observation
	for m := a; m < b; m++ {
		out = append(out, Observation{Time: at(m), Up: up, Source: source})
	}
	return out
}

func TestOutageAndGap(t *testing.T) {
	var obs []Observation
	obs = append(obs, polls(0, 30, true, "snmp")...)
	obs = append(obs, polls(30, 40, false, "snmp")...) // unreachable 10 minutes
	obs = append(obs, polls(40, 60, true, "snmp")...)
	// the agent is stopped from minute 60 to 90
	obs = append(obs, polls(90, 120, true, "snmp")...)

	segs := Timeline(obs, nil, 0)
	r := Summarize(segs, nil, at(0), at(120))
	require.Equal(t, []Outage{{Start: at(30), End: at(40), Seconds: 600, Cause: "unreachable"}}, r.Outages)
	// The poll at 59 keeps its state to 62 (3 × the 1-minute interval);
	// 62..90 is unmonitored.
	require.InDelta(t, (120-28)*60, r.MonitoredSeconds, 0.001)
	require.InDelta(t, 600, r.DownSeconds, 0.001)
	require.InDelta(t, 1-600.0/((120-28)*60), *r.Availability, 1e-9)

	// Periods split the same timeline.
	first := Summarize(segs, nil, at(0), at(35))
	require.Equal(t, []Outage{{Start: at(30), End: at(35), Seconds: 300, Cause: "unreachable", Open: true}}, first.Outages)
	empty := Summarize(segs, nil, at(70), at(80))
	require.Nil(t, empty.Availability, "an unmonitored period has no availability")
}

func TestReboot(t *testing.T) {
	obs := polls(0, 60, true, "snmp")
	// Between the polls at 19 and 20 the device rebooted, booting at 19:30.
	boot := at(19).Add(30 * time.Second)
	reboots := []Reboot{{Boot: boot, LastSeenUp: at(19)}}
	r := Summarize(Timeline(obs, reboots, 0), reboots, at(0), at(60))
	require.Equal(t, 1, r.Reboots)
	require.Equal(t, []Outage{{Start: at(19), End: boot, Seconds: 30, Cause: "reboot"}}, r.Outages)
	require.InDelta(t, 30, r.DownSeconds, 0.001)
	require.InDelta(t, 3600, r.MonitoredSeconds, 0.001)
}

func TestRebootWithUnreachablePolls(t *testing.T) {
	// A reboot that polls also saw: one outage from the last time up to
	// the first poll that answered, caused by the reboot.
	var obs []Observation
	obs = append(obs, polls(0, 10, true, "snmp")...)
	obs = append(obs, polls(10, 13, false, "snmp")...)
	obs = append(obs, polls(13, 20, true, "snmp")...)
	reboots := []Reboot{{Boot: at(12).Add(40 * time.Second), LastSeenUp: at(9)}}
	r := Summarize(Timeline(obs, reboots, 0), reboots, at(0), at(20))
	require.Equal(t, []Outage{{Start: at(9), End: at(13), Seconds: 240, Cause: "reboot"}}, r.Outages)
}

func TestRebootWhileUnmonitored(t *testing.T) {
	// The agent was stopped from 10 to 50; the device rebooted at 40. Only
	// the monitored part of the stretch since it was last seen counts.
	obs := append(polls(0, 10, true, "snmp"), polls(50, 60, true, "snmp")...)
	reboots := []Reboot{{Boot: at(40), LastSeenUp: at(9)}}
	r := Summarize(Timeline(obs, reboots, 0), reboots, at(0), at(60))
	require.Equal(t, []Outage{{Start: at(9), End: at(12), Seconds: 180, Cause: "reboot"}}, r.Outages)
	require.Equal(t, 1, r.Reboots)
}

func TestSeveralCollectors(t *testing.T) {
	// The BMC answers while the OS does not: the asset counts as up.
	var obs []Observation
	obs = append(obs, polls(0, 30, true, "redfish")...)
	obs = append(obs, polls(0, 10, true, "snmp")...)
	obs = append(obs, polls(10, 30, false, "snmp")...)
	r := Summarize(Timeline(obs, nil, 0), nil, at(0), at(30))
	require.Empty(t, r.Outages)
	require.InDelta(t, 1, *r.Availability, 1e-9)

	// Both down: down.
	obs = append(obs, polls(30, 35, false, "redfish")...)
	obs = append(obs, polls(30, 35, false, "snmp")...)
	r = Summarize(Timeline(obs, nil, 0), nil, at(0), at(35))
	require.Len(t, r.Outages, 1)
	require.Equal(t, at(30), r.Outages[0].Start)
}

func TestDefaultGap(t *testing.T) {
	require.Equal(t, 2*time.Minute, DefaultGap(nil))
	require.Equal(t, 15*time.Minute, DefaultGap(append(polls(0, 1, true, "a"), Observation{Time: at(5), Source: "a"}, Observation{Time: at(10), Source: "a"})))
	require.Equal(t, time.Hour, DefaultGap([]Observation{{Time: at(0)}, {Time: at(120)}}))
}

func TestPoll(t *testing.T) {
	yes, no := true, false
	outcome := func(v int64) *int64 { return &v }
	for _, tt := range []struct {
		name    string
		up      *bool
		outcome *int64
		want    Observation
		ok      bool
	}{
		{name: "ok", up: &yes, outcome: outcome(OutcomeOK), want: Observation{Up: true}, ok: true},
		{name: "partial", up: &yes, outcome: outcome(OutcomePartial), want: Observation{Up: true}, ok: true},
		{name: "unreachable", up: &no, outcome: outcome(OutcomeUnreachable), want: Observation{}, ok: true},
		{name: "credentials rejected", up: &yes, outcome: outcome(OutcomeCredentialsRejected), want: Observation{Problem: CredentialsRejected}, ok: true},
		{name: "protocol error", up: &yes, outcome: outcome(OutcomeProtocolError), want: Observation{Problem: ProtocolError}, ok: true},
		{name: "outcome wins over up", up: &no, outcome: outcome(OutcomeCredentialsRejected), want: Observation{Problem: CredentialsRejected}, ok: true},
		{name: "older agent up", up: &yes, want: Observation{Up: true}, ok: true},
		{name: "older agent down: any failure", up: &no, want: Observation{}, ok: true},
		{name: "a newer agent's outcome: up decides", up: &yes, outcome: outcome(9), want: Observation{Up: true}, ok: true},
		{name: "neither field", want: Observation{}, ok: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Poll(at(1), "snmp", tt.up, tt.outcome)
			require.Equal(t, tt.ok, ok)
			tt.want.Time, tt.want.Source = at(1), "snmp"
			require.Equal(t, tt.want, got)
		})
	}
}

// problems returns one monitoring-problem observation a minute from
// minute a to b (exclusive).
func problems(a, b int, cause, source string) []Observation {
	out := polls(a, b, false, source)
	for i := range out {
		out[i].Problem = cause
	}
	return out
}

func TestMonitoringProblemIsNeitherUpNorDown(t *testing.T) {
	// Up 0..20, the BMC password expires 20..50, fixed 50..60; the agent
	// stops at 60, and the period runs to 90.
	var obs []Observation
	obs = append(obs, polls(0, 20, true, "redfish")...)
	obs = append(obs, problems(20, 40, CredentialsRejected, "redfish")...)
	obs = append(obs, problems(40, 50, ProtocolError, "redfish")...)
	obs = append(obs, polls(50, 60, true, "redfish")...)
	r := Summarize(Timeline(obs, nil, 0), nil, at(0), at(90))
	require.Empty(t, r.Outages, "a rejected credential is no outage")
	require.InDelta(t, 0, r.DownSeconds, 0.001)
	require.InDelta(t, (20+10+2)*60, r.UpSeconds, 0.001, "the poll at 59 holds to 62")
	require.InDelta(t, 30*60, r.ProblemSeconds, 0.001)
	require.InDelta(t, 28*60, r.UnmonitoredSeconds, 0.001)
	require.InDelta(t, r.UpSeconds, r.MonitoredSeconds, 0.001)
	require.InDelta(t, 1, *r.Availability, 1e-9, "up over up and down")
	require.Equal(t, []Outage{
		{Start: at(20), End: at(40), Seconds: 1200, Cause: CredentialsRejected},
		{Start: at(40), End: at(50), Seconds: 600, Cause: ProtocolError},
	}, r.Problems)

	// Only problems: nothing monitored, no availability.
	only := Summarize(Timeline(problems(0, 10, CredentialsRejected, "snmp"), nil, 0), nil, at(0), at(10))
	require.Nil(t, only.Availability)
	require.Equal(t, []Outage{{Start: at(0), End: at(10), Seconds: 600, Cause: CredentialsRejected, Open: true}}, only.Problems)
}

func TestProblemBesideOtherCollectors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		other bool // what the second collector sees
		want  State
	}{
		{"another collector reaches it: up", true, Up},
		{"another collector cannot reach it: down", false, Down},
	} {
		t.Run(tt.name, func(t *testing.T) {
			obs := append(problems(0, 10, CredentialsRejected, "redfish"), polls(0, 10, tt.other, "snmp")...)
			segs := Timeline(obs, nil, 0)
			require.Equal(t, tt.want, segs[0].State)
			require.Equal(t, at(0), segs[0].Start)
		})
	}
}

func TestOldAgentFailuresStayDown(t *testing.T) {
	// An older agent sends only up: every failure is down, as before.
	var obs []Observation
	for m := range 10 {
		up := m < 5
		o, ok := Poll(at(m), "snmp", &up, nil)
		require.True(t, ok)
		obs = append(obs, o)
	}
	r := Summarize(Timeline(obs, nil, 0), nil, at(0), at(10))
	require.InDelta(t, 300, r.DownSeconds, 0.001)
	require.Equal(t, []Outage{{Start: at(5), End: at(10), Seconds: 300, Cause: Unreachable, Open: true}}, r.Outages)
	require.InDelta(t, 0, r.ProblemSeconds+r.UnmonitoredSeconds, 0.001)
}

func TestRebootDuringAMonitoringProblem(t *testing.T) {
	// The credentials were rejected from 10 to 20; the device booted at
	// 15, last seen up at 9: the reboot is known, so 10..15 is down too.
	obs := append(polls(0, 10, true, "snmp"), problems(10, 20, CredentialsRejected, "snmp")...)
	obs = append(obs, polls(20, 30, true, "snmp")...)
	reboots := []Reboot{{Boot: at(15), LastSeenUp: at(9)}}
	r := Summarize(Timeline(obs, reboots, 0), reboots, at(0), at(30))
	require.Equal(t, []Outage{{Start: at(9), End: at(15), Seconds: 360, Cause: Rebooted}}, r.Outages)
	require.Equal(t, []Outage{{Start: at(15), End: at(20), Seconds: 300, Cause: CredentialsRejected}}, r.Problems)
}
