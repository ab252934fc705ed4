package tsdb_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/server/availability"
	"github.com/kpilot/kpilot/server/tsdb"
)

var (
	assetA = tsdb.AssetRef{ID: "asset-a", Series: "1.1"}
	assetB = tsdb.AssetRef{ID: "asset-b", Series: "1.2"}
)

// readWorld is an influxd (Flux disabled) holding points of two assets,
// from t0 on.
type readWorld struct {
	ts *tsdb.Influx
	t0 time.Time
}

func newReadWorld(t *testing.T) readWorld {
	influx := devenv.Influx(t)
	ts := tsdb.New(tsdb.Options{URL: influx.URL, Database: influx.Database, RetentionPolicy: "autogen", Timeout: 10 * time.Second})
	t.Cleanup(ts.Close)
	t0 := time.Now().Truncate(time.Minute).Add(-5 * time.Minute)
	at := func(d time.Duration) int64 { return t0.Add(d).UnixNano() }
	var lines strings.Builder
	for _, l := range []string{
		// Asset A: the newest row of dev,port=1 lacks b and s.
		fmt.Sprintf(`dev,asset=1.1,port=1 i=1i,f=1.5,b=true,s="up" %d`, at(0)),
		fmt.Sprintf(`dev,asset=1.1,port=1 i=2i,f=2.5,b=false,s="down" %d`, at(30*time.Second)),
		fmt.Sprintf(`dev,asset=1.1,port=1 i=3i,f=3.5 %d`, at(70*time.Second)),
		fmt.Sprintf(`dev,asset=1.1,port=2 f=10.25 %d`, at(10*time.Second)),
		fmt.Sprintf(`agent_poll,asset=1.1,collector=snmp up=true %d`, at(0)),
		fmt.Sprintf(`agent_poll,asset=1.1,collector=snmp up=false %d`, at(60*time.Second)),
		fmt.Sprintf(`agent_poll,asset=1.1,collector=redfish up=true %d`, at(5*time.Second)),
		fmt.Sprintf(`reboot,asset=1.1 last_seen_up=%di %d`, t0.Add(50*time.Second).Unix(), at(90*time.Second)),
		// Asset B: newer values everywhere, none of which A may see.
		fmt.Sprintf(`dev,asset=1.2,port=1 i=100i,f=100.5,b=true,s="b" %d`, at(100*time.Second)),
		fmt.Sprintf(`agent_poll,asset=1.2,collector=snmp up=true %d`, at(100*time.Second)),
		fmt.Sprintf(`reboot,asset=1.2 last_seen_up=%di %d`, t0.Unix(), at(100*time.Second)),
		// A point of neither asset.
		fmt.Sprintf(`dev,asset=9.9,port=1 i=7i %d`, at(110*time.Second)),
	} {
		lines.WriteString(l + "\n")
	}
	require.NoError(t, ts.Write(t.Context(), []byte(lines.String())))
	return readWorld{ts: ts, t0: t0}
}

func pts(t0 time.Time, pairs ...any) []tsdb.Point {
	var out []tsdb.Point
	for k := 0; k < len(pairs); k += 2 {
		out = append(out, tsdb.Point{Time: t0.Add(pairs[k].(time.Duration)).UTC(), Value: pairs[k+1]})
	}
	return out
}

func port(p string) map[string]string { return map[string]string{"port": p} }

