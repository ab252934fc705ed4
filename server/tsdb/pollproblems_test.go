package tsdb_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/server/tsdb"
)

// TestPollProblems reads runs of rejected credentials and protocol errors
// from a real influxd: per asset and collector, the newest poll and the
// first of the run it ends; nothing for a run ended by a good or an
// unreachable poll, for older agents' points, or beyond the lookback.
func TestPollProblems(t *testing.T) {
	influx := devenv.Influx(t)
	ts := tsdb.New(tsdb.Options{URL: influx.URL, Database: influx.Database, RetentionPolicy: "autogen", Timeout: 10 * time.Second})
	t.Cleanup(ts.Close)
	now := time.Now().UTC().Truncate(time.Second)
	var lines []string
	poll := func(asset, collector, fields string, ago time.Duration) {
		lines = append(lines, fmt.Sprintf(`agent_poll,asset=%s,collector=%s %s,duration_seconds=0.1 %d`, asset, collector, fields, now.Add(-ago).UnixNano()))
	}
	const ok, rejected, protocol, unreachable = `up=true,outcome=0i,message=""`, `up=true,outcome=3i,message="wrong community"`,
		`up=true,outcome=4i,message="HTTP 500 from /redfish/v1"`, `up=false,outcome=2i,message="no answer"`
	// 3.1: SNMP rejected for 40 minutes after an ok poll; Redfish's one
	// protocol error after an ok poll.
	poll("3.1", "snmp", ok, 45*time.Minute)
	for m := 40; m >= 0; m -= 5 {
		poll("3.1", "snmp", rejected, time.Duration(m)*time.Minute)
	}
	poll("3.1", "redfish", ok, 7*time.Minute)
	poll("3.1", "redfish", protocol, 2*time.Minute)
	// A collector named with a quote: escaped in the run's read.
	poll("3.1", `it's"q`, rejected, 20*time.Minute)
	poll("3.1", `it's"q`, rejected, 10*time.Minute)
	// 3.2: rejected, then ok again; 3.3: rejected, then unreachable.
	poll("3.2", "snmp", rejected, 20*time.Minute)
	poll("3.2", "snmp", ok, time.Minute)
	poll("3.3", "snmp", rejected, 20*time.Minute)
	poll("3.3", "snmp", unreachable, time.Minute)
	// 3.4: an agent without the outcome field.
	poll("3.4", "snmp", "up=false", 20*time.Minute)
	poll("3.4", "snmp", "up=false", time.Minute)
	// 3.5: rejected every hour for 30 hours: the run starts where the
	// history read does. A protocol error in between is the same run.
	for h := 30; h >= 0; h-- {
		f := rejected
		if h == 10 {
			f = protocol
		}
		poll("3.5", "snmp", f, time.Duration(h)*time.Hour)
	}
	// 3.6: a run whose last poll is past the lookback.
	poll("3.6", "snmp", rejected, 30*time.Hour)
	poll("3.6", "snmp", rejected, 26*time.Hour)
	require.NoError(t, ts.Write(t.Context(), []byte(strings.Join(lines, "\n"))))

	var refs []tsdb.AssetRef
	for n := range 6 {
		refs = append(refs, tsdb.AssetRef{ID: fmt.Sprintf("a%d", n+1), Series: fmt.Sprintf("3.%d", n+1)})
	}
	refs = append(refs, tsdb.AssetRef{ID: "x", Series: "3.1' OR 1=1"})
	got, err := ts.PollProblems(t.Context(), refs, now, 24*time.Hour, 25*time.Hour)
	require.NoError(t, err)
	require.Equal(t, []tsdb.PollProblem{
		{AssetID: "a1", Latest: tsdb.PollStatus{Outcome: "credentials_rejected", Message: "wrong community", At: now.Add(-10 * time.Minute), Collector: `it's"q`},
			Since: now.Add(-20 * time.Minute)},
		{AssetID: "a1", Latest: tsdb.PollStatus{Outcome: "protocol_error", Message: "HTTP 500 from /redfish/v1", At: now.Add(-2 * time.Minute), Collector: "redfish"},
			Since: now.Add(-2 * time.Minute)},
		{AssetID: "a1", Latest: tsdb.PollStatus{Outcome: "credentials_rejected", Message: "wrong community", At: now, Collector: "snmp"},
			Since: now.Add(-40 * time.Minute)},
		{AssetID: "a5", Latest: tsdb.PollStatus{Outcome: "credentials_rejected", Message: "wrong community", At: now, Collector: "snmp"},
			Since: now.Add(-25 * time.Hour)},
	}, got)

	got, err = ts.PollProblems(t.Context(), refs[1:4], now, 24*time.Hour, 25*time.Hour)
	require.NoError(t, err)
	require.Empty(t, got, "no problems: no further reads")
}

