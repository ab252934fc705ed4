package seriesmigrate

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/tsdb"
)

// oldPoint is a point as the server wrote it before issue 28.
type oldPoint struct {
	measurement string
	tags        map[string]string // without the tenant tags
	at          int64
	fields      map[string]any // float64, int64, bool, string
}

// line writes p in the old schema, tagged with asset a.
func (p oldPoint) line(a store.Asset) string {
	var b strings.Builder
	b.WriteString(p.measurement)
	fmt.Fprintf(&b, ",asset_id=%s,org_id=%s,ou_id=%s", a.ID, a.OrgID, a.OUID)
	esc := strings.NewReplacer(" ", `\ `, ",", `\,`, "=", `\=`)
	for _, k := range slices.Sorted(maps.Keys(p.tags)) {
		b.WriteString("," + k + "=" + esc.Replace(p.tags[k]))
	}
	sep := " "
	for _, k := range slices.Sorted(maps.Keys(p.fields)) {
		b.WriteString(sep + k + "=")
		switch v := p.fields[k].(type) {
		case float64:
			b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		case int64:
			b.WriteString(strconv.FormatInt(v, 10) + "i")
		case bool:
			b.WriteString(strconv.FormatBool(v))
		case string:
			b.WriteString(`"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`)
		}
		sep = ","
	}
	fmt.Fprintf(&b, " %d\n", p.at)
	return b.String()
}

// history is the old points of one asset: steps polls 15 minutes apart
// ending an hour ago, of CPUs, a memory bank, an interface and a backup
// job (every fourth poll), in several measurements and with every field
// type, plus, with lone, one point 40 days before the others.
func history(n int64, steps int, lone bool) []oldPoint {
	end := time.Now().Truncate(time.Hour).Add(-time.Hour)
	var out []oldPoint
	for i := range steps {
		at := end.Add(-time.Duration(steps-i) * 15 * time.Minute).UnixNano()
		load := float64(n*10) + float64(i%7) + 0.25
		if i%4 == 0 {
			load = 50 // a float InfluxQL's JSON shows as an integer
		}
		out = append(out,
			oldPoint{"cpu", map[string]string{"index": "1"}, at, map[string]any{"load_percent": load}},
			oldPoint{"cpu", map[string]string{"index": "2"}, at, map[string]any{"load_percent": load + 1}},
			oldPoint{"memory", map[string]string{"descr": "Physical memory, bank=1"}, at,
				map[string]any{"used_percent": 40.5 + float64(i%3), "size_bytes": int64(16) << 30}},
			oldPoint{"interface", map[string]string{"ifname": "Gi0/1", "ifalias": "uplink to core"}, at,
				map[string]any{"in_octets": int64(1)<<60 + int64(i)*1000 + n}}, // beyond a float's precision
		)
		if i%4 == 0 {
			out = append(out, oldPoint{"backup_job", map[string]string{"job": "Nightly run", "backup_server": "b1"}, at,
				map[string]any{"status": int64(i % 3), "ok": i%3 == 0, "message": fmt.Sprintf(`run %d: "done", C:\backup, ok`, i)}})
		}
	}
	if lone {
		out = append(out, oldPoint{"cpu", map[string]string{"index": "1"}, end.Add(-40 * 24 * time.Hour).UnixNano(),
			map[string]any{"load_percent": 12.5}})
	}
	return out
}

// world is a populated InfluxDB with a store.
type world struct {
	db      *tsdb.Influx
	st      store.Store
	assets  []store.Asset
	old     map[string][]oldPoint // by asset id
	unknown string                // an asset id the store does not have
}

func newWorld(t *testing.T, steps int) *world {
	t.Helper()
	ctx := t.Context()
	inf := devenv.Influx(t)
	db := tsdb.New(tsdb.Options{URL: inf.URL, Bucket: inf.Bucket, QueryTimeout: time.Minute})
	t.Cleanup(db.Close)
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "k.db"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	w := &world{db: db, st: st, old: map[string][]oldPoint{}, unknown: "0b7c1f5e-dead-4000-8000-000000000099"}
	for _, name := range []string{"Acme GmbH", "Globex AG"} {
		o := store.Organization{Name: name, Kind: store.Customer}
		require.NoError(t, st.CreateOrganization(ctx, &o))
		for _, an := range []string{name + " ESX", name + " NAS"} {
			a := store.Asset{OrgID: o.ID, OUID: o.RootOU, Name: an}
			require.NoError(t, st.CreateAsset(ctx, &a, nil))
			w.assets = append(w.assets, a)
		}
	}
	var lines bytes.Buffer
	flush := func() {
		require.NoError(t, db.Write(ctx, lines.Bytes()))
		lines.Reset()
	}
	// The last asset has no old data: it was created after the upgrade.
	for i, a := range w.assets[:3] {
		w.old[a.ID] = history(int64(i), steps, i == 0)
		for _, p := range w.old[a.ID] {
			lines.WriteString(p.line(a))
			if lines.Len() > 1<<20 {
				flush()
			}
		}
	}
	stranger := store.Asset{ID: w.unknown, OrgID: "0b7c1f5e-dead-4000-8000-00000000000a", OUID: "0b7c1f5e-dead-4000-8000-00000000000b"}
	w.old[w.unknown] = history(9, steps, false)[:steps/2]
	for _, p := range w.old[w.unknown] {
		lines.WriteString(p.line(stranger))
	}
	flush()
	return w
}

