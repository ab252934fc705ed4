package tsdb_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/server/availability"
	"github.com/kpilot/kpilot/server/tsdb"
)

// TestIntegrationAvailabilityOutcomes writes a poll a minute of every
// outcome, and older agents' polls without one, to a real influxd and
// reads them back as availability does.
func TestIntegrationAvailabilityOutcomes(t *testing.T) {
	influx := devenv.Influx(t)
	ts := tsdb.New(tsdb.Options{URL: influx.URL, Database: influx.Database, RetentionPolicy: "autogen", Timeout: 10 * time.Second})
	t.Cleanup(ts.Close)
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-3 * time.Hour)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	var lp strings.Builder
	polls := func(a, b int, fields string) {
		for m := a; m < b; m++ {
			fmt.Fprintf(&lp, "agent_poll,asset=1.1,collector=redfish %s,duration_seconds=0.2 %d\n", fields, at(m).UnixNano())
		}
	}
	polls(0, 10, `up=true,outcome=0i,message=""`)
	polls(10, 20, `up=false,outcome=2i,message="no answer from 192.0.2.10:443 within 10s"`)
	polls(20, 30, `up=true,outcome=3i,message="401 Unauthorized"`)
	polls(30, 35, `up=true,outcome=4i,message="invalid JSON"`)
	polls(35, 40, `up=true,outcome=1i,message="2 of 9 resources failed"`)
	// The agent is stopped from 40 to 55 (unmonitored); then an older
	// agent, without outcome, fails 3 polls (down) and answers 3.
	polls(55, 58, "up=false")
	polls(58, 61, "up=true")
	// Another asset's polls are not read.
	fmt.Fprintf(&lp, "agent_poll,asset=1.2,collector=redfish up=false,outcome=2i %d\n", at(30).UnixNano())
	require.NoError(t, ts.Write(t.Context(), []byte(lp.String())))

	ref := tsdb.AssetRef{ID: "asset-a", Series: "1.1"}
	obs, reboots, err := ts.AvailabilityData(t.Context(), ref, at(0), at(60))
	require.NoError(t, err)
	require.Empty(t, reboots)
	require.Len(t, obs, 46)
	require.Equal(t, availability.Observation{Time: at(25), Problem: availability.CredentialsRejected, Source: "redfish"}, obs[25])
	require.Equal(t, availability.Observation{Time: at(56), Source: "redfish"}, obs[41], "an older agent's failure is down")

	r := availability.Summarize(availability.Timeline(obs, reboots, 0), reboots, at(0), at(60))
	mins := func(m float64) float64 { return m * 60 }
	require.InDelta(t, mins(10+5+2+2), r.UpSeconds, 0.001, "ok, partial, the old agent's ups; the poll at 39 holds to 42 (three intervals)")
	require.InDelta(t, mins(10+3), r.DownSeconds, 0.001, "unreachable, and the older agent's failures")
	require.InDelta(t, mins(15), r.ProblemSeconds, 0.001, "credentials rejected and protocol error")
	require.InDelta(t, mins(13), r.UnmonitoredSeconds, 0.001, "42 to 55")
	require.InDelta(t, 19.0/32, *r.Availability, 1e-9)
	require.Equal(t, []availability.Outage{
		{Start: at(10), End: at(20), Seconds: 600, Cause: availability.Unreachable},
		{Start: at(55), End: at(58), Seconds: 180, Cause: availability.Unreachable},
	}, r.Outages)
	require.Equal(t, []availability.Outage{
		{Start: at(20), End: at(30), Seconds: 600, Cause: availability.CredentialsRejected},
		{Start: at(30), End: at(35), Seconds: 300, Cause: availability.ProtocolError},
	}, r.Problems)
}

// TestIntegrationUsageData writes power and uptime readings to a real
// influxd and reads them back as usage time does.
func TestIntegrationUsageData(t *testing.T) {
	influx := devenv.Influx(t)
	ts := tsdb.New(tsdb.Options{URL: influx.URL, Database: influx.Database, RetentionPolicy: "autogen", Timeout: 10 * time.Second})
	t.Cleanup(ts.Close)
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-3 * time.Hour)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	var lp strings.Builder
	for m := range 60 {
		// A server whose BMC reports it on until 30 and off after, and
		// whose OS (hrSystemUptime, as SNMP's float seconds) booted 1000
		// minutes before t0.
		fmt.Fprintf(&lp, "server_health,asset=1.1,system=1 powered_on=%t,power_state=%q,health_code=0i %d\n", m < 30, map[bool]string{true: "On", false: "Off"}[m < 30], at(m).UnixNano())
		if m < 30 {
			fmt.Fprintf(&lp, "host,asset=1.1 uptime_seconds=%g,users=2 %d\n", float64(1000+m)*60, at(m).UnixNano())
		}
		// A storage system's two nodes (integer seconds), one rebooted
		// at 20; the rest of it is not an uptime.
		fmt.Fprintf(&lp, "storage_node,asset=1.2,node=a uptime_seconds=%di %d\n", (100+m)*60, at(m).UnixNano())
		if m != 20 {
			up := (100 + m) * 60
			if m > 20 {
				up = (m - 20) * 60
			}
			fmt.Fprintf(&lp, "storage_node,asset=1.2,node=b uptime_seconds=%di,up=1i %d\n", up, at(m).UnixNano())
		}
		fmt.Fprintf(&lp, "system,asset=1.3 uptime_seconds=%g %d\n", float64(5+m)*60, at(m).UnixNano())
	}
	require.NoError(t, ts.Write(t.Context(), []byte(lp.String())))

	server := tsdb.AssetRef{ID: "server", Series: "1.1"}
	power, uptime, err := ts.UsageData(t.Context(), server, at(0), at(60))
	require.NoError(t, err)
	require.Len(t, power, 60)
	require.Equal(t, availability.PowerSample{Time: at(30), On: false, Source: "server_health,system=1"}, power[30])
	require.Len(t, uptime, 30)
	require.Equal(t, availability.UptimeSample{Time: at(1), Seconds: 1001 * 60, Source: "host"}, uptime[1])
	r := availability.SummarizeUsage(availability.UsageTimeline(power, uptime, nil), at(0), at(60))
	require.InDelta(t, 30*60, r.InUseSeconds, 0.001, "the power state wins over the uptime")
	require.InDelta(t, 30*60, r.NotInUseSeconds, 0.001)

	storage := tsdb.AssetRef{ID: "storage", Series: "1.2"}
	power, uptime, err = ts.UsageData(t.Context(), storage, at(0), at(60))
	require.NoError(t, err)
	require.Empty(t, power)
	require.Len(t, uptime, 119)
	r = availability.SummarizeUsage(availability.UsageTimeline(power, uptime, nil), at(0), at(59))
	require.InDelta(t, 59*60, r.InUseSeconds, 0.001, "in use while either node runs")
	require.Equal(t, map[string]float64{availability.SourceUptime: 59 * 60}, r.Sources)

	network := tsdb.AssetRef{ID: "switch", Series: "1.3"}
	_, uptime, err = ts.UsageData(t.Context(), network, at(0), at(60))
	require.NoError(t, err)
	require.Len(t, uptime, 60)
	require.Equal(t, "system", uptime[0].Source)
}
