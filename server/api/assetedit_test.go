package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/server/store"
)

// TestAssetEditRules: what each kind of caller may change of an asset
// and what the answers say; refusals change nothing. The authorization
// matrix holds who passes at all; this holds the rules behind it.
func TestAssetEditRules(t *testing.T) {
	w := newWorld(t)
	aBranch, aRoot := w.assets["a_branch"], w.assets["a_root"]
	path := func(a store.Asset) string { return "/api/v1/assets/" + a.ID }
	for _, tt := range []struct {
		name, caller, method string
		asset                store.Asset
		body                 map[string]any
		code                 int
		msg                  string
	}{
		{"anonymous", "anonymous", "PATCH", aBranch, map[string]any{"name": "x"}, 401, ""},
		{"viewer of the organization", "acme_viewer", "PATCH", aBranch, map[string]any{"name": "x"}, 403, "only admins"},
		{"viewer deletes", "acme_viewer", "DELETE", aBranch, nil, 403, "only admins"},
		{"other tenant", "globex_admin", "PATCH", aBranch, map[string]any{"name": "x"}, 404, "not found"},
		{"other tenant deletes", "globex_admin", "DELETE", aBranch, nil, 404, "not found"},
		{"partner that created the asset", "r1_admin", "DELETE", aRoot, nil, 403, "read-only"},
		{"service partner of the asset", "s1_admin", "PATCH", aBranch, map[string]any{"name": "x"}, 403, "read-only"},
		{"partner that does not see it", "r3_admin", "PATCH", aBranch, map[string]any{"name": "x"}, 404, "not found"},
		{"sub-OU admin moves out of its OU into one it does not administer", "branch_admin", "PATCH", aBranch,
			map[string]any{"ou_id": w.spare.ID}, 404, "ou_id: not an organization unit you administer"},
		{"sub-OU admin moves an asset above its OU into its own", "branch_admin", "PATCH", aRoot,
			map[string]any{"ou_id": w.branch.ID}, 404, "not found"},
		{"sub-OU admin deletes above its OU", "branch_admin", "DELETE", aRoot, nil, 404, "not found"},
		{"OU of another organization", "acme_admin", "PATCH", aBranch,
			map[string]any{"ou_id": w.orgs["globex"].RootOU}, 404, "ou_id: not an organization unit you administer"},
		{"empty name", "acme_admin", "PATCH", aBranch, map[string]any{"name": " "}, 400, "name: 1 to 200 characters"},
		{"unknown category", "acme_admin", "PATCH", aBranch, map[string]any{"category": "toaster"}, 400, `category "toaster": one of`},
		{"location on two lines", "acme_admin", "PATCH", aBranch, map[string]any{"location": "a\nb"}, 400, "location: at most 200 characters on one line"},
		{"a bad field stops the whole change", "acme_admin", "PATCH", aBranch,
			map[string]any{"name": "Renamed", "category": "toaster"}, 400, "category"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != nil {
				body = tt.body
			}
			r := w.do(tt.caller, tt.method, path(tt.asset), body)
			require.Equal(t, tt.code, r.code, "%s", r.raw)
			require.Contains(t, fmt.Sprint(r.body["error"]), tt.msg)
		})
	}
	for _, a := range []store.Asset{aBranch, aRoot} {
		got, err := w.store.Asset(t.Context(), a.ID)
		require.NoError(t, err, "refusals delete nothing")
		require.Equal(t, a.Name, got.Name, "refusals rename nothing")
		require.Equal(t, a.OUID, got.OUID, "refusals move nothing")
	}

	// The sub-OU admin edits its own asset; the category is pinned.
	r := w.do("branch_admin", "PATCH", path(aBranch), map[string]any{"name": " Backup NAS ", "category": "Storage",
		"location": "Munich DC, rack 4", "notes": "RMA case 4711 open"})
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	got := r.body["asset"].(map[string]any)
	require.Equal(t, "Backup NAS", got["name"])
	require.Equal(t, "storage", got["category"])
	require.Equal(t, true, got["category_pinned"])
	require.Equal(t, "Munich DC, rack 4", got["location"])
	require.Equal(t, "RMA case 4711 open", got["notes"])
	r = w.do("s1_admin", "GET", path(aBranch), nil)
	require.Equal(t, "Munich DC, rack 4", r.body["asset"].(map[string]any)["location"], "the service partner reads where it is")
	require.NotContains(t, string(r.raw), "RMA case", "notes are the owner's")

	// The root admin moves it into the spare OU: the branch admin loses
	// it, the root viewer keeps it, and the service partner, assigned
	// the asset itself, keeps it too (partners never see through an OU).
	r = w.do("acme_admin", "PATCH", path(aBranch), map[string]any{"ou_id": w.spare.ID})
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	require.Equal(t, w.spare.ID, r.body["asset"].(map[string]any)["ou_id"])
	require.Equal(t, http.StatusNotFound, w.do("branch_admin", "GET", path(aBranch), nil).code)
	require.Equal(t, http.StatusOK, w.do("acme_viewer", "GET", path(aBranch), nil).code)
	require.Equal(t, http.StatusOK, w.do("s1_admin", "GET", path(aBranch), nil).code)
	require.Equal(t, http.StatusOK, w.do("r1_admin", "GET", path(aRoot), nil).code)

	seen, raw := auditSeen(t, w, "acme_admin")
	require.Contains(t, seen, "asset.edit "+aBranch.ID, raw)
	require.Contains(t, seen, "asset.move "+aBranch.ID, raw)
	require.Contains(t, raw, `"to_ou": "Spare"`)

	// Deleted (no agent reports it): gone for everyone, partners too.
	r = w.do("acme_admin", "DELETE", path(aBranch), nil)
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	require.Equal(t, false, r.body["series_dropped"], "this world's InfluxDB is down: %s", r.raw)
	for _, c := range []string{"acme_admin", "s1_admin"} {
		require.Equal(t, http.StatusNotFound, w.do(c, "GET", path(aBranch), nil).code, c)
	}
	seen, raw = auditSeen(t, w, "acme_admin")
	require.Contains(t, seen, "asset.delete "+aBranch.ID, raw)
}

