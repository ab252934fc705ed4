package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/server/store"
)

// TestAgentsOfTwoOUsDoNotShareAnAsset: a sub-OU's agent reports asset key
// K first; the root OU's agent then reports K, and a device with the
// serial of K's asset under another key, with other values. The root
// agent's points and inventory for them are refused (an agent writes only
// into assets of its own OU), so the sub-OU admin's reads of its asset
// show its own agent's values only, while the root agent's other assets
// are stored.
func TestAgentsOfTwoOUsDoNotShareAnAsset(t *testing.T) {
	influx := devenv.Influx(t)
	e := newEnv(t, influx, influx.URL) // e.cred: the agent of the sub-OU "Branch"
	e.user("branch-admin@acme.example", e.org, e.branch.ID, store.Admin)
	branchAdmin := e.login("branch-admin@acme.example")
	rootCred := e.enroll(e.org.RootOU)
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	inv := func(asset string) kpi.Inventory {
		return kpi.Inventory{Asset: asset, Time: at, Attributes: map[string]any{"manufacturer": "Dell Inc.", "serial": "7N5NN2"}}
	}
	sample := func(asset string, v float64) kpi.Sample {
		return kpi.Sample{Asset: asset, Measurement: "temp", Fields: map[string]any{"v": v}, Time: at}
	}

	r := e.post(e.cred, batchOf(t, []kpi.Sample{sample("K", 1)}, inv("K")))
	require.Equal(t, http.StatusOK, r.code, "%v", r.body)
	k := e.assetBySource("K")
	require.Equal(t, e.branch.ID, k.OUID)

	r = e.post(rootCred, batchOf(t, []kpi.Sample{sample("K", 99), sample("K-alias", 98), sample("root-only", 5)}, inv("K-alias")))
	require.Equal(t, http.StatusOK, r.code, "%v", r.body)
	require.Equal(t, 1.0, r.body["accepted"], "root-only")
	require.Equal(t, 3.0, r.body["rejected"], "K's point, K-alias's inventory and point")
	require.Contains(t, fmt.Sprint(r.body["rejections"]), `asset "K": asset belongs to an organization unit outside the agent's`)
	require.Contains(t, fmt.Sprint(r.body["rejections"]), `asset "K-alias": asset belongs to an organization unit outside the agent's`)
	require.Equal(t, e.org.RootOU, e.assetBySource("root-only").OUID)

	code, list := e.get(branchAdmin, "/api/v1/assets")
	require.Equal(t, http.StatusOK, code, "%v", list)
	require.Len(t, list["assets"], 1, "the sub-OU sees its own asset only")
	require.Equal(t, k.ID, list["assets"].([]any)[0].(map[string]any)["id"])

	code, series := e.get(branchAdmin, "/api/v1/assets/"+k.ID+"/series?measurement=temp&field=v&start=-1h")
	require.Equal(t, http.StatusOK, code, "%v", series)
	var values []any
	for _, s := range series["series"].([]any) {
		for _, p := range s.(map[string]any)["points"].([]any) {
			values = append(values, p.(map[string]any)["value"])
		}
	}
	require.Equal(t, []any{1.0}, values, "only the sub-OU agent's value")
	require.Equal(t, 1, e.count("temp", fmt.Sprintf(`WHERE "asset" = '%s'`, k.SeriesID)))
	require.Equal(t, 2, e.count("temp", ""), "K's and root-only's, nothing else")

	code, doc := e.get(branchAdmin, "/api/v1/assets/"+k.ID+"/inventory")
	require.Equal(t, http.StatusOK, code, "%v", doc)
	require.False(t, strings.Contains(fmt.Sprint(doc), "K-alias"), "the root agent's inventory did not land in the asset: %v", doc)
}
