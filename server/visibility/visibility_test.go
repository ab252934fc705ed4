package visibility_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// Acme: root ─┬─ north ── north-branch
//
//	└─ south
//
// Other: other-root
var ous = []store.OU{
	{ID: "root", OrgID: "acme"},
	{ID: "north", OrgID: "acme", ParentID: "root"},
	{ID: "north-branch", OrgID: "acme", ParentID: "north"},
	{ID: "south", OrgID: "acme", ParentID: "root"},
	{ID: "other-root", OrgID: "other"},
	// A corrupt row that claims an Acme parent from another tenant.
	{ID: "intruder", OrgID: "other", ParentID: "north"},
}

var assets = []store.Asset{
	{ID: "a-root", OrgID: "acme", OUID: "root"},
	{ID: "a-north", OrgID: "acme", OUID: "north"},
	{ID: "a-branch", OrgID: "acme", OUID: "north-branch"},
	{ID: "a-south", OrgID: "acme", OUID: "south"},
	{ID: "b-other", OrgID: "other", OUID: "other-root"},
	{ID: "b-intruder", OrgID: "other", OUID: "intruder"},
	// An asset row whose OU id is Acme's but whose tenant is not.
	{ID: "b-mislabelled", OrgID: "other", OUID: "north"},
}

func ids(as []store.Asset) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name string
		p    visibility.Principal
		want []string
	}{
		{"root member sees the whole tree", visibility.Principal{OrgID: "acme", OUID: "root", Role: store.Viewer},
			[]string{"a-root", "a-north", "a-branch", "a-south"}},
		{"branch member sees its OU and below", visibility.Principal{OrgID: "acme", OUID: "north", Role: store.Admin},
			[]string{"a-north", "a-branch"}},
		{"leaf member sees only its leaf", visibility.Principal{OrgID: "acme", OUID: "north-branch"},
			[]string{"a-branch"}},
		{"other tenant sees none of Acme", visibility.Principal{OrgID: "other", OUID: "other-root"},
			[]string{"b-other"}},
		{"membership OU of another tenant sees nothing", visibility.Principal{OrgID: "other", OUID: "north"},
			[]string{}},
		{"anonymous sees nothing", visibility.Principal{}, []string{}},
		{"unknown OU sees nothing", visibility.Principal{OrgID: "acme", OUID: "gone"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ids(visibility.Resolve(tt.p, ous, visibility.Shared{}).Filter(assets))
			require.Equal(t, tt.want, got)
		})
	}
}

func TestSubtreeSurvivesCycle(t *testing.T) {
	cyclic := []store.OU{{ID: "x", OrgID: "o", ParentID: "y"}, {ID: "y", OrgID: "o", ParentID: "x"}}
	got := visibility.Subtree("o", "x", cyclic)
	require.Equal(t, map[string]bool{"x": true, "y": true}, got)
}

func TestPartnerGrants(t *testing.T) {
	now := time.Now()
	reseller := visibility.Principal{OrgID: "res", OrgKind: store.Reseller, OUID: "res-root", Role: store.Viewer}
	partnerOUs := []store.OU{{ID: "res-root", OrgID: "res"}}
	sh := visibility.Shared{Grants: []store.Grant{
		{AssetID: "a-north", CustomerOrgID: "acme", PartnerOrgID: "res", Kind: store.GrantCreated},
		{AssetID: "a-south", CustomerOrgID: "acme", PartnerOrgID: "res", Kind: store.GrantSystemKey, RevokedAt: now},
		{AssetID: "b-other", CustomerOrgID: "other", PartnerOrgID: "someone-else", Kind: store.GrantSystemKey},
	}}
	set := visibility.Resolve(reseller, partnerOUs, sh)
	require.Equal(t, []string{"a-north"}, ids(set.Filter(assets)), "a live grant shows its one asset; a revoked one nothing")
	acc := set.Access(assets[1])
	require.Equal(t, visibility.Reseller, acc.Class)
	require.Equal(t, []store.GrantKind{store.GrantCreated}, acc.Via)

	customer := visibility.Principal{OrgID: "other", OrgKind: store.Customer, OUID: "other-root"}
	sh.Grants = append(sh.Grants, store.Grant{AssetID: "a-root", CustomerOrgID: "acme", PartnerOrgID: "other", Kind: store.GrantSystemKey})
	require.Equal(t, []string{"b-other"}, ids(visibility.Resolve(customer, ous, sh).Filter(assets)),
		"a customer organization never gains assets through grants")
}