func TestIntegrationReads(t *testing.T) {
	w := newReadWorld(t)
	ctx, t0 := t.Context(), w.t0
	s := time.Second

	latestA := []tsdb.Series{
		{AssetID: "asset-a", Measurement: "agent_poll", Field: "up", Tags: map[string]string{"collector": "redfish"}, Points: pts(t0, 5*s, true)},
		{AssetID: "asset-a", Measurement: "agent_poll", Field: "up", Tags: map[string]string{"collector": "snmp"}, Points: pts(t0, 60*s, false)},
		{AssetID: "asset-a", Measurement: "dev", Field: "b", Tags: port("1"), Points: pts(t0, 30*s, false)},
		{AssetID: "asset-a", Measurement: "dev", Field: "f", Tags: port("1"), Points: pts(t0, 70*s, 3.5)},
		{AssetID: "asset-a", Measurement: "dev", Field: "i", Tags: port("1"), Points: pts(t0, 70*s, int64(3))},
		{AssetID: "asset-a", Measurement: "dev", Field: "s", Tags: port("1"), Points: pts(t0, 30*s, "down")},
		{AssetID: "asset-a", Measurement: "dev", Field: "f", Tags: port("2"), Points: pts(t0, 10*s, 10.25)},
		{AssetID: "asset-a", Measurement: "reboot", Field: "last_seen_up", Tags: map[string]string{}, Points: pts(t0, 90*s, t0.Add(50*s).Unix())},
	}
	latestB := []tsdb.Series{
		{AssetID: "asset-b", Measurement: "agent_poll", Field: "up", Tags: map[string]string{"collector": "snmp"}, Points: pts(t0, 100*s, true)},
		{AssetID: "asset-b", Measurement: "dev", Field: "b", Tags: port("1"), Points: pts(t0, 100*s, true)},
		{AssetID: "asset-b", Measurement: "dev", Field: "f", Tags: port("1"), Points: pts(t0, 100*s, 100.5)},
		{AssetID: "asset-b", Measurement: "dev", Field: "i", Tags: port("1"), Points: pts(t0, 100*s, int64(100))},
		{AssetID: "asset-b", Measurement: "dev", Field: "s", Tags: port("1"), Points: pts(t0, 100*s, "b")},
		{AssetID: "asset-b", Measurement: "reboot", Field: "last_seen_up", Tags: map[string]string{}, Points: pts(t0, 100*s, t0.Unix())},
	}

	t.Run("series raw", func(t *testing.T) {
		got, err := w.ts.Series(ctx, tsdb.SeriesQuery{Asset: assetA, Measurement: "dev", Field: "i", Start: t0, Stop: t0.Add(time.Hour)})
		require.NoError(t, err)
		require.Equal(t, []tsdb.Series{{AssetID: "asset-a", Measurement: "dev", Field: "i", Tags: port("1"),
			Points: pts(t0, 0*s, int64(1), 30*s, int64(2), 70*s, int64(3))}}, got)
	})
	t.Run("series aggregated", func(t *testing.T) {
		got, err := w.ts.Series(ctx, tsdb.SeriesQuery{Asset: assetA, Measurement: "dev", Field: "f", Start: t0, Stop: t0.Add(2 * time.Minute),
			Every: time.Minute, Fn: "mean"})
		require.NoError(t, err)
		// Windows are stamped with their start; the mean of 1.5 and
		// 2.5 is a float though InfluxDB's JSON writes it as 2.
		require.Equal(t, []tsdb.Series{
			{AssetID: "asset-a", Measurement: "dev", Field: "f", Tags: port("1"), Points: pts(t0, 0*s, 2.0, 60*s, 3.5)},
			{AssetID: "asset-a", Measurement: "dev", Field: "f", Tags: port("2"), Points: pts(t0, 0*s, 10.25)},
		}, got)
		got, err = w.ts.Series(ctx, tsdb.SeriesQuery{Asset: assetA, Measurement: "dev", Field: "s", Start: t0, Stop: t0.Add(2 * time.Minute),
			Every: time.Minute, Fn: "count"})
		require.NoError(t, err)
		require.Equal(t, []tsdb.Series{{AssetID: "asset-a", Measurement: "dev", Field: "s", Tags: port("1"), Points: pts(t0, 0*s, int64(2))}}, got)
	})
	t.Run("latest", func(t *testing.T) {
		got, err := w.ts.Latest(ctx, assetA, time.Hour)
		require.NoError(t, err)
		require.Equal(t, latestA, got)
	})
	t.Run("latest many", func(t *testing.T) {
		got, err := w.ts.LatestMany(ctx, []tsdb.AssetRef{assetA, assetB}, time.Hour)
		require.NoError(t, err)
		require.Equal(t, map[string][]tsdb.Series{"asset-a": latestA, "asset-b": latestB}, got)
	})
	t.Run("org series raw", func(t *testing.T) {
		got, err := w.ts.OrgSeries(ctx, tsdb.OrgQuery{Assets: []tsdb.AssetRef{assetB, assetA}, Measurements: []string{"dev", "agent_poll"},
			Fields: []string{"f", "up"}, Start: t0, Stop: t0.Add(time.Hour)})
		require.NoError(t, err)
		require.Equal(t, []tsdb.Series{
			{AssetID: "asset-a", Measurement: "agent_poll", Field: "up", Tags: map[string]string{"collector": "redfish"}, Points: pts(t0, 5*s, true)},
			{AssetID: "asset-a", Measurement: "agent_poll", Field: "up", Tags: map[string]string{"collector": "snmp"}, Points: pts(t0, 0*s, true, 60*s, false)},
			{AssetID: "asset-a", Measurement: "dev", Field: "f", Tags: port("1"), Points: pts(t0, 0*s, 1.5, 30*s, 2.5, 70*s, 3.5)},
			{AssetID: "asset-a", Measurement: "dev", Field: "f", Tags: port("2"), Points: pts(t0, 10*s, 10.25)},
			{AssetID: "asset-b", Measurement: "agent_poll", Field: "up", Tags: map[string]string{"collector": "snmp"}, Points: pts(t0, 100*s, true)},
			{AssetID: "asset-b", Measurement: "dev", Field: "f", Tags: port("1"), Points: pts(t0, 100*s, 100.5)},
		}, got)
	})
	t.Run("org series aggregated", func(t *testing.T) {
		got, err := w.ts.OrgSeries(ctx, tsdb.OrgQuery{Assets: []tsdb.AssetRef{assetA}, Measurements: []string{"dev", "reboot"},
			Fields: []string{"i", "f"}, Start: t0, Stop: t0.Add(2 * time.Minute), Every: time.Minute, Fn: "max"})
		require.NoError(t, err)
		require.Equal(t, []tsdb.Series{
			{AssetID: "asset-a", Measurement: "dev", Field: "f", Tags: port("1"), Points: pts(t0, 0*s, 2.5, 60*s, 3.5)},
			{AssetID: "asset-a", Measurement: "dev", Field: "i", Tags: port("1"), Points: pts(t0, 0*s, int64(2), 60*s, int64(3))},
			{AssetID: "asset-a", Measurement: "dev", Field: "f", Tags: port("2"), Points: pts(t0, 0*s, 10.25)},
		}, got)
	})
	t.Run("availability", func(t *testing.T) {
		obs, reboots, err := w.ts.AvailabilityData(ctx, assetA, t0.Add(time.Hour), t0.Add(2*time.Hour))
		require.NoError(t, err)
		require.Equal(t, []availability.Observation{
			{Time: t0.Add(5 * s).UTC(), Up: true, Source: "redfish"},
			{Time: t0.UTC(), Up: true, Source: "snmp"},
			{Time: t0.Add(60 * s).UTC(), Up: false, Source: "snmp"},
		}, obs)
		require.Equal(t, []availability.Reboot{{Boot: t0.Add(90 * s).UTC(), LastSeenUp: time.Unix(t0.Add(50*s).Unix(), 0)}}, reboots)
	})
	t.Run("refused query", func(t *testing.T) {
		_, err := w.ts.Series(ctx, tsdb.SeriesQuery{Asset: assetA, Measurement: "dev", Field: "s", Start: t0, Stop: t0.Add(time.Hour),
			Every: time.Minute, Fn: "mean"})
		var qe *tsdb.QueryError
		require.ErrorAs(t, err, &qe)
		require.Equal(t, "series dev.s of asset asset-a", qe.Purpose)
		require.ErrorContains(t, err, "reading series dev.s of asset asset-a: InfluxDB refused the query: ")
		require.NotErrorIs(t, err, tsdb.ErrUnavailable)
	})
}