// key names a point: measurement, sorted tags and time.
func key(m string, tags map[string]string, at int64) string {
	var b strings.Builder
	b.WriteString(m)
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if tags[k] != "" {
			b.WriteString("," + k + "=" + tags[k])
		}
	}
	return b.String() + " " + strconv.FormatInt(at, 10)
}

// read returns every point matching where, by key, with values of the
// type InfluxDB holds for their field (SHOW FIELD KEYS).
func (w *world) read(t *testing.T, where string) map[string]map[string]any {
	t.Helper()
	ctx := t.Context()
	types := w.fieldTypes(t)
	res, err := w.db.InfluxQL(ctx, "test: reading points", "SELECT * FROM /.*/ WHERE "+where+" GROUP BY *")
	require.NoError(t, err)
	out := map[string]map[string]any{}
	for _, s := range res {
		ti := columnIndex(s.Columns, "time")
		for _, row := range s.Values {
			at, err := timeAt(row, ti)
			require.NoError(t, err)
			fields := map[string]any{}
			for j, c := range s.Columns {
				if j == ti || row[j] == nil {
					continue
				}
				v := row[j]
				if n, ok := v.(int64); ok && types[s.Measurement+"."+c] == typeFloat {
					v = float64(n)
				}
				fields[c] = v
			}
			out[key(s.Measurement, s.Tags, at)] = fields
		}
	}
	return out
}

// fieldTypes returns "measurement.field" → the one type InfluxDB holds.
func (w *world) fieldTypes(t *testing.T) map[string]string {
	t.Helper()
	res, err := w.db.InfluxQL(t.Context(), "test: field types", "SHOW FIELD KEYS")
	require.NoError(t, err)
	out := map[string]string{}
	for _, s := range res {
		for _, row := range s.Values {
			k := s.Measurement + "." + row[0].(string)
			require.NotContains(t, out, k, "field %s has two types", k)
			out[k] = row[1].(string)
		}
	}
	return out
}

// want returns the points of the assets as they read in the schema:
// old (the tenant tags) or new (asset=<series id>).
func (w *world) want(assetIDs []string, newSchema bool) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, id := range assetIDs {
		a := w.asset(id)
		for _, p := range w.old[id] {
			tags := maps.Clone(p.tags)
			if newSchema {
				tags["asset"] = a.SeriesID
			} else {
				tags["asset_id"], tags["org_id"], tags["ou_id"] = id, a.OrgID, a.OUID
			}
			out[key(p.measurement, tags, p.at)] = p.fields
		}
	}
	return out
}

func (w *world) asset(id string) store.Asset {
	for _, a := range w.assets {
		if a.ID == id {
			return a
		}
	}
	return store.Asset{ID: id, OrgID: "0b7c1f5e-dead-4000-8000-00000000000a", OUID: "0b7c1f5e-dead-4000-8000-00000000000b"}
}

func (w *world) known() []string {
	var ids []string
	for _, a := range w.assets[:3] {
		ids = append(ids, a.ID)
	}
	return ids
}

const (
	oldWhere = `"asset_id" =~ /./`
	newWhere = `"asset" =~ /./`
)

// dropping is InfluxDB losing every seventh line of a write (a fault that
// cannot be provoked in a healthy influxd): verification must notice.
type dropping struct{ Influx }

func (d dropping) Write(ctx context.Context, lines []byte) error {
	var kept []byte
	for i, l := range bytes.SplitAfter(lines, []byte("\n")) {
		if i%7 != 3 {
			kept = append(kept, l...)
		}
	}
	return d.Influx.Write(ctx, kept)
}

