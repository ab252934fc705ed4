package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// member returns the membership of email in the organization orgKey
// (ok false without one).
func (s *site) member(t *testing.T, orgKey, email string) (store.Member, bool) {
	t.Helper()
	ms, err := s.store.Members(t.Context(), s.orgs[orgKey].ID)
	require.NoError(t, err)
	for _, m := range ms {
		if m.Email == email {
			return m, true
		}
	}
	return store.Member{}, false
}

// An admin changes a member's role and OU and removes a member; a viewer
// has no such forms and the API refuses them; an admin cannot change its
// own membership; a partner sees only its own organization's users.
func TestOrganizationUsers(t *testing.T) {
	s := newSite(t)
	admin := s.browser()
	admin.login("admin@acme.example")
	admin.get("/organization")
	p := admin.post("/organization/ous", url.Values{"parent_id": {s.orgs["acme"].RootOU}, "name": {"Vienna"}})
	require.Contains(t, p.body, "The organization unit was added.")
	ous, err := s.store.OUs(t.Context(), s.orgs["acme"].ID)
	require.NoError(t, err)
	var vienna string
	for _, u := range ous {
		if u.Name == "Vienna" {
			vienna = u.ID
		}
	}
	v, ok := s.member(t, "acme", "viewer@acme.example")
	require.True(t, ok)
	me, _ := s.member(t, "acme", "admin@acme.example")

	p = admin.get("/organization")
	require.Contains(t, p.body, `action="/organization/users/`+v.UserID+`"`)
	require.NotContains(t, p.body, `action="/organization/users/`+me.UserID+`"`, "no form for one's own membership")

	// A viewer can neither see the forms nor use them.
	viewer := s.browser()
	viewer.login("viewer@acme.example")
	p = viewer.get("/organization")
	require.Equal(t, http.StatusOK, p.code, p.body)
	require.NotContains(t, p.body, `action="/organization/users/`)
	p = viewer.post("/organization/users/"+me.UserID, url.Values{"role": {"viewer"}, "ou_id": {vienna}})
	require.Equal(t, http.StatusForbidden, p.code)
	p = viewer.post("/organization/users/"+me.UserID+"/remove", nil)
	require.Equal(t, http.StatusForbidden, p.code)
	m, _ := s.member(t, "acme", "admin@acme.example")
	require.Equal(t, store.Admin, m.Role)

	// A partner's admin does not reach another organization's user.
	partner := s.browser()
	partner.login("admin@r1.example")
	p = partner.get("/organization")
	require.Equal(t, http.StatusOK, p.code)
	require.NotContains(t, p.body, "viewer@acme.example")
	p = partner.post("/organization/users/"+v.UserID+"/remove", nil)
	require.Equal(t, http.StatusNotFound, p.code)
	_, ok = s.member(t, "acme", "viewer@acme.example")
	require.True(t, ok)

	tests := []struct {
		name, path string
		form       url.Values
		wantCode   int
		wantText   string
	}{
		{"own membership", "/organization/users/" + me.UserID, url.Values{"role": {"viewer"}, "ou_id": {vienna}},
			http.StatusForbidden, "ask another admin to change or remove your own membership"},
		{"unknown role", "/organization/users/" + v.UserID, url.Values{"role": {"owner"}, "ou_id": {vienna}},
			http.StatusBadRequest, `<p class="field-err" id="role-err">`},
		{"foreign OU", "/organization/users/" + v.UserID, url.Values{"role": {"admin"}, "ou_id": {s.orgs["globex"].RootOU}},
			http.StatusBadRequest, `<p class="field-err" id="ou_id-err">no such OU</p>`},
		{"role and OU", "/organization/users/" + v.UserID, url.Values{"role": {"admin"}, "ou_id": {vienna}},
			http.StatusOK, "The user&#39;s role and organization unit were saved."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			admin.get("/organization")
			p := admin.post(tt.path, tt.form)
			require.Equal(t, tt.wantCode, p.code, p.body)
			require.Contains(t, p.body, tt.wantText)
		})
	}
	m, _ = s.member(t, "acme", "viewer@acme.example")
	require.Equal(t, store.Admin, m.Role)
	require.Equal(t, vienna, m.OUID)

	admin.get("/organization?lang=de")
	p = admin.post("/organization/users/"+v.UserID+"/remove", nil)
	require.Contains(t, p.body, "Der Benutzer wurde aus dieser Organisation entfernt.")
	_, ok = s.member(t, "acme", "viewer@acme.example")
	require.False(t, ok)
}