// TestUnreachableRuns reads runs of unreachable polls from a real influxd:
// the newest poll and the first of its run, which any other outcome
// (ok, rejected) ends, and which older agents' points (no outcome) neither
// start nor end.
func TestUnreachableRuns(t *testing.T) {
	influx := devenv.Influx(t)
	ts := tsdb.New(tsdb.Options{URL: influx.URL, Database: influx.Database, RetentionPolicy: "autogen", Timeout: 10 * time.Second})
	t.Cleanup(ts.Close)
	now := time.Now().UTC().Truncate(time.Second)
	var lines []string
	poll := func(asset, collector, fields string, ago time.Duration) {
		lines = append(lines, fmt.Sprintf(`agent_poll,asset=%s,collector=%s %s,duration_seconds=0.1 %d`, asset, collector, fields, now.Add(-ago).UnixNano()))
	}
	const ok, rejected, unreachable = `up=true,outcome=0i,message=""`, `up=true,outcome=3i,message="wrong community"`,
		`up=false,outcome=2i,message="no answer from 10.0.0.7:161 within 10s"`
	// 4.1: ok, then unreachable for 30 minutes, an old agent's point in between.
	poll("4.1", "snmp", ok, 35*time.Minute)
	for m := 30; m >= 0; m -= 10 {
		poll("4.1", "snmp", unreachable, time.Duration(m)*time.Minute)
	}
	poll("4.1", "snmp", "up=false", 15*time.Minute)
	// 4.2: rejected, then unreachable: the run starts at the first unreachable poll.
	poll("4.2", "redfish", rejected, 20*time.Minute)
	poll("4.2", "redfish", unreachable, 5*time.Minute)
	// 4.3: unreachable, then ok: no run.
	poll("4.3", "snmp", unreachable, 20*time.Minute)
	poll("4.3", "snmp", ok, time.Minute)
	// 4.4: rejected only: a monitoring problem, not a run of these.
	poll("4.4", "snmp", rejected, time.Minute)
	require.NoError(t, ts.Write(t.Context(), []byte(strings.Join(lines, "\n"))))

	var refs []tsdb.AssetRef
	for n := range 4 {
		refs = append(refs, tsdb.AssetRef{ID: fmt.Sprintf("a%d", n+1), Series: fmt.Sprintf("4.%d", n+1)})
	}
	got, err := ts.UnreachableRuns(t.Context(), refs, now, time.Hour, 2*time.Hour)
	require.NoError(t, err)
	msg := "no answer from 10.0.0.7:161 within 10s"
	require.Equal(t, []tsdb.PollProblem{
		{AssetID: "a1", Latest: tsdb.PollStatus{Outcome: "unreachable", Message: msg, At: now, Collector: "snmp"}, Since: now.Add(-30 * time.Minute)},
		{AssetID: "a2", Latest: tsdb.PollStatus{Outcome: "unreachable", Message: msg, At: now.Add(-5 * time.Minute), Collector: "redfish"},
			Since: now.Add(-5 * time.Minute)},
	}, got)
	problems, err := ts.PollProblems(t.Context(), refs, now, time.Hour, 2*time.Hour)
	require.NoError(t, err)
	require.Len(t, problems, 1)
	require.Equal(t, "a4", problems[0].AssetID)
}
