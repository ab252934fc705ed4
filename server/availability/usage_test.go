package availability

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/catalog"
)

// power returns one power reading a minute from minute a to b
// (exclusive).
func power(a, b int, on bool) []PowerSample {
	var out []PowerSample
	for m := a; m < b; m++ {
		out = append(out, PowerSample{Time: at(m), On: on, Source: "1"})
	}
	return out
}

// uptimes returns one uptime reading a minute from minute a to b
// (exclusive) of a device that booted at minute boot.
func uptimes(a, b, boot int, source string) []UptimeSample {
	var out []UptimeSample
	for m := a; m < b; m++ {
		out = append(out, UptimeSample{Time: at(m), Seconds: float64(m-boot) * 60, Source: source})
	}
	return out
}

func TestUsagePowerStateWins(t *testing.T) {
	// The BMC answers all the time (polls up), the host is powered off
	// from 30 to 60: not in use, though reachable.
	pw := append(power(0, 30, true), power(30, 60, false)...)
	segs := UsageTimeline(pw, nil, Timeline(polls(0, 60, true, "redfish"), nil, 0))
	r := SummarizeUsage(segs, at(0), at(60))
	require.InDelta(t, 30*60, r.InUseSeconds, 0.001)
	require.InDelta(t, 30*60, r.NotInUseSeconds, 0.001)
	require.Equal(t, map[string]float64{SourcePower: 3600}, r.Sources)
}

func TestUsageFromUptime(t *testing.T) {
	// The OS booted 100 minutes before the period; the agent was stopped
	// from 20 to 50, and the host rebooted at 58 (down from the reading at
	// 57 on); the readings end at 70 and the polls go on to 80.
	var up []UptimeSample
	up = append(up, uptimes(0, 20, -100, "host")...)
	up = append(up, uptimes(50, 58, -100, "host")...)
	up = append(up, uptimes(59, 70, 58, "host")...)
	segs := UsageTimeline(nil, up, Timeline(polls(0, 80, true, "snmp"), nil, 0))
	r := SummarizeUsage(segs, at(0), at(80))
	// The reading at 50 shows the host ran through the agent's stop. From
	// the reading at 57 to the boot at 58 it did not run; from 69 on only
	// the polls know.
	require.InDelta(t, (69-1+11)*60, r.InUseSeconds, 0.001)
	require.InDelta(t, 60, r.NotInUseSeconds, 0.001)
	require.InDelta(t, 0, r.UnknownSeconds, 0.001)
	require.InDelta(t, 69*60, r.Sources[SourceUptime], 0.001)
	require.InDelta(t, 11*60, r.Sources[SourcePolls], 0.001)
	require.Equal(t, []UsageSegment{
		{Start: at(-100), End: at(57), InUse: true, Source: SourceUptime},
		{Start: at(57), End: at(58), InUse: false, Source: SourceUptime},
		{Start: at(58), End: at(69), InUse: true, Source: SourceUptime},
		{Start: at(69), End: at(82), InUse: true, Source: SourcePolls},
	}, segs)
}

func TestUsageRebootAcrossAGapIsUnknown(t *testing.T) {
	// The agent was stopped from 10 to 50 and the host booted at 45: when
	// it went down is not known, so 9..45 is not counted as off.
	up := append(uptimes(0, 10, -10, "host"), uptimes(50, 60, 45, "host")...)
	r := SummarizeUsage(UsageTimeline(nil, up, nil), at(0), at(60))
	require.InDelta(t, (9+14)*60, r.InUseSeconds, 0.001)
	require.InDelta(t, 0, r.NotInUseSeconds, 0.001)
	require.InDelta(t, (60-9-14)*60, r.UnknownSeconds, 0.001)
}

func TestUsageSeveralUptimes(t *testing.T) {
	// The SNMP agent restarted at 30 (sysUpTime went back) while the host
	// ran on: the host's uptime shows it in use.
	up := append(uptimes(0, 60, -60, "host"), uptimes(0, 30, -5, "system")...)
	up = append(up, uptimes(31, 60, 30, "system")...)
	r := SummarizeUsage(UsageTimeline(nil, up, nil), at(0), at(59))
	require.InDelta(t, 59*60, r.InUseSeconds, 0.001)
}

func TestUsageFromPolls(t *testing.T) {
	var obs []Observation
	obs = append(obs, polls(0, 10, true, "snmp")...)
	obs = append(obs, polls(10, 20, false, "snmp")...)
	obs = append(obs, problems(20, 30, CredentialsRejected, "snmp")...)
	r := SummarizeUsage(UsageTimeline(nil, nil, Timeline(obs, nil, 0)), at(0), at(40))
	require.InDelta(t, 600, r.InUseSeconds, 0.001)
	require.InDelta(t, 600, r.NotInUseSeconds, 0.001)
	require.InDelta(t, 1200, r.UnknownSeconds, 0.001, "a monitoring problem and unmonitored time are unknown")
	require.Equal(t, map[string]float64{SourcePolls: 1200}, r.Sources)
}

func TestWindows(t *testing.T) {
	d := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v
	}
	for _, tt := range []struct {
		name, period string
		start, stop  string
		want         []Window
	}{
		{"days", Day, "2026-11-30T12:00:00Z", "2026-12-02T06:00:00Z", []Window{
			{d("2026-11-30T12:00:00Z"), d("2026-12-01T00:00:00Z")},
			{d("2026-12-01T00:00:00Z"), d("2026-12-02T00:00:00Z")},
			{d("2026-12-02T00:00:00Z"), d("2026-12-02T06:00:00Z")}}},
		{"weeks start on Monday", Week, "2026-12-02T00:00:00Z", "2026-12-15T00:00:00Z", []Window{
			{d("2026-12-02T00:00:00Z"), d("2026-12-07T00:00:00Z")},
			{d("2026-12-07T00:00:00Z"), d("2026-12-14T00:00:00Z")},
			{d("2026-12-14T00:00:00Z"), d("2026-12-15T00:00:00Z")}}},
		{"months", Month, "2026-01-01T00:00:00Z", "2026-03-10T00:00:00Z", []Window{
			{d("2026-01-01T00:00:00Z"), d("2026-02-01T00:00:00Z")},
			{d("2026-02-01T00:00:00Z"), d("2026-03-01T00:00:00Z")},
			{d("2026-03-01T00:00:00Z"), d("2026-03-10T00:00:00Z")}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Windows(tt.period, d(tt.start), d(tt.stop))
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	_, err := Windows("year", t0, t0.Add(time.Hour))
	require.ErrorContains(t, err, `period "year": one of day, week, month`)
	sunday, err := PeriodStart(Week, d("2026-12-13T23:00:00Z"))
	require.NoError(t, err)
	require.Equal(t, d("2026-12-07T00:00:00Z"), sunday)
}

// Usage time is a key figure of the built-in catalog, though computed.
func TestUsageTimeIsAKeyFigure(t *testing.T) {
	c, err := catalog.Builtin()
	require.NoError(t, err)
	d, ok := c.Lookup("usage", "in_use_seconds")
	require.True(t, ok, "configs/kpis/computed.yaml defines usage.in_use_seconds")
	require.Equal(t, catalog.Seconds, d.Unit)
	require.Equal(t, "Usage time", d.Name.EN)
	require.Contains(t, d.Key, "server")
}
