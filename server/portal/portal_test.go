package portal_test

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

var pages = []string{"/", "/config/assets", "/channel", "/agents", "/findings", "/reports", "/organization", "/tokens", "/audit", "/webhooks", "/checkup-rules", "/notifications", "/maintenance"}
var partnerPages = []string{"/", "/partner/invite", "/partner/systems/new", "/partner/systems/assign", "/findings", "/reports", "/organization", "/tokens", "/audit", "/webhooks", "/checkup-rules", "/notifications", "/maintenance"}

func requireSecurityHeaders(t *testing.T, p page) {
	t.Helper()
	csp := p.header.Get("Content-Security-Policy")
	require.Contains(t, csp, "script-src 'self'", "no inline script")
	require.Contains(t, csp, "frame-ancestors 'none'")
	require.Equal(t, "DENY", p.header.Get("X-Frame-Options"))
	require.Equal(t, "nosniff", p.header.Get("X-Content-Type-Options"))
}

// Every page renders for the roles that use it, with the security
// headers, and a signed-out visitor is sent to the login page.
func TestPagesRenderForEachRole(t *testing.T) {
	s := newSite(t)
	anon := s.browser()
	p := anon.get("/channel")
	require.Equal(t, "/login", p.url, "signed out: to the login page")
	require.Contains(t, p.body, `name="next" value="/channel"`, "and back afterwards")
	requireSecurityHeaders(t, p)

	admin := s.browser()
	admin.login("admin@acme.example")
	for _, path := range pages {
		p := admin.get(path)
		require.Equal(t, http.StatusOK, p.code, "%s: %s", path, p.body)
		requireSecurityHeaders(t, p)
		require.Equal(t, "no-store", p.header.Get("Cache-Control"), path)
	}
	dash := admin.get("/")
	require.Contains(t, dash.body, "Acme ESX")
	require.Contains(t, dash.body, "Acme NAS")
	require.NotContains(t, dash.body, "Globex Secret Switch")
	esx := admin.get("/assets/" + s.assets["Acme ESX"].ID + "?key=show")
	require.Equal(t, http.StatusOK, esx.code, esx.body)
	require.Regexp(t, `id="system-key">kpsk_`, esx.body, "an admin sees the system key")

	viewer := s.browser()
	viewer.login("viewer@acme.example")
	esx = viewer.get("/assets/" + s.assets["Acme ESX"].ID + "?key=show")
	require.Equal(t, http.StatusOK, esx.code)
	require.NotContains(t, esx.body, "kpsk_", "a viewer never sees a system key")
	require.NotContains(t, esx.body, `class="key"`, "nor the key icon")
	org := viewer.get("/organization")
	require.NotContains(t, org.body, "/key/send", "nor a form to send an OU key")
	require.Equal(t, http.StatusForbidden, viewer.get("/audit").code)

	partner := s.browser()
	partner.login("admin@r1.example")
	for _, path := range partnerPages {
		p := partner.get(path)
		require.Equal(t, http.StatusOK, p.code, "%s: %s", path, p.body)
	}
	require.Equal(t, http.StatusForbidden, partner.get("/agents").code, "agents are the customer's")
	dash = partner.get("/")
	require.NotContains(t, dash.body, "Acme ESX", "nothing is shared with the partner yet")
}

// Another tenant's asset answers like one that does not exist, and its
// name is never on the page.
func TestAnotherTenantsAssetIsNotFound(t *testing.T) {
	s := newSite(t)
	g := s.browser()
	g.login("admin@globex.example")
	for _, path := range []string{"/assets/" + s.assets["Acme ESX"].ID, "/assets/" + s.assets["Acme ESX"].ID + "?key=show", "/assets/%3Cscript%3E"} {
		p := g.get(path)
		require.Contains(t, []int{http.StatusNotFound, http.StatusOK}, p.code, path)
		require.NotContains(t, p.body, "Acme ESX", path)
		require.NotContains(t, p.body, "<script>", path)
	}
	p := g.get("/assets/" + s.assets["Acme ESX"].ID)
	require.Equal(t, http.StatusNotFound, p.code)
	require.Contains(t, p.body, "does not exist, or you may not see it")
}

