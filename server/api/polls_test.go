package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
)

// TestAssetsCarryTheLatestPollOutcome: an asset and the asset list carry
// the outcome and message of the asset's latest poll, read from a real
// influxd, for everyone who sees the asset (a reseller too: it is no
// health reading); an asset without polls has none.
func TestAssetsCarryTheLatestPollOutcome(t *testing.T) {
	w := newWorldInflux(t, devenv.Influx(t))
	root := w.assets["a_root"]
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	msg := "nothing listens at https://10.0.0.5:443 (connection refused): is the service running, and are the address and port right?"
	lines := []string{
		fmt.Sprintf(`agent_poll,asset=%s,collector=bmc up=true,outcome=0i,message="",duration_seconds=0.2 %d`, root.SeriesID, at.Add(-time.Minute).UnixNano()),
		fmt.Sprintf(`agent_poll,asset=%s,collector=bmc up=false,outcome=2i,message=%q,duration_seconds=0.01 %d`, root.SeriesID, msg, at.UnixNano()),
	}
	require.NoError(t, w.tsdb.Write(t.Context(), []byte(strings.Join(lines, "\n"))))
	want := map[string]any{"outcome": "unreachable", "message": msg, "at": at.UTC().Format(time.RFC3339), "collector": "bmc"}

	for _, caller := range []string{"acme_admin", "acme_viewer", "r1_admin"} {
		t.Run(caller, func(t *testing.T) {
			r := w.do(caller, "GET", "/api/v1/assets/"+root.ID, nil)
			require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
			require.Equal(t, want, r.body["asset"].(map[string]any)["poll"])

			r = w.do(caller, "GET", "/api/v1/assets", nil)
			require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
			polls := map[string]any{}
			for _, x := range r.body["assets"].([]any) {
				as := x.(map[string]any)
				polls[as["id"].(string)] = as["poll"]
			}
			require.Equal(t, want, polls[root.ID])
			if b, ok := polls[w.assets["a_branch"].ID]; ok {
				require.Nil(t, b, "an asset without polls has poll null")
			}
		})
	}
	r := w.do("globex_admin", "GET", "/api/v1/assets/"+root.ID, nil)
	require.Equal(t, http.StatusNotFound, r.code, "who does not see the asset does not see its poll")
}