// TestAssetMoveAndDeleteWithItsAgent: an agent of the branch OU reports
// two switches. Moved into a sibling OU, the first keeps taking the
// agent's points under its series; an agent of the sibling OU still
// cannot write it. It cannot be deleted while the agent reports it: the
// answer names the agent and the target. The second, last polled two
// hours ago, is deleted with its points in InfluxDB, the first's stay.
func TestAssetMoveAndDeleteWithItsAgent(t *testing.T) {
	influx := devenv.Influx(t)
	e := newEnv(t, influx, influx.URL)
	e.user("root-admin@acme.example", e.org, e.org.RootOU, store.Admin)
	admin := e.login("root-admin@acme.example")
	other := store.OU{OrgID: e.org.ID, ParentID: e.org.RootOU, Name: "Other"}
	require.NoError(t, e.store.CreateOU(t.Context(), &other))

	now, old := time.Now().Add(-time.Minute).Truncate(time.Second), time.Now().Add(-2*time.Hour).Truncate(time.Second)
	polled := func(asset string, at time.Time, v float64) []kpi.Sample {
		return []kpi.Sample{
			{Asset: asset, Measurement: "temp", Fields: map[string]any{"v": v}, Time: at},
			{Asset: asset, Measurement: "agent_poll", Tags: map[string]string{"collector": "snmp"},
				Fields: map[string]any{"up": true, "outcome": int64(0), "message": "", "duration_seconds": 0.1}, Time: at},
		}
	}
	inv := kpi.Inventory{Asset: "sw-1", Time: now, Attributes: map[string]any{"manufacturer": "Cisco", "serial": "FOC1234"}}
	r := e.post(e.cred, batchOf(t, append(polled("sw-1", now, 1), polled("sw-old", old, 7)...), inv))
	require.Equal(t, http.StatusOK, r.code, "%v", r.body)
	sw, swOld := e.assetBySource("sw-1"), e.assetBySource("sw-old")

	code, body := e.call("PATCH", "/api/v1/assets/"+sw.ID, admin, map[string]any{"ou_id": other.ID, "name": "Core switch"})
	require.Equal(t, http.StatusOK, code, "%v", body)

	r = e.post(e.cred, batchOf(t, polled("sw-1", now.Add(30*time.Second), 2)))
	require.Equal(t, http.StatusOK, r.code, "%v", r.body)
	require.Equal(t, 2.0, r.body["accepted"], "the moved asset still takes its agent's points: %v", r.body)
	require.Equal(t, 2, e.count("temp", fmt.Sprintf(`WHERE "asset" = '%s'`, sw.SeriesID)), "one series, its history whole")

	otherCred := e.enroll(other.ID)
	inv.Asset = "sw-1-seen-by-other"
	r = e.post(otherCred, batchOf(t, nil, inv))
	require.Equal(t, http.StatusUnprocessableEntity, r.code, "%v", r.body)
	require.Contains(t, fmt.Sprint(r.body["rejections"]), "outside the agent's", "an agent of the new OU does not write the moved asset")

	code, body = e.call("DELETE", "/api/v1/assets/"+sw.ID, admin, nil)
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Contains(t, body["error"], `agent "a" still reports this asset`)
	require.Contains(t, body["error"], `remove target "sw-1" from its configuration`)

	inv = kpi.Inventory{Asset: "inventory-only", Time: now, Attributes: map[string]any{"manufacturer": "APC"}}
	r = e.post(e.cred, batchOf(t, nil, inv))
	require.Equal(t, http.StatusOK, r.code, "%v", r.body)
	code, body = e.call("DELETE", "/api/v1/assets/"+e.assetBySource("inventory-only").ID, admin, nil)
	require.Equal(t, http.StatusConflict, code, "an agent that sends inventory without polls reports it too: %v", body)
	require.Contains(t, body["error"], `remove target "inventory-only"`)

	require.Equal(t, 1, e.count("temp", fmt.Sprintf(`WHERE "asset" = '%s'`, swOld.SeriesID)))
	code, body = e.call("DELETE", "/api/v1/assets/"+swOld.ID, admin, nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, true, body["series_dropped"], "%v", body)
	require.Equal(t, 0, e.count("temp", fmt.Sprintf(`WHERE "asset" = '%s'`, swOld.SeriesID)), "its points are dropped")
	require.Equal(t, 2, e.count("temp", fmt.Sprintf(`WHERE "asset" = '%s'`, sw.SeriesID)), "the other asset's stay")
	_, err := e.store.Asset(t.Context(), swOld.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
}