// Forms are refused without the session's form token, and when the
// browser says the request comes from another site.
func TestForgedFormsAreRefused(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.login("admin@acme.example")
	root := s.orgs["acme"].RootOU
	add := func(name string, form url.Values, header ...string) page {
		form.Set("parent_id", root)
		form.Set("name", name)
		return b.post("/organization/ous", form, header...)
	}
	b.get("/organization")
	require.Equal(t, http.StatusForbidden, add("No token", url.Values{"csrf": {""}}).code)
	require.Equal(t, http.StatusForbidden, add("Wrong token", url.Values{"csrf": {"x" + b.csrf}}).code)
	require.Equal(t, http.StatusForbidden, add("Cross site", url.Values{}, "Sec-Fetch-Site", "cross-site").code)
	p := add("Proper", url.Values{})
	require.Equal(t, http.StatusOK, p.code, p.body)
	require.Contains(t, p.body, "The organization unit was added.")
	ous, err := s.store.OUs(t.Context(), s.orgs["acme"].ID)
	require.NoError(t, err)
	var names []string
	for _, u := range ous {
		names = append(names, u.Name)
	}
	require.ElementsMatch(t, []string{"Acme GmbH", "Proper"}, names, "only the proper form changed anything")

	// Logging in from another site is refused as well (login CSRF).
	other := s.browser()
	p = other.post("/login", url.Values{"email": {"admin@acme.example"}, "password": {password}}, "Sec-Fetch-Site", "cross-site")
	require.Equal(t, http.StatusForbidden, p.code)
	// A redirect after login stays on the site.
	p = other.post("/login", url.Values{"email": {"admin@acme.example"}, "password": {password}, "next": {"//evil.example/x"}})
	require.Equal(t, "/", p.url)
}

// The portal speaks the browser's language (English and German), and a
// choice made with ?lang= sticks.
func TestLanguage(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	req, err := http.NewRequest("GET", s.url+"/login", nil)
	require.NoError(t, err)
	req.Header.Set("Accept-Language", "de-AT,de;q=0.9,en;q=0.5")
	resp, err := b.c.Do(req)
	require.NoError(t, err)
	p := b.read(resp)
	require.Contains(t, p.body, `<html lang="de">`)
	require.Contains(t, p.body, "Anmelden")
	p = b.get("/login?lang=en")
	require.Contains(t, p.body, `<html lang="en">`)
	b.login("admin@acme.example")
	p = b.get("/?lang=de")
	require.Contains(t, p.body, "Ihre Assets")
	p = b.get("/")
	require.Contains(t, p.body, "Ihre Assets", "the choice is remembered")
	require.Contains(t, p.body, "Speicher", "categories are translated")
}

// Every message a template or the code uses exists in every language,
// and the languages have the same messages.
func TestTranslationsAreComplete(t *testing.T) {
	used := map[string]bool{}
	static := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	dynamic := regexp.MustCompile(`printf "([a-z_]+\.[a-z_]*)%s"`)
	values := map[string][]string{
		"category.": {"server", "storage", "backup", "network", "power", "printer", "software", "other"},
		"status.":   {"up", "down", "stale", "unknown", "problem"}, "range.": {"1h", "24h", "7d", "30d"},
		"poll.":   {"ok", "partial", "unreachable", "credentials_rejected", "protocol_error", "failed"},
		"change.": {"added", "removed", "changed"}, "invitation.": {"open", "accepted", "revoked", "expired"},
		"role.": {"admin", "viewer", "reseller", "service"}, "agents.status_": {"ok", "stale"},
		"via.":          {"created", "system-key", "channel"},
		"channel.view_": {"assigned", "unassigned", "all"}, "channel.via_": {"device", "group", "default"},
		"sched.every_": {"daily", "weekly", "monthly"}, "sched.scope_": {"all", "category", "ou_id", "asset_id", "customer_id"},
		"reports.": {"inventory", "availability", "capacity", "backup"}, "hooks.state_": {"pending", "delivered", "failed", "suppressed"}, "severity.": {"info", "warning", "critical"},
	}
	files, err := filepath.Glob("templates/*.html")
	require.NoError(t, err)
	code, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, f := range append(files, code...) {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range static.FindAllStringSubmatch(string(raw), -1) {
			used[m[1]] = true
		}
		for _, m := range dynamic.FindAllStringSubmatch(string(raw), -1) {
			vs, ok := values[m[1]]
			require.True(t, ok, "%s: values of %s%%s are not listed in this test", f, m[1])
			for _, v := range vs {
				used[m[1]+v] = true
			}
		}
		for _, m := range regexp.MustCompile(`tr\(r, "([a-z_.]+)"\)`).FindAllStringSubmatch(string(raw), -1) {
			used[m[1]] = true
		}
	}
	for _, d := range []string{"welcome", "ou_added", "key_sent", "user_invited", "partner_added", "partner_removed", "assigned",
		"consent", "token_deleted", "asset_added", "customer_invited", "system_created", "system_assigned", "revoked", "group_added", "password_set"} {
		used["done."+d] = true
	}
	require.Greater(t, len(used), 150)
	locales, err := filepath.Glob("locales/*.yaml")
	require.NoError(t, err)
	// A language's messages may be split into parts: <part>.<lang>.yaml.
	byLang := map[string]map[string]string{}
	for _, f := range locales {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		parts := strings.Split(strings.TrimSuffix(filepath.Base(f), ".yaml"), ".")
		lang := parts[len(parts)-1]
		// A message is a text, or its plural forms (one, other).
		msgs := map[string]string{}
		var forms map[string]any
		require.NoError(t, yaml.Unmarshal(raw, &forms), f)
		for k, v := range forms {
			switch x := v.(type) {
			case string:
				msgs[k] = x
			case map[string]any:
				require.NotEmpty(t, x["other"], "%s %s: plural forms need other", f, k)
				msgs[k] = fmt.Sprint(x["other"])
			default:
				t.Fatalf("%s %s: a text or plural forms, not %T", f, k, v)
			}
		}
		if byLang[lang] == nil {
			byLang[lang] = map[string]string{}
		}
		for k, v := range msgs {
			_, dup := byLang[lang][k]
			require.False(t, dup, "%s repeats %q", f, k)
			byLang[lang][k] = v
		}
	}
	require.GreaterOrEqual(t, len(byLang), 2)
	require.Contains(t, byLang, "en")
	first := slices.Sorted(maps.Keys(byLang["en"]))
	for f, msgs := range byLang {
		for k := range used {
			require.NotEmpty(t, msgs[k], "%s lacks %q", f, k)
		}
		require.Equal(t, first, slices.Sorted(maps.Keys(msgs)), "%s has other messages than en", f)
		for k, v := range msgs {
			require.False(t, strings.Contains(v, "{{") && !strings.Contains(v, "{{."), "%s %s: a placeholder is {{.Name}}", f, k)
		}
	}
}

