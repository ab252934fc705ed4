package checkup_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/checkup"
	"github.com/kpilot/kpilot/server/store"
)

// TestMonitoringProblemsOverPolls scripts agent_poll histories in a real
// influxd and evaluates the default monitoring_problem rule as the clock
// moves on: rejected credentials for longer than the grace open one
// finding with the agent's message; a protocol error refreshes it; an ok
// poll resolves it; a short run of protocol errors opens nothing until
// it has lasted the grace, and an unreachable poll then resolves it;
// older agents' failed polls and unreachable devices open nothing.
func TestMonitoringProblemsOverPolls(t *testing.T) {
	h := newHistory(t)
	ctx := t.Context()
	var rules checkup.RuleSet
	for _, r := range checkup.DefaultRules().Rules {
		if r.Kind == checkup.MonitoringProblem {
			rules.Rules = append(rules.Rules, r)
		}
	}
	require.Len(t, rules.Rules, 1, "every organization gets the check-up")
	clock := h.now
	r := checkup.NewRunner(h.st, h.ts, rules, discard, nil, checkup.WithClock(func() time.Time { return clock }))

	var lp strings.Builder
	poll := func(asset, collector, fields string, at time.Time) {
		fmt.Fprintf(&lp, "agent_poll,asset=%s,collector=%s %s,duration_seconds=0.2 %d\n", h.assets[asset].SeriesID, collector, fields, at.UnixNano())
	}
	write := func() {
		require.NoError(t, h.ts.Write(ctx, []byte(lp.String())))
		lp.Reset()
	}
	const (
		ok          = `up=true,outcome=0i,message=""`
		rejected    = `up=true,outcome=3i,message="authentication failed: usmStatsWrongDigests from 10.0.0.5:161"`
		protocol    = `up=true,outcome=4i,message="unexpected answer from 10.0.0.6:161"`
		unreachable = `up=false,outcome=2i,message="no answer from 10.0.0.7:161 within 10s"`
	)
	for m := 60; m >= 0; m -= 5 {
		at := h.now.Add(-time.Duration(m) * time.Minute)
		// esx: SNMP rejected for an hour; its BMC answers.
		poll("esx", "snmp", rejected, at)
		poll("esx", "redfish", ok, at)
		// esx2: ok until 10 minutes ago, then protocol errors.
		if m > 10 {
			poll("esx2", "snmp", ok, at)
		} else {
			poll("esx2", "snmp", protocol, at)
		}
		// nas: an agent without outcomes, failing all along.
		poll("nas", "snmp", "up=false", at)
		// nas2: rejected, then unreachable now.
		if m > 0 {
			poll("nas2", "snmp", rejected, at)
		} else {
			poll("nas2", "snmp", unreachable, at)
		}
	}
	write()

	open := func() map[string]store.Finding { return h.open(t) }
	opened, err := r.Evaluate(ctx, h.org.ID)
	require.NoError(t, err)
	require.Len(t, opened, 1)
	got := open()
	require.Equal(t, []string{"monitoring-problem esx agent_poll,collector=snmp"}, keys(got))
	f := got["monitoring-problem esx agent_poll,collector=snmp"]
	require.Equal(t, store.SeverityWarning, f.Severity)
	require.Equal(t, "monitoring_problem", f.Kind)
	require.Equal(t, "Credentials rejected (snmp): authentication failed: usmStatsWrongDigests from 10.0.0.5:161", f.Text)

	// Two minutes on, the device answers SNMP in a way the agent cannot
	// read: the same finding, refreshed with the new class and message.
	clock = h.now.Add(2 * time.Minute)
	poll("esx", "snmp", protocol, clock)
	write()
	opened, err = r.Evaluate(ctx, h.org.ID)
	require.NoError(t, err)
	require.Empty(t, opened)
	got = open()
	require.Equal(t, []string{"monitoring-problem esx agent_poll,collector=snmp"}, keys(got))
	require.Equal(t, f.ID, got["monitoring-problem esx agent_poll,collector=snmp"].ID)
	require.Equal(t, "Protocol error (snmp): unexpected answer from 10.0.0.6:161", got["monitoring-problem esx agent_poll,collector=snmp"].Text)

	// Five minutes on, esx's SNMP poll succeeds: resolved. esx2's
	// protocol errors have now lasted the grace (15 minutes): opened.
	clock = h.now.Add(5 * time.Minute)
	poll("esx", "snmp", ok, clock)
	poll("esx2", "snmp", protocol, clock)
	write()
	opened, err = r.Evaluate(ctx, h.org.ID)
	require.NoError(t, err)
	require.Len(t, opened, 1)
	got = open()
	require.Equal(t, []string{"monitoring-problem esx2 agent_poll,collector=snmp"}, keys(got))
	require.Equal(t, "Protocol error (snmp): unexpected answer from 10.0.0.6:161", got["monitoring-problem esx2 agent_poll,collector=snmp"].Text)

	// esx2 becomes unreachable: that is downtime, not a monitoring
	// problem; resolved, and nothing else opens.
	clock = h.now.Add(10 * time.Minute)
	poll("esx2", "snmp", unreachable, clock)
	write()
	opened, err = r.Evaluate(ctx, h.org.ID)
	require.NoError(t, err)
	require.Empty(t, opened)
	require.Empty(t, open())
	all, err := h.st.Findings(ctx, store.FindingFilter{OrgID: h.org.ID})
	require.NoError(t, err)
	require.Len(t, all, 2, "the resolved findings stay as history")

	// The organization's own rule, with a longer grace and a severity of
	// its own: nas2's credentials are rejected again, for 20 minutes
	// (nothing yet), then for 35 (critical).
	own := `rules: [{id: creds, kind: monitoring_problem, grace_minutes: 30, severity: critical}]`
	require.NoError(t, h.st.PutCheckupRules(ctx, store.CheckupRules{OrgID: h.org.ID, Doc: []byte(own), UpdatedBy: "t", UpdatedAt: clock}))
	start := clock
	for m := 5; m <= 25; m += 5 {
		poll("nas2", "snmp", rejected, start.Add(time.Duration(m)*time.Minute))
	}
	write()
	clock = start.Add(25 * time.Minute)
	opened, err = r.Evaluate(ctx, h.org.ID)
	require.NoError(t, err)
	require.Empty(t, opened, "20 minutes are within the rule's grace")
	for m := 30; m <= 40; m += 5 {
		poll("nas2", "snmp", rejected, start.Add(time.Duration(m)*time.Minute))
	}
	clock = start.Add(40 * time.Minute)
	write()
	opened, err = r.Evaluate(ctx, h.org.ID)
	require.NoError(t, err)
	require.Len(t, opened, 1)
	got = open()
	require.Equal(t, []string{"creds nas2 agent_poll,collector=snmp"}, keys(got))
	require.Equal(t, store.SeverityCritical, got["creds nas2 agent_poll,collector=snmp"].Severity)
}

