package checkup

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/tsdb"
)

func TestDefaultRulesParse(t *testing.T) {
	rs := DefaultRules()
	require.Len(t, rs.Rules, 10)
	kinds := map[Kind]bool{}
	for _, r := range rs.Rules {
		kinds[r.Kind] = true
	}
	require.NotContains(t, kinds, KPIThreshold, "KPIs' default thresholds are the catalog's, not a rule's")
	require.Len(t, kinds, len(KindNames())-1, "the defaults use every other kind")
}

func TestParseRefusesBadRules(t *testing.T) {
	for _, tt := range []struct{ doc, want string }{
		{"rules:\n  - {id: a, kind: nope}\n", `rule 1 (a): kind "nope": one of agent_silent,`},
		{"rules:\n  - {id: A B, kind: health}\n", `id "A B"`},
		{"rules:\n  - {id: a, kind: health}\n  - {id: a, kind: health}\n", `id "a" is used twice`},
		{"rules:\n  - {id: a, kind: storage_used}\n", "storage_used needs warning or critical (in percent)"},
		{"rules:\n  - {id: a, kind: storage_used, warning: 120}\n", "threshold 120 percent is out of range"},
		{"rules:\n  - {id: a, kind: storage_used, warning: 90, critical: 80}\n", "critical (80) must be at least warning (90)"},
		{"rules:\n  - {id: a, kind: storage_forecast, warning: 7, critical: 30}\n", "critical (30 days) must be at most warning (7 days)"},
		{"rules:\n  - {id: a, kind: health, warning: 1}\n", "health has no thresholds"},
		{"rules:\n  - {id: a, kind: health, severity: urgent}\n", `severity "urgent"`},
		{"rules:\n  - {id: a, kind: backup_age, warning: 5, severity: info}\n", "drop severity"},
		{"rules:\n  - {id: a, kind: health, history_days: 3}\n", "history_days is for storage_forecast"},
		{"rules:\n  - {id: a, kind: health, maintenance: [{start: '01:00', end: '02:00'}]}\n", "maintenance is for unexpected_reboot"},
		{"rules:\n  - {id: a, kind: unexpected_reboot, maintenance: [{weekdays: [sunday], start: '1:00', end: '02:00', timezone: Mars/Base}]}\n",
			`weekday "sunday"`},
		{"rules:\n  - {id: a, kind: firmware_drift, attributes: [BIOS]}\n", `attribute "BIOS"`},
		{"rules:\n  - {id: a, kind: health, colour: red}\n", "field colour not found"},
		{"rules: 5\n", "cannot unmarshal"},
		{"rules:\n  - {id: a, kind: kpi_threshold}\n", `kpi "": measurement.field`},
		{"rules:\n  - {id: a, kind: kpi_threshold, kpi: Storage.used}\n", `kpi "Storage.used"`},
		{"rules:\n  - {id: a, kind: kpi_threshold, kpi: storage.used_percent, warning: 90, critical: 80}\n", "set below: true"},
		{"rules:\n  - {id: a, kind: kpi_threshold, kpi: ups.charge, warning: 20, critical: 50, below: true}\n", "with below, critical (50) must be at most warning (20)"},
		{"rules:\n  - {id: a, kind: kpi_threshold, kpi: ups.charge, severity: info}\n", "drop severity"},
		{"rules:\n  - {id: a, kind: storage_used, warning: 90, kpi: storage.used_percent}\n", "kpi and below are for kpi_threshold"},
		{"rules:\n  - {id: a, kind: health, grace_minutes: 15}\n", "grace_minutes is for monitoring_problem and unreachable, 1 to 1440"},
		{"rules:\n  - {id: a, kind: monitoring_problem, grace_minutes: 2000}\n", "grace_minutes is for monitoring_problem and unreachable, 1 to 1440"},
		{"rules:\n  - {id: a, kind: monitoring_problem, warning: 1}\n", "monitoring_problem has no thresholds"},
		{"rules:\n  - {id: a, kind: monitoring_problem, severity: urgent}\n", `severity "urgent"`},
	} {
		_, err := Parse([]byte(tt.doc))
		require.ErrorContains(t, err, tt.want, tt.doc)
	}
	_, err := Parse([]byte(`{"rules": [{"id": "a", "kind": "storage_used", "warning": 80}]}`))
	require.NoError(t, err, "JSON is YAML")
}

func TestMaintenanceWindow(t *testing.T) {
	w := Window{Weekdays: []string{"sat"}, Start: "22:00", End: "04:00", Timezone: "Europe/Berlin"}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		require.NoError(t, err)
		return v
	}
	// 2026-11-21 is a Saturday.
	require.True(t, w.contains(at("2026-11-21 22:30")))
	require.True(t, w.contains(at("2026-11-22 03:59")), "after midnight belongs to Saturday's window")
	require.False(t, w.contains(at("2026-11-22 04:00")))
	require.False(t, w.contains(at("2026-11-21 21:59")))
	require.False(t, w.contains(at("2026-11-22 22:30")), "Sunday evening is not in it")
	require.False(t, w.contains(at("2026-11-21 03:00")), "Saturday early morning belongs to Friday's night")
	require.True(t, w.contains(at("2026-11-21 22:30").UTC()), "times in other zones are converted")

	day := Window{Start: "01:00", End: "03:00"}
	require.True(t, day.contains(time.Date(2026, 1, 5, 2, 0, 0, 0, time.UTC)))
	require.False(t, day.contains(time.Date(2026, 1, 5, 3, 0, 0, 0, time.UTC)))
}

func TestCompareVersions(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"2.10", "2.9", 1}, {"2.9", "2.10", -1}, {"1.2.3", "1.2.3", 0}, {"U32 v2.42", "U32 v2.40", 1},
		{"1.02", "1.2", 0}, {"1.2", "1.2.1", -1}, {"A12", "a12", 0}, {"7.0.3-20842708", "7.0.3-21424296", -1},
	} {
		require.Equal(t, tt.want, CompareVersions(tt.a, tt.b), "%s vs %s", tt.a, tt.b)
	}
}

func TestFitTrend(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var ps []tsdb.Point
	for i := range 15 {
		ps = append(ps, tsdb.Point{Time: t0.Add(time.Duration(i) * 24 * time.Hour), Value: 50 + 2*float64(i)})
	}
	tr, ok := FitTrend(ps)
	require.True(t, ok)
	require.InDelta(t, 2, tr.PerDay, 1e-9)
	require.InDelta(t, 78, tr.Current, 1e-9)
	require.InDelta(t, 11, tr.DaysToFull, 1e-9)

	flat := []tsdb.Point{{Time: t0, Value: 60.0}, {Time: t0.Add(10 * time.Hour), Value: 60.0},
		{Time: t0.Add(20 * time.Hour), Value: 60.0}, {Time: t0.Add(30 * time.Hour), Value: 60.0}}
	tr, ok = FitTrend(flat)
	require.True(t, ok)
	require.True(t, math.IsInf(tr.DaysToFull, 1), "not growing: never full")

	_, ok = FitTrend(ps[:3])
	require.False(t, ok, "three points are not a trend")
	short := []tsdb.Point{{Time: t0, Value: 1.0}, {Time: t0.Add(time.Hour), Value: 2.0}, {Time: t0.Add(2 * time.Hour), Value: 3.0}, {Time: t0.Add(3 * time.Hour), Value: 4.0}}
	_, ok = FitTrend(short)
	require.False(t, ok, "less than a day is not a trend")
}
