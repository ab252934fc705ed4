package portal_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// BenchmarkPagesWith1000Assets times the list pages over HTTP against a
// real server (SQLite, influxd) when the user sees 1,000 assets: the
// customer's dashboard and asset table, and a partner's portal with
// 1,000 shared assets. The target is under 300 ms a page; results and the
// command are in bench/README.md.
func BenchmarkPagesWith1000Assets(b *testing.B) {
	s := newSite(b)
	ctx := b.Context()
	cats := []string{"server", "storage", "backup", "network", "power", "printer", "software"}
	r1 := s.orgs["r1"]
	for i := range 1000 {
		a := s.asset("acme", fmt.Sprintf("Device %04d", i), cats[i%len(cats)])
		g := store.Grant{AssetID: a.ID, CustomerOrgID: a.OrgID, PartnerOrgID: r1.ID, Kind: store.GrantSystemKey, GrantedBy: "bench"}
		require.NoError(b, s.store.CreateGrant(ctx, &g))
	}
	customer := s.browser()
	customer.login("admin@acme.example")
	partner := s.browser()
	partner.login("admin@r1.example")
	for _, c := range []struct {
		name string
		br   *browser
		path string
	}{{"dashboard", customer, "/"}, {"config_assets", customer, "/config/assets"}, {"partner_portal", partner, "/"}} {
		b.Run(c.name, func(b *testing.B) {
			p := c.br.get(c.path)
			require.Equal(b, http.StatusOK, p.code)
			require.GreaterOrEqual(b, strings.Count(p.body, "/assets/"), 1000, "every asset is on the page")
			for b.Loop() {
				resp, err := c.br.c.Get(s.url + c.path)
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatal(err, resp)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
