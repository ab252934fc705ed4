package portal_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// channelSetup lists Reseller One (default reseller) and Reseller Two as
// Acme's channel partners and puts Acme ESX in a device group "Core".
func channelSetup(t *testing.T, s *site) *browser {
	t.Helper()
	b := s.browser()
	b.login("admin@acme.example")
	b.get("/channel")
	p := b.post("/channel/partners", url.Values{"partner_id": {"KP-1111-1111"}, "step": {"add"}, "default_reseller": {"on"}})
	require.Contains(t, p.body, "The channel partner was added.")
	p = b.post("/channel/partners", url.Values{"partner_id": {"KP-2222-2222"}, "step": {"add"}})
	require.Contains(t, p.body, "The channel partner was added.")
	p = b.post("/channel/groups", url.Values{"name": {"Core"}, "asset_ids": {s.assets["Acme ESX"].ID}})
	require.Contains(t, p.body, "The device group was created.")
	return b
}

// shownDevices are the device names in the channel page's device table.
func shownDevices(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<td><a href="/assets/[^"]+">([^<]+)</a><input type="hidden" name="shown"`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// assignments are Acme's channel assignments as "partner role asset".
func (s *site) assignments(t *testing.T) map[string]store.ChannelAssignment {
	t.Helper()
	as, err := s.store.ChannelAssignments(t.Context(), s.orgs["acme"].ID)
	require.NoError(t, err)
	names := map[string]string{s.orgs["r1"].ID: "r1", s.orgs["r2"].ID: "r2"}
	out := map[string]store.ChannelAssignment{}
	for _, a := range as {
		out[names[a.PartnerOrgID]+" "+string(a.Role)+" "+a.AssetID] = a
	}
	return out
}

// The channel page of seed 003: for one partner, the devices not
// assigned to it (the default view), assigned to it, or all; filtered by
// device group and a search; Reseller and Service partner boxes per
// device, saved together; a cleared box and Unassign give the device back
// to the default partner.
func TestChannelDevices(t *testing.T) {
	s := newSite(t)
	b := channelSetup(t, s)
	esx, nas := s.assets["Acme ESX"].ID, s.assets["Acme NAS"].ID
	r2 := "/channel?partner=KP-2222-2222"

	tests := []struct {
		name, query string
		want        []string
	}{
		{"default view: not assigned to the partner", "", []string{"Acme ESX", "Acme NAS"}},
		{"assigned to it: none yet", "&view=assigned", nil},
		{"all devices", "&view=all", []string{"Acme ESX", "Acme NAS"}},
		{"device group", "&view=all&group=" + groupID(t, s, "Core"), []string{"Acme ESX"}},
		{"search by name, any case", "&view=all&q=nas", []string{"Acme NAS"}},
		{"search by category", "&view=all&q=server", []string{"Acme ESX"}},
		{"search without match", "&view=all&q=printer", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := b.get(r2 + tt.query)
			require.Equal(t, http.StatusOK, p.code, p.body)
			require.Equal(t, tt.want, shownDevices(p.body))
		})
	}
	// The default partner holds both devices as reseller.
	p := b.get("/channel?partner=KP-1111-1111&view=assigned")
	require.Equal(t, []string{"Acme ESX", "Acme NAS"}, shownDevices(p.body))
	require.Contains(t, p.body, `name="reseller" value="`+esx+`" checked disabled`, "the default partner's device cannot be cleared")

	// Save devices: ESX to Reseller Two as reseller, NAS as service partner.
	p = b.post("/channel/devices", url.Values{"partner_id": {"KP-2222-2222"}, "shown": {esx, nas},
		"reseller": {esx}, "service": {nas}, "back": {r2 + "&view=all"}})
	require.Equal(t, http.StatusOK, p.code, p.body)
	require.Contains(t, p.body, "The devices were saved.")
	require.Equal(t, "/channel", p.url)
	as := s.assignments(t)
	require.Len(t, as, 2)
	require.Contains(t, as, "r2 reseller "+esx)
	require.Contains(t, as, "r2 service "+nas)
	p = b.get(r2 + "&view=assigned")
	require.Equal(t, []string{"Acme ESX", "Acme NAS"}, shownDevices(p.body))
	require.Contains(t, p.body, `name="reseller" value="`+esx+`" checked>`)
	require.Contains(t, p.body, `name="service" value="`+nas+`" checked>`)
	require.Contains(t, p.body, "Reseller One (default)", "NAS's reseller is still the default one")
	p = b.get("/channel?partner=KP-1111-1111&view=assigned")
	require.Equal(t, []string{"Acme NAS"}, shownDevices(p.body), "ESX left the default reseller")

	// Clearing ESX's reseller box gives it back to the default reseller;
	// NAS, not shown on this page, keeps its service partner.
	p = b.post("/channel/devices", url.Values{"partner_id": {"KP-2222-2222"}, "shown": {esx}})
	require.Contains(t, p.body, "The devices were saved.")
	as = s.assignments(t)
	require.Len(t, as, 1)
	require.Contains(t, as, "r2 service "+nas)

	// Unassign in the assignments table.
	b.get("/channel")
	p = b.post("/channel/assignments/"+as["r2 service "+nas].ID+"/delete", url.Values{"back": {r2 + "&view=all"}})
	require.Contains(t, p.body, "The assignment was removed")
	require.Empty(t, s.assignments(t))

	// German.
	p = b.get(r2 + "&lang=de")
	require.Contains(t, p.body, "Diesem Partner nicht zugewiesen")
	require.Contains(t, p.body, "Nach Gerätegruppe filtern")
	require.Contains(t, p.body, "Geräte speichern")
}

