package availability

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPlannedDowntime: an outage that a maintenance window covers in part
// splits into a planned and an unplanned outage; availability counts the
// unplanned only, over monitored time less the planned.
func TestPlannedDowntime(t *testing.T) {
	var obs []Observation
	obs = append(obs, polls(0, 30, true, "snmp")...)
	obs = append(obs, polls(30, 50, false, "snmp")...) // down 20 minutes
	obs = append(obs, polls(50, 120, true, "snmp")...)
	window := [][2]time.Time{{at(20), at(45)}} // the work ran 5 minutes late

	r := Summarize(MarkPlanned(Timeline(obs, nil, 0), window), nil, at(0), at(120))
	require.Equal(t, []Outage{
		{Start: at(30), End: at(45), Seconds: 900, Cause: "unreachable", Planned: true},
		{Start: at(45), End: at(50), Seconds: 300, Cause: "unreachable"},
	}, r.Outages)
	require.InDelta(t, 1200, r.DownSeconds, 0.001)
	require.InDelta(t, 900, r.PlannedDownSeconds, 0.001)
	require.InDelta(t, 7200, r.MonitoredSeconds, 0.001)
	require.InDelta(t, 6000.0/(7200-900), *r.Availability, 1e-9)

	// All of it planned: 100%.
	all := Summarize(MarkPlanned(Timeline(obs, nil, 0), [][2]time.Time{{at(25), at(55)}}), nil, at(0), at(120))
	require.InDelta(t, 1, *all.Availability, 1e-9)
	// No window: as before.
	none := Summarize(MarkPlanned(Timeline(obs, nil, 0), nil), nil, at(0), at(120))
	require.InDelta(t, 6000.0/7200, *none.Availability, 1e-9)
	require.Zero(t, none.PlannedDownSeconds)
}
