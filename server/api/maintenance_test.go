package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/server/store"
)

// windowPath is the path of a maintenance window on a_root, made once
// per world by Acme's admin.
func windowPath(w *world) string {
	ws, err := w.store.MaintenanceWindows(w.t.Context(), w.orgs["acme"].ID)
	require.NoError(w.t, err)
	if len(ws) == 0 {
		win := store.MaintenanceWindow{OrgID: w.orgs["acme"].ID, AssetID: w.assets["a_root"].ID, Recurrence: "0 22 * * sat",
			Duration: 4 * time.Hour, TimeZone: "Europe/Berlin", CreatedBy: w.users["acme_admin"], CreatedAt: time.Now()}
		require.NoError(w.t, w.store.CreateMaintenanceWindow(w.t.Context(), &win))
		ws = append(ws, win)
	}
	return "/api/v1/maintenance-windows/" + ws[0].ID
}

func weekly(assetID string) map[string]any {
	return map[string]any{"asset_id": assetID, "name": "patches", "recurrence": "0 22 * * sat", "duration_minutes": 240,
		"timezone": "Europe/Berlin"}
}

// TestMaintenanceWindowsAPI: an admin creates, lists, changes and deletes
// a window; bad input is answered field by field; a read-only partner,
// a viewer, the other tenant and the anonymous caller cannot create one.
func TestMaintenanceWindowsAPI(t *testing.T) {
	w := newWorld(t)
	aRoot := w.assets["a_root"].ID
	r := w.do("acme_admin", "POST", "/api/v1/maintenance-windows", weekly(aRoot))
	require.Equal(t, http.StatusCreated, r.code, "%s", r.raw)
	win := r.body["maintenance_window"].(map[string]any)
	require.Equal(t, "Europe/Berlin", win["timezone"])
	require.EqualValues(t, 240, win["duration_minutes"])
	id := win["id"].(string)

	r = w.do("acme_viewer", "GET", "/api/v1/maintenance-windows?asset_id="+aRoot, nil)
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	require.Len(t, r.body["maintenance_windows"], 1)

	once := map[string]any{"asset_id": aRoot, "starts_at": "2026-12-24T08:00:00Z", "ends_at": "2026-12-24T10:00:00Z"}
	r = w.do("acme_admin", "PUT", "/api/v1/maintenance-windows/"+id, once)
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	require.Equal(t, "UTC", r.body["maintenance_window"].(map[string]any)["timezone"], "UTC unless given")

	tests := []struct {
		name   string
		caller string
		body   map[string]any
		code   int
		msg    string
	}{
		{"bad cron", "acme_admin", map[string]any{"asset_id": aRoot, "recurrence": "0 25 * * *", "duration_minutes": 60}, 400, "recurrence:"},
		{"bad zone", "acme_admin", map[string]any{"ou_id": w.branch.ID, "recurrence": "@daily", "duration_minutes": 60, "timezone": "Berlin"}, 400,
			"timezone:"},
		{"end before start", "acme_admin", map[string]any{"asset_id": aRoot, "starts_at": "2026-12-24T10:00:00Z", "ends_at": "2026-12-24T08:00:00Z"},
			400, "ends_at: must be after starts_at"},
		{"sub-OU admin, asset above", "branch_admin", weekly(aRoot), 404, ""},
		{"sub-OU admin, own asset", "branch_admin", weekly(w.assets["a_branch"].ID), 201, ""},
		{"viewer", "acme_viewer", weekly(aRoot), 403, ""},
		{"read-only partner", "r1_admin", weekly(aRoot), 403, "read-only"},
		{"service partner", "s1_admin", weekly(w.assets["a_branch"].ID), 403, "read-only"},
		{"other tenant", "globex_admin", weekly(aRoot), 404, ""},
		{"anonymous", "anonymous", weekly(aRoot), 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.do(tt.caller, "POST", "/api/v1/maintenance-windows", tt.body)
			require.Equal(t, tt.code, r.code, "%s", r.raw)
			require.Contains(t, string(r.raw), tt.msg)
		})
	}
	require.Equal(t, http.StatusNoContent, w.do("acme_admin", "DELETE", "/api/v1/maintenance-windows/"+id, nil).code)
	require.Equal(t, http.StatusNotFound, w.do("acme_admin", "DELETE", "/api/v1/maintenance-windows/"+id, nil).code)
}

