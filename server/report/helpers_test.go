package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/tsdb"
)

func TestPeriodString(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	p := Period{Start: time.Date(2026, 11, 1, 7, 0, 0, 0, berlin), Stop: time.Date(2026, 11, 22, 6, 30, 0, 0, time.UTC)}
	require.Equal(t, "2026-11-01 06:00 to 2026-11-22 06:30 UTC", p.String())
}

func TestRound(t *testing.T) {
	for _, tt := range []struct {
		name   string
		v      float64
		digits int
		want   float64
	}{
		{"down", 99.98263, 3, 99.983},
		{"half up", 0.25, 1, 0.3},
		{"whole", 40.26, 0, 40},
		{"negative", -1.55, 1, -1.6},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, round(tt.v, tt.digits))
		})
	}
}

func TestMeanPoints(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	got := meanPoints(map[time.Time][]float64{t0.Add(time.Hour): {10, 30}, t0: {20, 40, 60}})
	require.Equal(t, []tsdb.Point{{Time: t0, Value: 40.0}, {Time: t0.Add(time.Hour), Value: 20.0}}, got, "in time order")
	require.Empty(t, meanPoints(nil))
}

func TestWriteFormats(t *testing.T) {
	tb := sample(1)
	for _, tt := range []struct {
		name, format, prefix string
	}{
		{"csv", CSV, "asset,serial,"},
		{"pdf", PDF, "%PDF-"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, Write(&buf, tb, tt.format))
			require.True(t, bytes.HasPrefix(buf.Bytes(), []byte(tt.prefix)), "got %.20q, want prefix %q", buf.Bytes(), tt.prefix)
		})
	}
	require.ErrorContains(t, Write(&bytes.Buffer{}, tb, "xlsx"), `unknown report format "xlsx"`)
	require.Equal(t, "kpilot-backup-2026-11-22.pdf", FileName("backup", PDF, time.Date(2026, 11, 22, 23, 30, 0, 0, time.UTC)))
}

// A run counts once, with the status it last had; a running job's poll
// names no finished run.
func TestCountRuns(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	i := func(v int64) *int64 { return &v }
	for _, tt := range []struct {
		name              string
		polls             []jobObs // an hour apart
		runs              map[int64]int64
		lastRun, lastStat int64
	}{
		{name: "a run seen running, then failed", polls: []jobObs{{i(backupRunning), i(100)}, {i(backupFailed), i(100)}},
			runs: map[int64]int64{100: backupFailed}, lastRun: 100, lastStat: backupFailed},
		{name: "two runs", polls: []jobObs{{i(0), i(100)}, {i(1), i(200)}, {i(1), i(200)}},
			runs: map[int64]int64{100: 0, 200: 1}, lastRun: 200, lastStat: 1},
		{name: "running now", polls: []jobObs{{i(0), i(100)}, {i(backupRunning), i(200)}},
			runs: map[int64]int64{100: 0}, lastRun: 200, lastStat: backupRunning},
		{name: "never run", polls: []jobObs{{i(0), i(0)}, {nil, i(100)}},
			runs: map[int64]int64{}, lastRun: 0, lastStat: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			byTime := map[time.Time]*jobObs{}
			for k, o := range tt.polls {
				byTime[t0.Add(time.Duration(k)*time.Hour)] = &o
			}
			j := &backupJob{runs: map[int64]int64{}}
			countRuns(j, byTime)
			require.Equal(t, tt.runs, j.runs)
			require.Equal(t, tt.lastRun, j.lastRun)
			require.Equal(t, tt.lastStat, j.lastStatus)
		})
	}
}