func groupID(t *testing.T, s *site, name string) string {
	t.Helper()
	gs, err := s.store.DeviceGroups(t.Context(), s.orgs["acme"].ID)
	require.NoError(t, err)
	for _, g := range gs {
		if g.Name == name {
			return g.ID
		}
	}
	t.Fatalf("no device group %q", name)
	return ""
}

// A viewer sees the devices but cannot change them; a partner has no
// channel page; the API's refusal is what stops both.
func TestChannelDevicesRefused(t *testing.T) {
	s := newSite(t)
	channelSetup(t, s)
	esx := s.assets["Acme ESX"].ID

	viewer := s.browser()
	viewer.login("viewer@acme.example")
	p := viewer.get("/channel?partner=KP-2222-2222")
	require.Equal(t, http.StatusOK, p.code)
	require.Equal(t, []string{"Acme ESX", "Acme NAS"}, shownDevices(p.body))
	require.Contains(t, p.body, `name="reseller" value="`+esx+`" disabled>`)
	require.NotContains(t, p.body, "Save devices")
	require.NotContains(t, p.body, "/channel/assignments/")
	p = viewer.post("/channel/devices", url.Values{"partner_id": {"KP-2222-2222"}, "shown": {esx}, "reseller": {esx}})
	require.Equal(t, http.StatusForbidden, p.code)
	require.Empty(t, s.assignments(t))

	partner := s.browser()
	partner.login("admin@r1.example")
	p = partner.get("/")
	require.NotContains(t, p.body, `href="/channel"`, "no channel page in a partner's navigation")
	require.Equal(t, http.StatusForbidden, partner.get("/channel").code)
	p = partner.post("/channel/devices", url.Values{"partner_id": {"KP-1111-1111"}, "shown": {esx}, "reseller": {esx}})
	require.Equal(t, http.StatusForbidden, p.code)
	require.Empty(t, s.assignments(t))
}

// The API's validation message is shown at the field it names.
func TestChannelFieldErrors(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.login("admin@acme.example")
	b.get("/channel")
	p := b.post("/channel/groups", url.Values{"name": {"  "}})
	require.Equal(t, http.StatusBadRequest, p.code)
	require.Regexp(t, `id="g-name"[^>]*aria-invalid="true" aria-describedby="g-name-err">\s*<p class="field-err" id="g-name-err">1 to 200 characters on one line</p>`, p.body)
	p = b.post("/channel/partners", url.Values{"partner_id": {strings.Repeat("K", 65)}, "step": {"check"}})
	require.Equal(t, http.StatusBadRequest, p.code)
	require.Contains(t, p.body, `<p class="field-err" id="partner_id-err">missing or too long</p>`)
}
