package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOverviewPerCaller: GET /api/v1/overview lists the customers each
// caller sees, with open findings only where it may see them, and
// GET /api/v1/assets gives each asset's open findings the same way.
func TestOverviewPerCaller(t *testing.T) {
	w := newWorld(t)
	summary := func(caller, query string) []string {
		r := w.do(caller, "GET", "/api/v1/overview"+query, nil)
		require.Equal(t, http.StatusOK, r.code, string(r.raw))
		var out []string
		for _, c := range r.body["customers"].([]any) {
			c := c.(map[string]any)
			f := c["findings"].(map[string]any)
			out = append(out, fmt.Sprintf("%s assets=%v critical=%v warning=%v sees=%v", c["name"], c["assets"], f["critical"], f["warning"], c["sees_findings"]))
		}
		return out
	}
	for _, c := range []struct {
		caller, query string
		want          []string
	}{
		{"acme_admin", "", []string{"Acme GmbH assets=2 critical=0 warning=2 sees=true"}},
		{"branch_admin", "", []string{"Acme GmbH assets=1 critical=0 warning=1 sees=true"}},
		{"globex_admin", "", []string{"Globex AG assets=1 critical=1 warning=0 sees=true"}},
		{"s1_admin", "", []string{"Acme GmbH assets=2 critical=0 warning=2 sees=true"}},
		{"r1_admin", "", []string{"Acme GmbH assets=1 critical=0 warning=0 sees=false"}}, // a reseller: no findings
		{"r1_admin", "?q=globex", nil},
		{"r3_admin", "", nil}, // listed, nothing assigned
		{"r4_admin", "", nil}, // revoked
		{"w_admin", "", nil},  // Globex withdrew consent
	} {
		t.Run(c.caller+c.query, func(t *testing.T) {
			require.Equal(t, c.want, summary(c.caller, c.query))
		})
	}
	require.Equal(t, http.StatusBadRequest, w.do("acme_admin", "GET", "/api/v1/overview?per_page=0", nil).code)

	findings := func(caller string) map[string]any {
		r := w.do(caller, "GET", "/api/v1/assets", nil)
		require.Equal(t, http.StatusOK, r.code)
		out := map[string]any{}
		for _, a := range r.body["assets"].([]any) {
			a := a.(map[string]any)
			out[a["name"].(string)] = a["findings"]
		}
		return out
	}
	require.Equal(t, map[string]any{"Acme ESX": map[string]any{"critical": 0.0, "warning": 1.0, "info": 0.0},
		"Acme NAS": map[string]any{"critical": 0.0, "warning": 1.0, "info": 0.0}}, findings("acme_admin"))
	require.Equal(t, map[string]any{"Acme ESX": nil}, findings("r1_admin"), "a reseller is not told findings")
}