// A user in two organizations switches between them; one in a single
// organization is offered no switch, and cannot switch into another.
func TestSwitchOrganization(t *testing.T) {
	s := newSite(t)
	u, err := s.store.UserByEmail(t.Context(), "admin@acme.example")
	require.NoError(t, err)
	g := s.orgs["globex"]
	require.NoError(t, s.store.AddMembership(t.Context(), store.Membership{UserID: u.ID, OrgID: g.ID, OUID: g.RootOU, Role: store.Viewer}))

	b := s.browser()
	b.login("admin@acme.example")
	p := b.get("/organization")
	require.Contains(t, p.body, "Your organizations")
	p = b.post("/organization/switch", url.Values{"organization_id": {g.ID}})
	require.Equal(t, http.StatusOK, p.code, p.body)
	require.Equal(t, "/", p.url)
	require.Contains(t, p.body, "You now act in this organization.")
	require.Contains(t, p.body, "Globex Secret Switch")
	require.NotContains(t, p.body, "Acme ESX")
	require.Contains(t, p.body, "Globex AG · Viewer")

	other := s.browser()
	other.login("viewer@acme.example")
	p = other.get("/organization")
	require.NotContains(t, p.body, "Your organizations")
	p = other.post("/organization/switch", url.Values{"organization_id": {g.ID}})
	require.Equal(t, http.StatusNotFound, p.code)
}

// A distributor's admin invites a reseller; the API's message shows at
// the field; a reseller has neither the page's link nor its use.
func TestDistributorInvitesReseller(t *testing.T) {
	s := newSite(t)
	d := store.Organization{Name: "Big Distribution", Kind: store.Distributor, PartnerID: "KP-9999-9999"}
	require.NoError(t, s.store.CreateOrganization(t.Context(), &d))
	s.orgs["dist"] = d
	s.user("admin@dist.example", "dist", store.Admin)

	b := s.browser()
	b.login("admin@dist.example")
	p := b.get("/")
	require.Contains(t, p.body, `href="/distributor/invite"`)
	b.get("/distributor/invite")
	p = b.post("/distributor/invite", url.Values{"company": {"New Reseller"}, "email": {"not-an-address"}})
	require.Equal(t, http.StatusBadRequest, p.code)
	require.Regexp(t, `id="admin-email"[^>]*aria-invalid="true"`, p.body)
	require.Contains(t, p.body, `<p class="field-err" id="email-err">`)
	require.Contains(t, p.body, `value="New Reseller"`, "what was typed stays")
	p = b.post("/distributor/invite", url.Values{"company": {"New Reseller"}, "email": {"boss@newreseller.example"}})
	require.Contains(t, p.body, "The invitation was sent to the reseller.")
	m := s.smtp.Wait(t, 1)
	require.Equal(t, []string{"boss@newreseller.example"}, m.To)

	r := s.browser()
	r.login("admin@r1.example")
	p = r.get("/")
	require.NotContains(t, p.body, `href="/distributor/invite"`)
	p = r.post("/distributor/invite", url.Values{"company": {"X"}, "email": {"x@x.example"}})
	require.Equal(t, http.StatusForbidden, p.code)
	c := s.browser()
	c.login("admin@acme.example")
	p = c.post("/distributor/invite", url.Values{"company": {"X"}, "email": {"x@x.example"}})
	require.Equal(t, http.StatusForbidden, p.code)
}

// Adding an asset by hand shows the API's message at the field it names
// and keeps what was typed; a viewer has no form and is refused.
func TestConfigAssetFieldErrors(t *testing.T) {
	s := newSite(t)
	admin := s.browser()
	admin.login("admin@acme.example")
	admin.get("/config/assets")
	long := strings.Repeat("x", 201)
	p := admin.post("/config/assets", url.Values{"name": {"Lab switch"}, "category": {"network"}, "serial": {long}, "ou_id": {s.orgs["acme"].RootOU}})
	require.Equal(t, http.StatusBadRequest, p.code, p.body)
	require.Regexp(t, `id="serial"[^>]*aria-invalid="true" aria-describedby="serial-err">\s*<p class="field-err" id="serial-err">at most 200 characters on one line</p>`, p.body)
	require.Contains(t, p.body, `value="Lab switch"`)
	p = admin.post("/config/assets", url.Values{"name": {"Lab switch"}, "category": {"network"}, "ou_id": {s.orgs["acme"].RootOU}})
	require.Contains(t, p.body, "The asset was added.")

	viewer := s.browser()
	viewer.login("viewer@acme.example")
	p = viewer.get("/config/assets")
	require.NotContains(t, p.body, `action="/config/assets"`)
	p = viewer.post("/config/assets", url.Values{"name": {"Sneaky"}, "category": {"server"}, "ou_id": {s.orgs["acme"].RootOU}})
	require.Equal(t, http.StatusForbidden, p.code)
}
