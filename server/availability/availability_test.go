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