func keys(m map[string]store.Finding) []string { return slices.Sorted(maps.Keys(m)) }

// TestUnreachableOverPolls scripts agent_poll histories in a real influxd
// and evaluates the default unreachable rule as the clock moves on: a
// device that stops answering opens one critical finding per collector
// once the grace has passed, with the agent's message; it is refreshed
// while the device stays away and resolved by the first answered poll,
// even one whose credentials are rejected (that is the monitoring
// problem's); a device whose BMC answers while its operating system does
// not has a finding for the failing collector only; older agents' failed
// polls (no outcome) open nothing.
func TestUnreachableOverPolls(t *testing.T) {
	h := newHistory(t)
	ctx := t.Context()
	var rules checkup.RuleSet
	for _, r := range checkup.DefaultRules().Rules {
		if r.Kind == checkup.Unreachable {
			rules.Rules = append(rules.Rules, r)
		}
	}
	require.Len(t, rules.Rules, 1, "every organization gets the check-up")
	clock := h.now
	r := checkup.NewRunner(h.st, h.ts, rules, discard, nil, checkup.WithClock(func() time.Time { return clock }))

	var lp strings.Builder
	poll := func(asset, collector, fields string, at time.Time) {
		fmt.Fprintf(&lp, "agent_poll,asset=%s,collector=%s %s,duration_seconds=0.2 %d\n", h.assets[asset].SeriesID, collector, fields, at.UnixNano())
	}
	write := func() {
		require.NoError(t, h.ts.Write(ctx, []byte(lp.String())))
		lp.Reset()
	}
	const (
		ok          = `up=true,outcome=0i,message=""`
		rejected    = `up=true,outcome=3i,message="authentication failed"`
		unreachable = `up=false,outcome=2i,message="no answer from 10.0.0.7:161 within 10s: is it reachable, and is the community right?"`
	)
	for m := 20; m >= 0; m-- {
		at := h.now.Add(-time.Duration(m) * time.Minute)
		// esx: its operating system stopped answering 10 minutes ago; its BMC answers.
		if m > 10 {
			poll("esx", "snmp", ok, at)
		} else {
			poll("esx", "snmp", unreachable, at)
		}
		poll("esx", "redfish", ok, at)
		// esx2: away for the last 3 minutes only: within the grace.
		if m > 3 {
			poll("esx2", "snmp", ok, at)
		} else {
			poll("esx2", "snmp", unreachable, at)
		}
		// nas: an agent without outcomes, failing all along.
		poll("nas", "snmp", "up=false", at)
	}
	write()

	opened, err := r.Evaluate(ctx, h.org.ID)
	require.NoError(t, err)
	require.Len(t, opened, 1)
	got := h.open(t)
	require.Equal(t, []string{"unreachable esx agent_poll,collector=snmp"}, keys(got))
	f := got["unreachable esx agent_poll,collector=snmp"]
	require.Equal(t, store.SeverityCritical, f.Severity)
	require.Equal(t, "unreachable", f.Kind)
	require.Equal(t, "Unreachable (snmp) since "+h.now.Add(-10*time.Minute).UTC().Format("2006-01-02 15:04 MST")+
		": no answer from 10.0.0.7:161 within 10s: is it reachable, and is the community right?", f.Text)

	// Three minutes on, both are still away: esx's finding is refreshed,
	// esx2's six minutes now pass the grace.
	for m := 1; m <= 3; m++ {
		poll("esx", "snmp", unreachable, h.now.Add(time.Duration(m)*time.Minute))
		poll("esx2", "snmp", unreachable, h.now.Add(time.Duration(m)*time.Minute))
	}
	write()
	clock = h.now.Add(3 * time.Minute)
	opened, err = r.Evaluate(ctx, h.org.ID)
	require.NoError(t, err)
	require.Len(t, opened, 1)
	got = h.open(t)
	require.Equal(t, []string{"unreachable esx agent_poll,collector=snmp", "unreachable esx2 agent_poll,collector=snmp"}, keys(got))
	require.Equal(t, f.ID, got["unreachable esx agent_poll,collector=snmp"].ID, "the same finding, refreshed")

	// esx answers again, if with rejected credentials; esx2 answers: both resolved.
	clock = h.now.Add(4 * time.Minute)
	poll("esx", "snmp", rejected, clock)
	poll("esx2", "snmp", ok, clock)
	write()
	opened, err = r.Evaluate(ctx, h.org.ID)
	require.NoError(t, err)
	require.Empty(t, opened)
	require.Empty(t, h.open(t))
	all, err := h.st.Findings(ctx, store.FindingFilter{OrgID: h.org.ID})
	require.NoError(t, err)
	require.Len(t, all, 2, "the resolved findings stay as history")

	// A rule of the organization's own with a longer grace: esx away for
	// 8 minutes opens nothing.
	own := `rules: [{id: down, kind: unreachable, grace_minutes: 30}]`
	require.NoError(t, h.st.PutCheckupRules(ctx, store.CheckupRules{OrgID: h.org.ID, Doc: []byte(own), UpdatedBy: "t", UpdatedAt: clock}))
	for m := 5; m <= 13; m++ {
		poll("esx", "snmp", unreachable, h.now.Add(time.Duration(m)*time.Minute))
	}
	write()
	clock = h.now.Add(13 * time.Minute)
	opened, err = r.Evaluate(ctx, h.org.ID)
	require.NoError(t, err)
	require.Empty(t, opened, "8 minutes are within the rule's grace")
}
