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

// healthKPIs are states as an Acme agent sends them: a battery status, a
// power supply state with "not present" unknown, a link status that is
// not health, and a global status that is service data.
var healthKPIs = []byte(`[
 {"measurement": "ups_battery", "name": {"en": "UPS battery"}, "fields": {"status": {"name": {"en": "Battery status"}, "kind": "state",
   "states": {"2": {"name": {"en": "Normal"}, "severity": "ok"}, "3": {"name": {"en": "Low"}, "severity": "critical"}}}}},
 {"measurement": "power_supply", "name": {"en": "Power supply"}, "fields": {"state": {"name": {"en": "Power supply state"}, "kind": "state",
   "states": {"1": {"name": {"en": "Normal"}, "severity": "ok"}, "3": {"name": {"en": "Critical"}, "severity": "critical"},
     "5": {"name": {"en": "Not present"}, "severity": "unknown"}}}}},
 {"measurement": "interface", "fields": {"oper_status": {"name": {"en": "Link status"}, "kind": "state", "health": false,
   "states": {"1": {"name": {"en": "Up"}, "severity": "ok"}, "2": {"name": {"en": "Down"}, "severity": "critical"}}}}},
 {"measurement": "server_health", "name": {"en": "Server health"}, "fields": {"global_status": {"name": {"en": "Global status"}, "kind": "state",
   "class": "service", "states": {"3": {"name": {"en": "OK"}, "severity": "ok"}, "5": {"name": {"en": "Critical"}, "severity": "critical"}}}}}]`)

// TestAssetCarriesItsOverallHealth: an asset's answer carries the worst
// severity of its current health states, read from a real influxd and
// ranked by the organization's catalog (its agent's definitions): a critical global status (service
// data) for the owner and its service partner, while a reseller sees the
// health of what it may read (the battery: ok). A link that is down is
// not health; an empty PSU slot (unknown) does not outweigh an OK state.
func TestAssetCarriesItsOverallHealth(t *testing.T) {
	w := newWorldInflux(t, devenv.Influx(t))
	r := w.do(w.enrollAgent("acme"), "PUT", "/api/v1/agents/self/kpis", healthKPIs)
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	at := time.Now().Add(-time.Minute).UnixNano()
	var lines []string
	for _, key := range []string{"a_root", "a_branch"} {
		id := w.assets[key].SeriesID
		lines = append(lines,
			fmt.Sprintf(`ups_battery,asset=%s status=2i %d`, id, at),
			fmt.Sprintf(`power_supply,asset=%s,descr=PSU3 state=5i %d`, id, at),
			fmt.Sprintf(`interface,asset=%s,name=eth0 oper_status=2i %d`, id, at),
			fmt.Sprintf(`server_health,asset=%s,system=1 global_status=5i %d`, id, at))
	}
	require.NoError(t, w.tsdb.Write(t.Context(), []byte(strings.Join(lines, "\n"))))

	tests := []struct {
		name, caller, asset, want string
	}{
		{"owner", "acme_admin", "a_root", "critical"},
		{"owner, other asset", "acme_admin", "a_branch", "critical"},
		{"service partner", "s1_admin", "a_branch", "critical"},
		{"reseller: no service data", "r1_admin", "a_root", "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r = w.do(tt.caller, "GET", "/api/v1/assets/"+w.assets[tt.asset].ID, nil)
			require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
			require.Equal(t, tt.want, r.body["asset"].(map[string]any)["health"])
		})
	}
}