// TestAssetParentAPI: a parent is set, read and cleared; a cycle is
// refused with a message saying so.
func TestAssetParentAPI(t *testing.T) {
	w := newWorld(t)
	aRoot, aBranch := w.assets["a_root"].ID, w.assets["a_branch"].ID
	r := w.do("acme_admin", "PUT", "/api/v1/assets/"+aBranch+"/parent", map[string]string{"parent_id": aRoot})
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	require.Equal(t, aRoot, r.body["parent_id"])
	r = w.do("acme_admin", "PUT", "/api/v1/assets/"+aRoot+"/parent", map[string]string{"parent_id": aBranch})
	require.Equal(t, http.StatusBadRequest, r.code, "%s", r.raw)
	require.Contains(t, r.body["error"], "would be a cycle")
	r = w.do("acme_admin", "PUT", "/api/v1/assets/"+aRoot+"/parent", map[string]string{"parent_id": w.assets["g1"].ID})
	require.Equal(t, http.StatusBadRequest, r.code, "another tenant's asset is no parent: %s", r.raw)
	r = w.do("s1_admin", "GET", "/api/v1/assets/"+aBranch+"/parent", nil)
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	require.Equal(t, aRoot, r.body["parent_id"])
	require.Equal(t, http.StatusNoContent, w.do("branch_admin", "DELETE", "/api/v1/assets/"+aBranch+"/parent", nil).code)
	r = w.do("acme_admin", "GET", "/api/v1/assets/"+aBranch+"/parent", nil)
	require.Equal(t, "", r.body["parent_id"])
}

// TestPlannedDowntimeInAvailability: polls in a real influxd say a_root
// was unreachable for 20 minutes; a maintenance window covered 15 of
// them. The availability answer counts those as planned downtime and
// leaves them out of the availability.
func TestPlannedDowntimeInAvailability(t *testing.T) {
	w := newWorldInflux(t, devenv.Influx(t))
	t0 := time.Now().Add(-3 * time.Hour).Truncate(time.Hour)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	var lp strings.Builder
	for m := range 120 {
		fields := `up=true,outcome=0i`
		if m >= 30 && m < 50 {
			fields = `up=false,outcome=2i`
		}
		fmt.Fprintf(&lp, "agent_poll,asset=%s,collector=snmp %s %d\n", w.assets["a_root"].SeriesID, fields, at(m).UnixNano())
	}
	require.NoError(t, w.tsdb.Write(t.Context(), []byte(lp.String())))
	q := url.Values{"start": {at(0).Format(time.RFC3339)}, "stop": {at(120).Format(time.RFC3339)}}
	path := "/api/v1/assets/" + w.assets["a_root"].ID + "/availability?" + q.Encode()

	r := w.do("acme_viewer", "GET", path, nil)
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	before := r.body["summary"].(map[string]any)
	require.InDelta(t, 1200, before["down_seconds"], 0.001)
	require.InDelta(t, 0, before["planned_down_seconds"], 0.001)
	require.InDelta(t, 6000.0/7200, before["availability"], 1e-9)

	r = w.do("acme_admin", "POST", "/api/v1/maintenance-windows", map[string]any{"asset_id": w.assets["a_root"].ID,
		"starts_at": at(20).Format(time.RFC3339), "ends_at": at(45).Format(time.RFC3339)})
	require.Equal(t, http.StatusCreated, r.code, "%s", r.raw)
	r = w.do("acme_viewer", "GET", path, nil)
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	after := r.body["summary"].(map[string]any)
	require.InDelta(t, 1200, after["down_seconds"], 0.001)
	require.InDelta(t, 900, after["planned_down_seconds"], 0.001)
	require.InDelta(t, 6000.0/(7200-900), after["availability"], 1e-9)
	outages := after["outages"].([]any)
	require.Len(t, outages, 2)
	require.Equal(t, true, outages[0].(map[string]any)["planned"])
}
