package overview_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/overview"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/visibility"
)

// world is a reseller R with customers that share with it in every way
// there is, and some that do not.
type world struct {
	db       *sqlstore.DB
	now      time.Time
	r, other store.Organization
	assets   map[string]store.Asset
	orgs     map[string]store.Organization
}

func newWorld(t *testing.T) *world {
	ctx := t.Context()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "k.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	w := &world{db: db, now: time.Now().UTC().Truncate(time.Millisecond), assets: map[string]store.Asset{}, orgs: map[string]store.Organization{}}
	w.r = store.Organization{Name: "Reseller", Kind: store.Reseller, PartnerID: "R-1"}
	require.NoError(t, db.CreateOrganization(ctx, &w.r))
	w.other = store.Organization{Name: "Other partner", Kind: store.Reseller, PartnerID: "R-2"}
	require.NoError(t, db.CreateOrganization(ctx, &w.other))
	customer := func(name string, assets ...string) store.Organization {
		c := store.Organization{Name: name, Kind: store.Customer}
		require.NoError(t, db.CreateOrganization(ctx, &c))
		for _, n := range assets {
			a := store.Asset{OrgID: c.ID, OUID: c.RootOU, Name: n, Category: "server"}
			require.NoError(t, db.CreateAsset(ctx, &a, nil))
			w.assets[n] = a
		}
		w.orgs[name] = c
		return c
	}
	channel := func(c store.Organization, partner store.Organization, consent bool) {
		require.NoError(t, db.AddChannelPartner(ctx, store.ChannelPartner{CustomerOrgID: c.ID, PartnerOrgID: partner.ID,
			DefaultReseller: true, AddedBy: "t"}))
		require.NoError(t, db.SetChannelConsent(ctx, c.ID, consent))
	}
	grant := func(asset string, partner store.Organization) store.Grant {
		g := store.Grant{AssetID: w.assets[asset].ID, CustomerOrgID: w.assets[asset].OrgID, PartnerOrgID: partner.ID,
			Kind: store.GrantSystemKey, GrantedBy: "t"}
		require.NoError(t, db.CreateGrant(ctx, &g))
		return g
	}
	// Alpha: R is default reseller with consent, and service partner of a1.
	alpha := customer("Alpha", "a1", "a2", "a3")
	channel(alpha, w.r, true)
	require.NoError(t, db.SetChannelAssignment(ctx, &store.ChannelAssignment{CustomerOrgID: alpha.ID, PartnerOrgID: w.r.ID,
		Role: store.RoleService, AssetID: w.assets["a1"].ID, AssignedBy: "t"}))
	// Beta: R holds a system key grant on b1 only.
	customer("Beta", "b1", "b2")
	grant("b1", w.r)
	// Gamma: R is its channel partner, but Gamma has not consented.
	channel(customer("Gamma", "g1"), w.r, false)
	// Delta: the other partner's customer.
	channel(customer("Delta", "d1"), w.other, true)
	// Epsilon: R's grant was revoked.
	customer("Epsilon", "e1")
	g := grant("e1", w.r)
	require.NoError(t, db.RevokeGrant(ctx, g.ID, "t", w.now))

	// a1 and b1 are up, a2 down, a3 never polled, b2 up but silent for an hour.
	require.NoError(t, db.SetAssetPolls(ctx, []store.AssetPoll{
		{AssetID: w.assets["a1"].ID, At: w.now.Add(-time.Minute), Up: true},
		{AssetID: w.assets["a2"].ID, At: w.now.Add(-time.Minute), Up: false},
		{AssetID: w.assets["b1"].ID, At: w.now.Add(-time.Minute), Up: true},
		{AssetID: w.assets["b2"].ID, At: w.now.Add(-time.Hour), Up: true},
		{AssetID: w.assets["g1"].ID, At: w.now.Add(-time.Minute), Up: false},
		{AssetID: w.assets["e1"].ID, At: w.now.Add(-time.Minute), Up: false},
	}))
	find := func(org string, res ...store.FindingResult) {
		_, err := db.ReconcileFindings(ctx, w.orgs[org].ID, res, w.now)
		require.NoError(t, err)
	}
	result := func(asset, subject string, sev store.Severity) store.FindingResult {
		return store.FindingResult{RuleID: "r", Kind: "storage_used", AssetID: w.assets[asset].ID, Subject: subject, Severity: sev, Text: "t"}
	}
	find("Alpha", result("a1", "/", store.SeverityCritical), result("a1", "/var", store.SeverityWarning),
		result("a2", "/", store.SeverityCritical)) // a2's: R is only its reseller
	find("Beta", result("b1", "/", store.SeverityCritical)) // a system key makes R a reseller
	find("Gamma", result("g1", "/", store.SeverityCritical))
	find("Epsilon", result("e1", "/", store.SeverityCritical))
	return w
}

func (w *world) customers(t *testing.T, p visibility.Principal, q overview.Query) overview.Page {
	t.Helper()
	set, err := visibility.NewLoader(w.db).Set(t.Context(), p)
	require.NoError(t, err)
	page, err := overview.Customers(t.Context(), w.db, p, set, w.now, q)
	require.NoError(t, err)
	return page
}