func TestChannelAssignment(t *testing.T) {
	t0 := time.Now()
	acme := store.Organization{ID: "acme", Kind: store.Customer, ChannelConsent: true}
	ch := visibility.Channel{
		Customer: acme,
		Partners: []store.ChannelPartner{
			{CustomerOrgID: "acme", PartnerOrgID: "def", DefaultReseller: true, DefaultService: true},
			{CustomerOrgID: "acme", PartnerOrgID: "grp"},
			{CustomerOrgID: "acme", PartnerOrgID: "dev"},
		},
		Groups: []store.DeviceGroup{{ID: "g1", OrgID: "acme", AssetIDs: []string{"a-north", "a-branch"}}},
		Assignments: []store.ChannelAssignment{
			{CustomerOrgID: "acme", PartnerOrgID: "grp", Role: store.RoleService, GroupID: "g1", AssignedAt: t0},
			{CustomerOrgID: "acme", PartnerOrgID: "dev", Role: store.RoleReseller, AssetID: "a-branch", AssignedAt: t0},
			{CustomerOrgID: "acme", PartnerOrgID: "removed-partner", Role: store.RoleReseller, AssetID: "a-root", AssignedAt: t0},
		},
		Assets: assets[:4],
	}
	eff := visibility.EffectivePartners(ch)
	require.Equal(t, map[store.ChannelRole]string{store.RoleReseller: "def", store.RoleService: "def"}, eff["a-root"],
		"unassigned devices follow the defaults; an assignment to a partner no longer listed is ignored")
	require.Equal(t, map[store.ChannelRole]string{store.RoleReseller: "def", store.RoleService: "grp"}, eff["a-north"], "the group's service partner")
	require.Equal(t, map[store.ChannelRole]string{store.RoleReseller: "dev", store.RoleService: "grp"}, eff["a-branch"], "the device's own reseller")

	view := func(org string, c visibility.Channel) visibility.Set {
		p := visibility.Principal{OrgID: org, OrgKind: store.Reseller, OUID: org + "-root"}
		return visibility.Resolve(p, []store.OU{{ID: org + "-root", OrgID: org}}, visibility.Shared{Channels: []visibility.Channel{c}})
	}
	def := view("def", ch)
	require.Equal(t, []string{"a-root", "a-north", "a-south"}, ids(def.Filter(assets)),
		"a-branch has its own reseller and its group's service partner: the default holds it in no role")
	require.Equal(t, visibility.Service, def.Access(assets[0]).Class, "default service partner of a-root")
	require.Equal(t, visibility.Reseller, def.Access(assets[1]).Class, "only reseller of a-north: its group has another service partner")
	require.Equal(t, []string{"a-north", "a-branch"}, ids(view("grp", ch).Filter(assets)))
	require.Equal(t, visibility.Service, view("grp", ch).Access(assets[2]).Class)
	require.Equal(t, []string{"a-branch"}, ids(view("dev", ch).Filter(assets)))
	require.Equal(t, visibility.Reseller, view("dev", ch).Access(assets[2]).Class)
	require.Empty(t, ids(view("removed-partner", ch).Filter(assets)))

	ch.Customer.ChannelConsent = false
	for _, p := range []string{"def", "grp", "dev"} {
		require.Empty(t, ids(view(p, ch).Filter(assets)), "%s: no channel visibility without the customer's consent", p)
	}
}

