package checkup_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/checkup"
	"github.com/kpilot/kpilot/server/maintenance"
	"github.com/kpilot/kpilot/server/store"
)

// TestDependentsOfADeadSwitch scripts agent_poll histories in a real
// influxd: a switch and three devices behind it stop answering. The
// switch's unreachable finding is the one to tell of; the devices'
// findings open suppressed by it (one of them, past its grace before the
// switch is, is held back until the switch's opens), so one is notified,
// not four. When the switch answers again, the devices that answer with
// it resolve: one recovery to tell. A device still away after the switch
// came back is handed over to a finding of its own, told anew. A device
// in a maintenance window has its finding marked with the window.
func TestDependentsOfADeadSwitch(t *testing.T) {
	h := newHistory(t)
	ctx := t.Context()
	for _, key := range []string{"sw", "d1", "d2", "d3"} {
		a := store.Asset{OrgID: h.org.ID, OUID: h.org.RootOU, Name: key, Category: "network"}
		require.NoError(t, h.st.CreateAsset(ctx, &a, nil))
		h.assets[key] = a
		if key != "sw" {
			require.NoError(t, h.st.SetAssetParent(ctx, h.org.ID, a.ID, h.assets["sw"].ID))
		}
	}
	win := store.MaintenanceWindow{OrgID: h.org.ID, AssetID: h.assets["d1"].ID, StartsAt: h.now.Add(-time.Hour),
		EndsAt: h.now.Add(time.Hour), TimeZone: "UTC", CreatedBy: "t", CreatedAt: h.now}
	require.NoError(t, h.st.CreateMaintenanceWindow(ctx, &win))
	var rules checkup.RuleSet
	for _, r := range checkup.DefaultRules().Rules {
		if r.Kind == checkup.Unreachable {
			rules.Rules = append(rules.Rules, r)
		}
	}
	clock := h.now
	var changes []store.Reconciled
	r := checkup.NewRunner(h.st, h.ts, rules, discard, nil, checkup.WithClock(func() time.Time { return clock }),
		checkup.WithNotify(func(_ context.Context, _ string, c store.Reconciled) { changes = append(changes, c) }),
		checkup.WithMaintenance(func(ctx context.Context, orgID string) (checkup.Windows, error) {
			return maintenance.Load(ctx, h.st, orgID)
		}))

	var lp strings.Builder
	const (
		ok          = `up=true,outcome=0i,message=""`
		unreachable = `up=false,outcome=2i,message="no answer within 10s"`
	)
	// poll writes one poll a minute of asset from minute from to minute to
	// (relative to h.now), down or not.
	poll := func(asset string, from, to int, down bool) {
		for m := from; m <= to; m++ {
			fields := ok
			if down {
				fields = unreachable
			}
			fmt.Fprintf(&lp, "agent_poll,asset=%s,collector=snmp %s %d\n", h.assets[asset].SeriesID, fields,
				h.now.Add(time.Duration(m)*time.Minute).UnixNano())
		}
	}
	evaluate := func(at int) store.Reconciled {
		t.Helper()
		require.NoError(t, h.ts.Write(ctx, []byte(lp.String())))
		lp.Reset()
		clock, changes = h.now.Add(time.Duration(at)*time.Minute), nil
		_, err := r.Evaluate(ctx, h.org.ID)
		require.NoError(t, err)
		if len(changes) == 0 {
			return store.Reconciled{}
		}
		require.Len(t, changes, 1)
		return changes[0]
	}
	told := func(fs []store.Finding) []string { // what a notifier tells of: the unsuppressed
		var out []string
		for _, f := range fs {
			if f.SuppressedBy == "" {
				out = append(out, h.name(f.AssetID))
			}
		}
		return out
	}

	// The switch has been away 3 minutes, d1 and d2 too; d3 (with a
	// loose cable before) 8: past its grace, but its parent is not yet.
	poll("sw", -20, -4, false)
	poll("d1", -20, -4, false)
	poll("d2", -20, -4, false)
	poll("d3", -20, -9, false)
	poll("sw", -3, 0, true)
	poll("d1", -3, 0, true)
	poll("d2", -3, 0, true)
	poll("d3", -8, 0, true)
	require.Empty(t, evaluate(0).Opened, "d3 is held back while its switch is within its grace")

	// Three minutes on, the switch is past its grace: four findings
	// open, one told.
	for _, a := range []string{"sw", "d1", "d2", "d3"} {
		poll(a, 1, 3, true)
	}
	c := evaluate(3)
	require.Len(t, c.Opened, 4)
	require.Equal(t, []string{"sw"}, told(c.Opened))
	open := h.open(t)
	swID := open["unreachable sw agent_poll,collector=snmp"].ID
	for _, d := range []string{"d1", "d2", "d3"} {
		f := open["unreachable "+d+" agent_poll,collector=snmp"]
		require.Equal(t, swID, f.SuppressedBy, d)
		require.Equal(t, map[bool]string{true: win.ID}[d == "d1"], f.MaintenanceID, "only d1 is in a window")
	}

	// The switch is back, d1 and d2 with it; d3 is not: one recovery told.
	poll("sw", 4, 5, false)
	poll("d1", 4, 5, false)
	poll("d2", 4, 5, false)
	poll("d3", 4, 5, true)
	c = evaluate(5)
	require.Empty(t, c.Opened)
	require.Len(t, c.Resolved, 3)
	require.Equal(t, []string{"sw"}, told(c.Resolved))

	// d3 stays away after the handover time: down on its own, told now.
	poll("sw", 6, 11, false)
	poll("d3", 6, 11, true)
	c = evaluate(11)
	require.Equal(t, []string{"d3"}, told(c.Opened))
	require.Len(t, c.Resolved, 1)
	require.Empty(t, told(c.Resolved), "the suppressed finding it replaces was never told")
}

// name is the key of an asset in h.assets.
func (h *history) name(id string) string {
	for k, a := range h.assets {
		if a.ID == id {
			return k
		}
	}
	return id
}

// TestRebootInMaintenanceWindow: a reboot inside one of the
// organization's maintenance windows opens no unexpected_reboot finding;
// one outside does.
func TestRebootInMaintenanceWindow(t *testing.T) {
	now := time.Date(2026, 12, 13, 12, 0, 0, 0, time.UTC)
	a := store.Asset{ID: "a1", OrgID: "o1", OUID: "ou1", Name: "esx"}
	rules := checkup.RuleSet{Rules: []checkup.Rule{{ID: "reboot", Kind: checkup.UnexpectedReboot}}}
	// Saturdays 22:00 to Sundays 04:00, Berlin time.
	win := store.MaintenanceWindow{ID: "w1", OrgID: "o1", OUID: "ou1", Recurrence: "0 22 * * sat", Duration: 6 * time.Hour,
		TimeZone: "Europe/Berlin"}
	m := maintenance.NewMatcher(maintenance.Scope{OrgID: "o1", OUs: []store.OU{{ID: "ou1", OrgID: "o1"}}}, []store.MaintenanceWindow{win})
	tests := []struct {
		name string
		boot time.Time
		want int
	}{
		{"inside, Sunday 01:00 Berlin", time.Date(2026, 12, 13, 0, 0, 0, 0, time.UTC), 0},
		{"outside, Sunday 08:00 Berlin", time.Date(2026, 12, 13, 7, 0, 0, 0, time.UTC), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := checkup.Input{Now: now, OrgID: "o1", Assets: []store.Asset{a}, Reboots: map[string][]time.Time{a.ID: {tt.boot}}, Maintenance: m}
			require.Len(t, checkup.Evaluate(rules, in), tt.want)
		})
	}
}
