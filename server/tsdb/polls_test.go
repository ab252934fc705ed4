package tsdb_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/server/tsdb"
)

// TestLatestPolls reads the latest poll outcome of assets from a real
// influxd: the newest agent_poll point of each collector, the worst of
// them per asset, older agents' up-only points, and nothing beyond the
// lookback or of assets not asked for.
func TestLatestPolls(t *testing.T) {
	influx := devenv.Influx(t)
	ts := tsdb.New(tsdb.Options{URL: influx.URL, Database: influx.Database, RetentionPolicy: "autogen", Timeout: 10 * time.Second})
	t.Cleanup(ts.Close)
	now := time.Now().Truncate(time.Second)
	at := func(d time.Duration) int64 { return now.Add(-d).UnixNano() }
	lines := []string{
		// Two collectors: SNMP ok then unreachable, Redfish rejected in between.
		fmt.Sprintf(`agent_poll,asset=2.1,collector=snmp up=true,outcome=0i,message="",duration_seconds=0.1 %d`, at(3*time.Minute)),
		fmt.Sprintf(`agent_poll,asset=2.1,collector=snmp up=false,outcome=2i,message="no answer from 192.0.2.10:161 within 10s: is it reachable?",duration_seconds=10 %d`, at(time.Minute)),
		fmt.Sprintf(`agent_poll,asset=2.1,collector=redfish up=true,outcome=3i,message="HTTP 401 Unauthorized",duration_seconds=0.2 %d`, at(2*time.Minute)),
		// An agent without outcome: up false is any failure.
		fmt.Sprintf(`agent_poll,asset=2.2,collector=snmp up=false,duration_seconds=10 %d`, at(time.Minute)),
		// Ok, then partial: the newest counts.
		fmt.Sprintf(`agent_poll,asset=2.3,collector=snmp up=true,outcome=0i,message="" %d`, at(2*time.Minute)),
		fmt.Sprintf(`agent_poll,asset=2.3,collector=snmp up=true,outcome=1i,message="1 problems" %d`, at(time.Minute)),
		// Only a poll from before the lookback.
		fmt.Sprintf(`agent_poll,asset=2.4,collector=snmp up=false,outcome=2i,message="old" %d`, at(72*time.Hour)),
		// Not asked for.
		fmt.Sprintf(`agent_poll,asset=2.5,collector=snmp up=false,outcome=2i,message="other" %d`, at(time.Minute)),
	}
	require.NoError(t, ts.Write(t.Context(), []byte(strings.Join(lines, "\n"))))

	refs := []tsdb.AssetRef{{ID: "a1", Series: "2.1"}, {ID: "a2", Series: "2.2"}, {ID: "a3", Series: "2.3"}, {ID: "a4", Series: "2.4"}}
	got, err := ts.LatestPolls(t.Context(), refs, 24*time.Hour)
	require.NoError(t, err)
	require.Equal(t, map[string]*tsdb.PollStatus{
		"a1": {Outcome: "unreachable", Message: "no answer from 192.0.2.10:161 within 10s: is it reachable?",
			At: now.Add(-time.Minute).UTC(), Collector: "snmp"},
		"a2": {Outcome: "failed", At: now.Add(-time.Minute).UTC(), Collector: "snmp"},
		"a3": {Outcome: "partial", Message: "1 problems", At: now.Add(-time.Minute).UTC(), Collector: "snmp"},
	}, got)

	// With the SNMP agent answering again, the rejected BMC credentials
	// are what is wrong with the asset.
	require.NoError(t, ts.Write(t.Context(), []byte(fmt.Sprintf(`agent_poll,asset=2.1,collector=snmp up=true,outcome=0i,message="" %d`, at(30*time.Second)))))
	got, err = ts.LatestPolls(t.Context(), refs[:1], 24*time.Hour)
	require.NoError(t, err)
	require.Equal(t, &tsdb.PollStatus{Outcome: "credentials_rejected", Message: "HTTP 401 Unauthorized", At: now.Add(-2 * time.Minute).UTC(), Collector: "redfish"}, got["a1"])

	got, err = ts.LatestPolls(t.Context(), []tsdb.AssetRef{{ID: "x", Series: "2.5' OR 1=1"}, refs[2]}, time.Hour)
	require.NoError(t, err)
	require.Equal(t, []string{"a3"}, slices.Collect(maps.Keys(got)), "an invalid series id is left out of the query")
}