func TestAccessSees(t *testing.T) {
	tests := []struct {
		name         string
		class        visibility.Class
		kpi, health  bool
		seesFindings bool
	}{
		{"nothing for none", visibility.None, false, false, false},
		{"a reseller sees KPIs but no service data", visibility.Reseller, true, false, false},
		{"a service partner sees service data", visibility.Service, true, true, true},
		{"the owner sees everything", visibility.Owner, true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acc := visibility.Access{Class: tt.class}
			require.Equal(t, tt.kpi, acc.Sees("cpu", ""), "cpu")
			require.Equal(t, tt.kpi, acc.Sees("system", "uptime_seconds"), "system.uptime_seconds")
			require.Equal(t, tt.kpi, acc.Sees("system", ""), "the system measurement: its other fields are KPIs")
			require.Equal(t, tt.health, acc.Sees("health_event", ""), "health_event")
			require.Equal(t, tt.health, acc.Sees("server_health", "fans_health_code"), "server_health")
			require.Equal(t, tt.health, acc.Sees("system", "health_code"), "system.health_code")
			require.Equal(t, tt.health, acc.Sees("drive", "media_health_code"), "a *_health_code field")
			require.Equal(t, tt.seesFindings, acc.SeesFindings(), "findings")
		})
	}
}

// orgCatalog is an organization's catalog: one of its agents defined a
// UPS battery status as service data.
const orgCatalog = `
kpis:
  - measurement: ups
    name: {en: UPS}
    fields:
      load_percent: {name: {en: Load}, unit: percent, kind: gauge}
      battery_status:
        name: {en: Battery}
        kind: state
        class: service
        states: {1: {name: {en: OK}, severity: ok}, 2: {name: {en: Low}, severity: critical}}
  - measurement: bmc_log
    name: {en: BMC log}
    fields:
      entries: {name: {en: Entries}, kind: counter, class: service}
      severity: {name: {en: Severity}, kind: gauge, class: service}
  - measurement: system
    fields:
      health_code: {name: {en: Health}, kind: gauge, class: all}
`

// TestAccessSeesIn: the data class comes from the asset organization's
// catalog; names that say health stay service data without or against it.
func TestAccessSeesIn(t *testing.T) {
	sec, err := catalog.ReadSection([]byte(orgCatalog), "org")
	require.NoError(t, err)
	c, err := catalog.New(catalog.User, sec)
	require.NoError(t, err)
	tests := []struct {
		measurement, field string
		service            bool
	}{
		{"ups", "battery_status", true},         // defined class service
		{"ups", "load_percent", false},          // defined class all
		{"ups", "", false},                      // one of its fields is for all
		{"bmc_log", "", true},                   // every field service
		{"bmc_log", "entries_per_second", true}, // a service counter's rate
		{"ups", "undefined", false},             // undefined, no health name
		{"ups", "battery_health_code", true},    // undefined, a health name
		{"system", "health_code", true},         // a definition cannot open a health name
		{"server_health", "temperature", true},  // nor a health measurement
		{"health_event", "", true},
		{"cpu", "", false}, // nothing defined
	}
	for _, tt := range tests {
		t.Run(tt.measurement+"."+tt.field, func(t *testing.T) {
			require.Equal(t, tt.service, visibility.ServiceOnly(c, tt.measurement, tt.field))
			require.Equal(t, !tt.service, visibility.Access{Class: visibility.Reseller}.SeesIn(c, tt.measurement, tt.field), "reseller")
			require.True(t, visibility.Access{Class: visibility.Service}.SeesIn(c, tt.measurement, tt.field), "service partner")
			require.True(t, visibility.Access{Class: visibility.Owner}.SeesIn(c, tt.measurement, tt.field), "owner")
			require.False(t, visibility.Access{}.SeesIn(c, tt.measurement, tt.field), "no access")
		})
	}
	require.True(t, visibility.Access{Class: visibility.Reseller}.Sees("ups", "battery_status"),
		"without the catalog only the health names are service data")
}
