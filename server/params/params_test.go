package params_test

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/params"
	"github.com/kpilot/kpilot/server/tsdb"
)

var now = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func TestPeriod(t *testing.T) {
	tests := []struct {
		name        string
		query       string
		start, stop time.Time
		wantErr     string
	}{
		{"defaults", "", now.Add(-24 * time.Hour), now, ""},
		{"relative and now", "start=-6h&stop=now", now.Add(-6 * time.Hour), now, ""},
		{"RFC 3339", "start=2026-12-01T00:00:00Z&stop=2026-12-02T00:00:00Z",
			time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), ""},
		{"a word", "start=yesterday", time.Time{}, time.Time{}, "start: use an RFC 3339 time"},
		{"stop before start", "start=-1h&stop=-2h", time.Time{}, time.Time{}, "start must be before stop"},
		{"too long", "start=-800h", time.Time{}, time.Time{}, "the period may be at most 720h0m0s long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			require.NoError(t, err)
			start, stop, err := params.Period(q, now, -24*time.Hour, 30*24*time.Hour)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.start, start)
			require.Equal(t, tt.stop, stop)
		})
	}
}

func TestLookback(t *testing.T) {
	d, err := params.Lookback(url.Values{}, 15*time.Minute, time.Minute, 24*time.Hour)
	require.NoError(t, err)
	require.Equal(t, 15*time.Minute, d)
	d, err = params.Lookback(url.Values{"lookback": {"2h"}}, 15*time.Minute, time.Minute, 24*time.Hour)
	require.NoError(t, err)
	require.Equal(t, 2*time.Hour, d)
	for _, bad := range []string{"30s", "25h", "soon"} {
		_, err := params.Lookback(url.Values{"lookback": {bad}}, 15*time.Minute, time.Minute, 24*time.Hour)
		require.EqualError(t, err, `lookback "`+bad+`": a duration from 1m to 24h`)
	}
}

func TestSeries(t *testing.T) {
	ref := tsdb.AssetRef{ID: "a1", Series: "3.17"}
	q := url.Values{"measurement": {"cpu"}, "field": {"load_percent"}, "start": {"-2h"}, "every": {"5m"}}
	sq, err := params.Series(q, ref, now)
	require.NoError(t, err)
	require.Equal(t, now.Add(-2*time.Hour), sq.Start)
	require.Equal(t, now, sq.Stop)
	require.Equal(t, 5*time.Minute, sq.Every)
	require.Equal(t, "mean", sq.Fn, "every without fn is the mean")

	_, err = params.Series(url.Values{"measurement": {"cpu"}, "field": {"x"}, "every": {"often"}}, ref, now)
	require.EqualError(t, err, `every "often": not a duration`)
}

func TestEveryAndBefore(t *testing.T) {
	day := now.Add(-24 * time.Hour)
	tests := []struct {
		name    string
		query   string
		every   time.Duration
		before  time.Time
		wantErr string
	}{
		{"none", "", 0, time.Time{}, ""},
		{"hourly windows, a page", "every=1h&before=2026-12-01T10:00:00.5Z", time.Hour, time.Date(2026, 12, 1, 10, 0, 0, 5e8, time.UTC), ""},
		{"too short", "every=30s", 0, time.Time{}, `every "30s": a duration of at least 1m`},
		{"too many windows", "every=1m", 0, time.Time{}, `every "1m": at most 1000 windows per query`},
		{"not a time", "before=yesterday", 0, time.Time{}, `before "yesterday": an RFC 3339 time`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			require.NoError(t, err)
			every, errE := params.Every(q, day, now)
			before, errB := params.Before(q)
			if tt.wantErr != "" {
				require.ErrorContains(t, errors.Join(errE, errB), tt.wantErr)
				return
			}
			require.NoError(t, errors.Join(errE, errB))
			require.Equal(t, tt.every, every)
			require.True(t, tt.before.Equal(before))
		})
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name        string
		query       string
		period      string
		start, stop time.Time
		wantErr     string
	}{
		{"days by default, from the start of the day 30 days ago", "", "day", time.Date(2026, 11, 7, 0, 0, 0, 0, time.UTC), now, ""},
		{"months, from the first of the month a year ago", "period=month", "month", time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), now, ""},
		{"a start of the caller's", "period=week&start=-48h", "week", now.Add(-48 * time.Hour), now, ""},
		{"unknown period", "period=year", "", time.Time{}, time.Time{}, "year"},
		{"too long", "start=-10000h", "", time.Time{}, time.Time{}, "the period may be at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			require.NoError(t, err)
			period, start, stop, err := params.Usage(q, now, 400*24*time.Hour)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.period, period)
			require.True(t, tt.start.Equal(start), "start %v, want %v", start, tt.start)
			require.Equal(t, tt.stop, stop)
		})
	}
}
