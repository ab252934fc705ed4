package maintenance_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/maintenance"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
)

func TestOccurrence(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	// Saturdays 22:00 Berlin time for 6 hours; Berlin is UTC+1 in
	// winter, UTC+2 in summer.
	weekly := store.MaintenanceWindow{Recurrence: "0 22 * * sat", Duration: 6 * time.Hour, TimeZone: "Europe/Berlin"}
	once := store.MaintenanceWindow{StartsAt: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC), EndsAt: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC),
		TimeZone: "UTC"}
	tests := []struct {
		name      string
		w         store.MaintenanceWindow
		at        time.Time
		wantStart time.Time // zero: not inside
	}{
		{"weekly, at its start", weekly, time.Date(2026, 12, 12, 22, 0, 0, 0, berlin), time.Date(2026, 12, 12, 21, 0, 0, 0, time.UTC)},
		{"weekly, past midnight", weekly, time.Date(2026, 12, 13, 3, 59, 0, 0, berlin), time.Date(2026, 12, 12, 21, 0, 0, 0, time.UTC)},
		{"weekly, at its end", weekly, time.Date(2026, 12, 13, 4, 0, 0, 0, berlin), time.Time{}},
		{"weekly, a minute before", weekly, time.Date(2026, 12, 12, 21, 59, 0, 0, berlin), time.Time{}},
		{"weekly, summer time", weekly, time.Date(2026, 7, 4, 20, 30, 0, 0, time.UTC), time.Date(2026, 7, 4, 20, 0, 0, 0, time.UTC)},
		{"weekly, a Friday", weekly, time.Date(2026, 12, 11, 23, 0, 0, 0, berlin), time.Time{}},
		{"once, inside", once, time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC), once.StartsAt},
		{"once, at its end", once, once.EndsAt, time.Time{}},
		{"once, before", once, once.StartsAt.Add(-time.Second), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end, ok := maintenance.Occurrence(tt.w, tt.at)
			require.Equal(t, !tt.wantStart.IsZero(), ok, "inside at %s", tt.at)
			if ok {
				require.True(t, tt.wantStart.Equal(start), "got start %s, want %s", start, tt.wantStart)
				require.True(t, end.After(tt.at))
			}
		})
	}
}

func TestOccurrences(t *testing.T) {
	daily := store.MaintenanceWindow{Recurrence: "@daily", Duration: 2 * time.Hour, TimeZone: "UTC"}
	from := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	got := maintenance.Occurrences(daily, from, from.Add(48*time.Hour))
	day := func(d, h int) time.Time { return time.Date(2026, 12, d, h, 0, 0, 0, time.UTC) }
	// The first is clipped to from; the third ends after to's 01:00.
	require.Equal(t, [][2]time.Time{{day(1, 1), day(1, 2)}, {day(2, 0), day(2, 2)}, {day(3, 0), day(3, 1)}}, got)
}

func TestValidate(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	ok := store.MaintenanceWindow{AssetID: "a", StartsAt: at, EndsAt: at.Add(time.Hour), TimeZone: "UTC"}
	with := func(f func(w *store.MaintenanceWindow)) store.MaintenanceWindow {
		w := ok
		f(&w)
		return w
	}
	tests := []struct {
		name string
		w    store.MaintenanceWindow
		want string // "" valid
	}{
		{"one-off", ok, ""},
		{"recurring", with(func(w *store.MaintenanceWindow) {
			w.StartsAt, w.EndsAt, w.Recurrence, w.Duration, w.TimeZone = time.Time{}, time.Time{}, "30 1 1 * *", time.Hour, "America/New_York"
		}), ""},
		{"two scopes", with(func(w *store.MaintenanceWindow) { w.OUID = "ou" }), "scope: give exactly one"},
		{"no scope", with(func(w *store.MaintenanceWindow) { w.AssetID = "" }), "scope: give exactly one"},
		{"bad zone", with(func(w *store.MaintenanceWindow) { w.TimeZone = "Mars/Olympus" }), `timezone: "Mars/Olympus" is not an IANA`},
		{"no zone", with(func(w *store.MaintenanceWindow) { w.TimeZone = "" }), "timezone:"},
		{"end before start", with(func(w *store.MaintenanceWindow) { w.EndsAt = at.Add(-time.Hour) }), "ends_at: must be after starts_at"},
		{"no times", with(func(w *store.MaintenanceWindow) { w.StartsAt, w.EndsAt = time.Time{}, time.Time{} }), "recurrence: give either"},
		{"bad cron", with(func(w *store.MaintenanceWindow) {
			w.StartsAt, w.EndsAt, w.Recurrence, w.Duration = time.Time{}, time.Time{}, "0 25 * * *", time.Hour
		}), `recurrence: "0 25 * * *" is not a cron expression`},
		{"every", with(func(w *store.MaintenanceWindow) {
			w.StartsAt, w.EndsAt, w.Recurrence, w.Duration = time.Time{}, time.Time{}, "@every 1h", time.Hour
		}), "rather than @every"},
		{"recurring too long", with(func(w *store.MaintenanceWindow) {
			w.StartsAt, w.EndsAt, w.Recurrence, w.Duration = time.Time{}, time.Time{}, "@weekly", 8*24*time.Hour
		}), "duration: between 1 minute"},
		{"recurring with start", with(func(w *store.MaintenanceWindow) { w.Recurrence, w.Duration = "@daily", time.Hour }),
			"starts_at: only for a one-off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := maintenance.Validate(tt.w)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Equal(t, problem.Invalid, problem.KindOf(err))
			require.ErrorContains(t, err, tt.want)
		})
	}
}