func TestIntegrationMigrate(t *testing.T) {
	w := newWorld(t, 300) // 75 hours of polls: with 200 points a read, many chunks
	ctx := t.Context()
	log := testLog()
	o := Options{ChunkPoints: 200, BatchLines: 500}
	allOld := w.want(append(w.known(), w.unknown), false)
	require.Equal(t, allOld, w.read(t, oldWhere), "populated as meant")
	typesBefore := w.fieldTypes(t)
	wantNew := w.want(w.known(), true)
	wantUnknown := Unknown{AssetID: w.unknown, Series: 5, Points: int64(len(w.old[w.unknown]))}
	wantSum := Summary{Assets: 3, Done: 3, Series: 15, Points: int64(len(wantNew)), Unknown: []Unknown{wantUnknown}}
	clean := func(s Summary) Summary { s.Elapsed = 0; return s }

	t.Run("dry run reads everything and writes nothing", func(t *testing.T) {
		sum, err := Run(ctx, w.st, w.db, log, Options{DryRun: true, ChunkPoints: o.ChunkPoints})
		require.NoError(t, err)
		require.Equal(t, wantSum, clean(sum))
		require.Empty(t, w.read(t, newWhere))
	})

	t.Run("delete-old refuses to drop what was not copied", func(t *testing.T) {
		sum, err := Run(ctx, w.st, dropping{w.db}, log, Options{DeleteOld: true, ChunkPoints: o.ChunkPoints, BatchLines: o.BatchLines})
		require.Error(t, err)
		for _, a := range w.assets[:3] {
			require.ErrorContains(t, err, "asset "+a.ID+" (series "+a.SeriesID+"): measurement ")
		}
		require.ErrorContains(t, err, ": chunk ")
		require.ErrorContains(t, err, "old values not found in the new series")
		require.Zero(t, sum.Deleted)
		require.Zero(t, sum.Done)
		require.Equal(t, allOld, w.read(t, oldWhere), "nothing dropped")
	})

	t.Run("copy", func(t *testing.T) {
		sum, err := Run(ctx, w.st, w.db, log, o)
		require.NoError(t, err)
		require.Equal(t, wantSum, clean(sum))
		require.Equal(t, wantNew, w.read(t, newWhere), "every old point in the new schema, same values, types and times")
		require.Equal(t, allOld, w.read(t, oldWhere), "old points untouched")
		require.Equal(t, typesBefore, w.fieldTypes(t), "no field changed or gained a type")
		t.Logf("copied %d points in %s: %.0f points/s", sum.Points, sum.Elapsed, float64(sum.Points)/sum.Elapsed.Seconds())
	})

	t.Run("a second run changes nothing", func(t *testing.T) {
		sum, err := Run(ctx, w.st, w.db, log, o)
		require.NoError(t, err)
		require.Equal(t, wantSum, clean(sum))
		require.Equal(t, wantNew, w.read(t, newWhere))
	})

	t.Run("delete-old drops only verified old series", func(t *testing.T) {
		o := o
		o.DeleteOld = true
		sum, err := Run(ctx, w.st, w.db, log, o)
		require.NoError(t, err)
		want := wantSum
		want.Deleted = 3
		require.Equal(t, want, clean(sum))
		require.Equal(t, w.want([]string{w.unknown}, false), w.read(t, oldWhere), "only the unknown asset's old points are left")
		require.Equal(t, wantNew, w.read(t, newWhere))

		found, err := OldSeriesPresent(ctx, w.db)
		require.NoError(t, err)
		require.True(t, found, "the unknown asset's series are old-schema series")
	})

	t.Run("after delete-old nothing is left to copy", func(t *testing.T) {
		sum, err := Run(ctx, w.st, w.db, log, o)
		require.NoError(t, err)
		require.Equal(t, Summary{Unknown: []Unknown{wantUnknown}}, clean(sum))
	})
}

func testLog() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

// TestIntegrationMigrateThroughput measures points per second with the
// default options on KPILOT_MIGRATE_STEPS polls of three assets (about 13
// points a poll); docs/install.md quotes it.
func TestIntegrationMigrateThroughput(t *testing.T) {
	steps, err := strconv.Atoi(os.Getenv("KPILOT_MIGRATE_STEPS"))
	if err != nil {
		t.Skip("set KPILOT_MIGRATE_STEPS to measure")
	}
	w := newWorld(t, steps)
	for _, o := range []Options{{}, {DeleteOld: true}} {
		sum, err := Run(t.Context(), w.st, w.db, testLog(), o)
		require.NoError(t, err)
		require.Equal(t, 3, sum.Done)
		t.Logf("delete-old %v: %d points in %s: %.0f points/s", o.DeleteOld, sum.Points, sum.Elapsed, float64(sum.Points)/sum.Elapsed.Seconds())
	}
}

func TestIntegrationOldSeriesPresent(t *testing.T) {
	inf := devenv.Influx(t)
	db := tsdb.New(tsdb.Options{URL: inf.URL, Bucket: inf.Bucket})
	defer db.Close()
	ctx := t.Context()
	require.NoError(t, db.Write(ctx, []byte("cpu,asset=1.1 v=1 1\n")))
	found, err := OldSeriesPresent(ctx, db)
	require.NoError(t, err)
	require.False(t, found, "new-schema series only")
	require.NoError(t, db.Write(ctx, []byte("cpu,asset_id=x,org_id=y,ou_id=z v=1 1\n")))
	found, err = OldSeriesPresent(ctx, db)
	require.NoError(t, err)
	require.True(t, found)
}
