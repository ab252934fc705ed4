package assetlabels

import (
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/tsdb"
)

// countingWriter passes writes on to InfluxDB and counts them.
type countingWriter struct {
	w      Writer
	writes int
}

func (c *countingWriter) Write(ctx context.Context, lines []byte) error {
	c.writes++
	return c.w.Write(ctx, lines)
}

func TestIntegrationLabels(t *testing.T) {
	ctx := t.Context()
	influx := devenv.Influx(t)
	dbPath := filepath.Join(t.TempDir(), "s.db")
	st, err := sqlstore.OpenSQLite(ctx, dbPath, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer st.Close()
	client := tsdb.New(tsdb.Options{URL: influx.URL, Bucket: influx.Bucket, Timeout: 10 * time.Second})
	defer client.Close()

	acme := newOrg(t, st, "Acme AG")
	other := newOrg(t, st, `Other "quoted" AG`)
	core := newAsset(t, st, acme, "core switch")
	nas := newAsset(t, st, acme, "nas, rack 2")
	ups := newAsset(t, st, acme, "ups\nline two")
	otherSwitch := newAsset(t, st, other, "core switch")

	w := &countingWriter{w: client}
	l := New(st, w, slog.New(slog.DiscardHandler))
	l.batch = 2
	first := time.Now().Add(-time.Minute)
	l.now = func() time.Time { return first }
	require.NoError(t, l.Once(ctx))
	require.Equal(t, 2, w.writes, "four labels in writes of two")

	got := labels(t, influx)
	orgNo := func(a store.Asset) string { n, _, _ := strings.Cut(a.SeriesID, "."); return n }
	want := map[string]label{
		core.SeriesID:        {"core switch", "Acme AG", core.SeriesID + " Acme AG / core switch", orgNo(core) + " Acme AG"},
		nas.SeriesID:         {"nas, rack 2", "Acme AG", nas.SeriesID + " Acme AG / nas, rack 2", orgNo(nas) + " Acme AG"},
		ups.SeriesID:         {"ups line two", "Acme AG", ups.SeriesID + " Acme AG / ups line two", orgNo(ups) + " Acme AG"},
		otherSwitch.SeriesID: {"core switch", `Other "quoted" AG`, otherSwitch.SeriesID + ` Other "quoted" AG / core switch`, orgNo(otherSwitch) + ` Other "quoted" AG`},
	}
	require.Equal(t, want, got)
	require.Equal(t, []string{"series"}, tagKeys(t, influx), "no asset tag: tenant reads, which filter on it, never see the labels")
	require.NotEqual(t, orgNo(core), orgNo(otherSwitch), "the organizations' numbers differ")
	require.Equal(t, orgNo(core), orgNo(nas))

	t.Run("a rename shows in the next run", func(t *testing.T) {
		// No API renames an asset yet; the store's table is changed as a
		// future rename would.
		db, err := sql.Open("sqlite", dbPath)
		require.NoError(t, err)
		defer db.Close()
		_, err = db.ExecContext(ctx, `UPDATE assets SET name = 'core switch 1' WHERE id = ?`, core.ID)
		require.NoError(t, err)
		l.now = time.Now
		require.NoError(t, l.Once(ctx))
		got := labels(t, influx)
		require.Equal(t, label{"core switch 1", "Acme AG", core.SeriesID + " Acme AG / core switch 1", orgNo(core) + " Acme AG"}, got[core.SeriesID])
		require.Equal(t, want[otherSwitch.SeriesID], got[otherSwitch.SeriesID], "the other organization's switch keeps its name")
	})

	t.Run("an unreachable InfluxDB is an error naming the write", func(t *testing.T) {
		down := tsdb.New(tsdb.Options{URL: "http://127.0.0.1:9", Bucket: influx.Bucket, Timeout: time.Second})
		defer down.Close()
		err := New(st, down, slog.New(slog.DiscardHandler)).Once(ctx)
		require.ErrorContains(t, err, "writing 4 asset labels")
		require.ErrorIs(t, err, tsdb.ErrUnavailable)
	})
}

type label struct{ Name, Organization, Label, OrganizationLabel string }

// labels reads the newest label of every asset back with InfluxQL.
func labels(t *testing.T, influx *devenv.Influxd) map[string]label {
	t.Helper()
	q := `SELECT last("name"), last("organization"), last("label"), last("organization_label") FROM "kpilot_asset" GROUP BY "series"`
	resp, err := http.PostForm(influx.URL+"/query", url.Values{"db": {influx.Database}, "q": {q}})
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		Results []struct {
			Error  string
			Series []struct {
				Tags   map[string]string
				Values [][]any
			}
		}
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Len(t, out.Results, 1)
	require.Empty(t, out.Results[0].Error)
	got := map[string]label{}
	for _, s := range out.Results[0].Series {
		v := s.Values[0]
		got[s.Tags["series"]] = label{v[1].(string), v[2].(string), v[3].(string), v[4].(string)}
	}
	return got
}

// tagKeys lists the tag keys of the label measurement.
func tagKeys(t *testing.T, influx *devenv.Influxd) []string {
	t.Helper()
	resp, err := http.PostForm(influx.URL+"/query", url.Values{"db": {influx.Database}, "q": {`SHOW TAG KEYS FROM "kpilot_asset"`}})
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		Results []struct {
			Series []struct{ Values [][]string }
		}
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	var keys []string
	for _, s := range out.Results[0].Series {
		for _, v := range s.Values {
			keys = append(keys, v[0])
		}
	}
	return keys
}

func newOrg(t *testing.T, st store.Store, name string) store.Organization {
	t.Helper()
	o := store.Organization{Name: name, Kind: store.Customer}
	require.NoError(t, st.CreateOrganization(t.Context(), &o))
	return o
}

func newAsset(t *testing.T, st store.Store, o store.Organization, name string) store.Asset {
	t.Helper()
	a := store.Asset{OrgID: o.ID, OUID: o.RootOU, Name: name}
	require.NoError(t, st.CreateAsset(t.Context(), &a, nil))
	require.NotEmpty(t, a.SeriesID)
	return a
}
