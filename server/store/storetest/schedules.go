package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// scheduleTests cover store.ReportSchedules.
var scheduleTests = []test{
	{"ReportSchedules", testReportSchedules},
}

func testReportSchedules(t *testing.T, s store.Store) {
	ctx := t.Context()
	o := newOrg(t, s, "A")
	u := user(t, s, "a@example.com", o, store.Admin)
	now := time.Now().UTC().Truncate(time.Millisecond)
	sc := store.ReportSchedule{OrgID: o.ID, UserID: u.ID, Template: "capacity", Format: "pdf", Query: "category=storage",
		Every: "weekly", Recipients: []string{"a@example.com", "b@example.com"}, NextRunAt: now, CreatedAt: now}
	require.NoError(t, s.CreateReportSchedule(ctx, &sc))
	got, err := s.ReportSchedulesOf(ctx, o.ID)
	require.NoError(t, err)
	require.Equal(t, []store.ReportSchedule{sc}, got)
	due, err := s.DueReportSchedules(ctx, now, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	ok, err := s.ClaimReportSchedule(ctx, due[0], now.Add(7*24*time.Hour))
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = s.ClaimReportSchedule(ctx, due[0], now.Add(7*24*time.Hour))
	require.NoError(t, err)
	require.False(t, ok, "claimed once")
	due, err = s.DueReportSchedules(ctx, now, 10)
	require.NoError(t, err)
	require.Empty(t, due)
	require.NoError(t, s.FinishReportSchedule(ctx, sc.ID, now, "mail to b@example.com: refused"))
	one, err := s.ReportSchedule(ctx, sc.ID)
	require.NoError(t, err)
	require.Equal(t, now, one.LastRunAt)
	require.Equal(t, "mail to b@example.com: refused", one.LastError)
	require.Equal(t, now.Add(7*24*time.Hour), one.NextRunAt)
	require.NoError(t, s.DeleteReportSchedule(ctx, sc.ID))
	require.ErrorIs(t, s.DeleteReportSchedule(ctx, sc.ID), store.ErrNotFound)
}