func TestIntegrationReadsUnavailable(t *testing.T) {
	influx := devenv.Influx(t)
	ts := tsdb.New(tsdb.Options{URL: influx.URL, Database: influx.Database})
	t.Cleanup(ts.Close)
	_, err := ts.Latest(t.Context(), assetA, time.Hour)
	require.NoError(t, err)
	influx.Stop()
	_, err = ts.Latest(t.Context(), assetA, time.Hour)
	require.ErrorIs(t, err, tsdb.ErrUnavailable)
	require.ErrorContains(t, err, "reading latest values of asset asset-a: ")
}

func TestReadsTimeOut(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the request first: only then does the server notice
		// the client giving up, and end r's context.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	ts := tsdb.New(tsdb.Options{URL: slow.URL, Database: "kpilot", QueryTimeout: 200 * time.Millisecond})
	t.Cleanup(ts.Close)
	for name, read := range map[string]func(ctx context.Context) error{
		"latest": func(ctx context.Context) error { _, err := ts.Latest(ctx, assetA, time.Hour); return err },
		"availability": func(ctx context.Context) error {
			_, _, err := ts.AvailabilityData(ctx, assetA, time.Unix(0, 0), time.Unix(60, 0))
			return err
		},
		"usage": func(ctx context.Context) error {
			_, _, err := ts.UsageData(ctx, assetA, time.Unix(0, 0), time.Unix(60, 0))
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			err := read(t.Context())
			require.Less(t, time.Since(start), 5*time.Second)
			require.ErrorIs(t, err, tsdb.ErrUnavailable)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.ErrorContains(t, err, "InfluxDB did not answer within 200ms")
			var te *tsdb.TimeoutError
			require.ErrorAs(t, err, &te)
		})
	}
}