func partner(o store.Organization) visibility.Principal {
	return visibility.Principal{UserID: "u", OrgID: o.ID, OrgKind: o.Kind, OUID: o.RootOU, Role: store.Viewer}
}

// row is a customer's line in short: name assets/down/unmonitored
// critical/warning/info.
func rows(p overview.Page) []string {
	var out []string
	for _, c := range p.Customers {
		out = append(out, fmt.Sprintf("%s %d/%d/%d %d/%d/%d %v", c.Name, c.Assets, c.Down, c.Unmonitored,
			c.Findings.Critical, c.Findings.Warning, c.Findings.Info, c.SeesFindings))
	}
	return out
}

func TestCustomersShowOnlyWhatThePartnerMaySee(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct {
		name string
		p    visibility.Principal
		want []string
	}{
		{"the reseller: Alpha by consent, Beta's b1 by system key; not Gamma (no consent), Epsilon (revoked) or Delta",
			partner(w.r), []string{"Alpha 3/1/1 1/1/0 true", "Beta 1/0/0 0/0/0 false"}},
		{"another partner sees its own customer only", partner(w.other), []string{"Delta 1/0/1 0/0/0 false"}},
		{"a customer sees itself, every finding", visibility.Principal{UserID: "u", OrgID: w.orgs["Gamma"].ID, OrgKind: store.Customer,
			OUID: w.orgs["Gamma"].RootOU, Role: store.Admin}, []string{"Gamma 1/1/0 1/0/0 true"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, rows(w.customers(t, c.p, overview.Query{})))
		})
	}
}

func TestCustomersAreSortedSearchedAndPaged(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	// Twelve more customers of R: c07 has a critical finding where R is
	// service partner, c03 an asset down, c05 a warning, the rest are fine.
	for i := range 12 {
		c := store.Organization{Name: fmt.Sprintf("Customer %02d", i), Kind: store.Customer}
		require.NoError(t, w.db.CreateOrganization(ctx, &c))
		a := store.Asset{OrgID: c.ID, OUID: c.RootOU, Name: "x", Category: "server"}
		require.NoError(t, w.db.CreateAsset(ctx, &a, nil))
		require.NoError(t, w.db.AddChannelPartner(ctx, store.ChannelPartner{CustomerOrgID: c.ID, PartnerOrgID: w.r.ID,
			DefaultReseller: true, DefaultService: true, AddedBy: "t"}))
		require.NoError(t, w.db.SetChannelConsent(ctx, c.ID, true))
		require.NoError(t, w.db.SetAssetPolls(ctx, []store.AssetPoll{{AssetID: a.ID, At: w.now, Up: i != 3}}))
		sev := map[int]store.Severity{7: store.SeverityCritical, 5: store.SeverityWarning}[i]
		if sev != "" {
			_, err := w.db.ReconcileFindings(ctx, c.ID, []store.FindingResult{{RuleID: "r", Kind: "health", AssetID: a.ID, Severity: sev, Text: "t"}}, w.now)
			require.NoError(t, err)
		}
	}
	names := func(p overview.Page) []string {
		var out []string
		for _, c := range p.Customers {
			out = append(out, c.Name)
		}
		return out
	}
	for _, c := range []struct {
		name  string
		q     overview.Query
		want  []string
		total int
	}{
		{"critical first, then down, warnings, unmonitored; then by name",
			overview.Query{PerPage: 5}, []string{"Alpha", "Customer 07", "Customer 03", "Customer 05", "Beta"}, 14},
		{"page 3 of 5 a page", overview.Query{Page: 3, PerPage: 5}, []string{"Customer 08", "Customer 09", "Customer 10", "Customer 11"}, 14},
		{"a page past the end is empty", overview.Query{Page: 9, PerPage: 5}, nil, 14},
		{"search by part of the name, any case", overview.Query{Search: "OMER 1"}, []string{"Customer 10", "Customer 11"}, 2},
		{"search finds no hidden customer", overview.Query{Search: "gamma"}, nil, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := w.customers(t, partner(w.r), c.q)
			require.Equal(t, c.want, names(p))
			require.Equal(t, c.total, p.Total)
		})
	}
	sum := w.customers(t, partner(w.r), overview.Query{Search: "customer"}).Sum
	require.Equal(t, overview.Customer{Assets: 12, Down: 1, Findings: overview.Severities{Critical: 1, Warning: 1}, SeesFindings: true}, sum,
		"the sum is over every match, not only the page")
}

func TestParseQuery(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     overview.Query
		err      string
	}{
		{"defaults", "", overview.Query{Page: 1, PerPage: overview.DefaultPerPage}, ""},
		{"all", "q=+acme+&page=2&per_page=20", overview.Query{Search: "acme", Page: 2, PerPage: 20}, ""},
		{"page 0", "page=0", overview.Query{}, "page: a whole number from 1"},
		{"too many a page", "per_page=1000", overview.Query{}, "per_page: a whole number from 1 to 200"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := url.ParseQuery(c.in)
			require.NoError(t, err)
			got, err := overview.ParseQuery(v)
			if c.err != "" {
				require.ErrorContains(t, err, c.err)
				require.Equal(t, problem.Invalid, problem.KindOf(err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}