// A customer admin groups devices and assigns the group to a channel
// partner; with consent the partner sees them, and only them.
func TestChannelGroupAssignment(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.login("admin@acme.example")
	b.get("/channel")
	p := b.post("/channel/partners", url.Values{"partner_id": {"KP-1111-1111"}, "step": {"check"}})
	require.Contains(t, p.body, "This partner ID belongs to Reseller One.")
	p = b.post("/channel/partners", url.Values{"partner_id": {"KP-1111-1111"}, "step": {"add"}})
	require.Contains(t, p.body, "The channel partner was added.")
	p = b.post("/channel/groups", url.Values{"name": {"Core"}, "asset_ids": {s.assets["Acme ESX"].ID}})
	require.Contains(t, p.body, "The device group was created.", p.body)
	groups, err := s.store.DeviceGroups(t.Context(), s.orgs["acme"].ID)
	require.NoError(t, err)
	require.Len(t, groups, 1)
	p = b.post("/channel/assignments", url.Values{"partner_id": {"KP-1111-1111"}, "role": {"service"}, "target": {"group:" + groups[0].ID}})
	require.Contains(t, p.body, "The assignment was saved.", p.body)

	partner := s.browser()
	partner.login("admin@r1.example")
	require.Contains(t, partner.get("/").body, "Acme GmbH", "the customer is on the partner's overview")
	dash := partner.get("/?customer=" + s.orgs["acme"].ID)
	require.Contains(t, dash.body, "Acme ESX")
	require.NotContains(t, dash.body, "Acme NAS", "only the group's devices")

	b.get("/channel")
	p = b.post("/channel/consent", url.Values{}) // the box unticked
	require.Contains(t, p.body, "The sharing setting was saved.")
	require.NotContains(t, partner.get("/?customer="+s.orgs["acme"].ID).body, "Acme ESX", "without consent the partner sees nothing")
	require.NotContains(t, partner.get("/").body, "Acme GmbH", "nor the customer")
}

// The password-reset mail's link leads to a page that sets a new
// password; an unknown address gets the same answer.
func TestPasswordReset(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	require.Contains(t, b.get("/login").body, `href="/forgot-password"`)
	p := b.post("/forgot-password", url.Values{"email": {"nobody@nowhere.example"}})
	require.Contains(t, p.body, "If the address has an account")
	p = b.post("/forgot-password", url.Values{"email": {"viewer@acme.example"}})
	require.Contains(t, p.body, "If the address has an account")
	m := s.smtp.Wait(t, 1)
	require.Equal(t, []string{"viewer@acme.example"}, m.To)
	link := regexp.MustCompile(`(/reset-password)#(kpr_[A-Za-z0-9_-]{43})`).FindStringSubmatch(m.Body)
	require.NotNil(t, link, m.Body)
	require.Contains(t, b.get(link[1]).body, "data-hash-token")
	p = b.post(link[1], url.Values{"token": {link[2]}, "password": {"a-new-password-1"}, "password2": {"a-new-password-2"}})
	require.Equal(t, http.StatusBadRequest, p.code)
	require.Contains(t, p.body, "The two passwords differ.")
	p = b.post(link[1], url.Values{"token": {link[2]}, "password": {"a-new-password-1"}, "password2": {"a-new-password-1"}})
	require.Equal(t, "/login", p.url)
	require.Contains(t, p.body, "Your new password is set")
	p = b.post("/login", url.Values{"email": {"viewer@acme.example"}, "password": {"a-new-password-1"}})
	require.Equal(t, "/", p.url, p.body)
	p = b.post(link[1], url.Values{"token": {link[2]}, "password": {"another-password"}, "password2": {"another-password"}})
	require.NotEqual(t, http.StatusOK, p.code, "a reset link works once")
}
