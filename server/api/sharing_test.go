package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/kpilot/kpilot/server/api"
)

// TestVisibleAssets: each caller lists exactly the assets the rules give
// it, and every other asset id answers 404 on every asset path.
func TestVisibleAssets(t *testing.T) {
	w := newWorld(t)
	want := map[string][]string{
		"acme_admin":   {"Acme ESX", "Acme NAS"},
		"acme_viewer":  {"Acme ESX", "Acme NAS"},
		"branch_admin": {"Acme NAS"},
		"globex_admin": {"Globex Switch"},
		"r1_admin":     {"Acme ESX"}, // created grant
		"r1_viewer":    {"Acme ESX"}, // every user of the partner sees what it holds
		"r3_admin":     {},           // listed as channel partner, nothing assigned, not a default
		"s1_admin":     {"Acme ESX", "Acme NAS"},
		"d_admin":      {},
		"r4_admin":     {}, // its grant was revoked
		"w_admin":      {}, // Globex withdrew consent
	}
	for caller, names0 := range want {
		r := w.do(caller, "GET", "/api/v1/assets", nil)
		require.Equal(t, http.StatusOK, r.code, caller)
		got := names(r, "assets")
		slices.Sort(got)
		require.Equal(t, names0, got, caller)
		for key, as := range w.assets {
			if slices.Contains(names0, as.Name) {
				continue
			}
			for _, suffix := range []string{"", "/series?measurement=cpu&field=x", "/latest", "/system-key", "/partners"} {
				r := w.do(caller, "GET", "/api/v1/assets/"+as.ID+suffix, nil)
				require.Equal(t, http.StatusNotFound, r.code, "%s guessing %s%s: %s", caller, key, suffix, r.raw)
				require.NotContains(t, string(r.raw), as.Name)
			}
		}
	}

	r := w.do("s1_admin", "GET", "/api/v1/assets", nil)
	for _, x := range r.body["assets"].([]any) {
		a := x.(map[string]any)
		require.Equal(t, "service", a["access"], "S1 is the service partner of both")
		require.Equal(t, "Acme GmbH", a["customer"].(map[string]any)["name"])
	}
	r = w.do("r1_admin", "GET", "/api/v1/assets/"+w.assets["a_root"].ID, nil)
	require.Equal(t, "reseller", r.body["asset"].(map[string]any)["access"])
	r = w.do("r1_admin", "GET", "/api/v1/assets/"+w.assets["a_root"].ID+"/series?measurement=health_event&field=code", nil)
	require.Equal(t, http.StatusForbidden, r.code, "a reseller does not see health events: %s", r.raw)
	r = w.do("s1_admin", "GET", "/api/v1/assets/"+w.assets["a_root"].ID+"/series?measurement=health_event&field=code", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.code, "a service partner passes the check (InfluxDB is down here): %s", r.raw)
	r = w.do("r1_admin", "GET", "/api/v1/assets/"+w.assets["a_root"].ID+"/series?measurement=system&field=health_code", nil)
	require.Equal(t, http.StatusForbidden, r.code, "nor health readings: %s", r.raw)
	r = w.do("r1_admin", "GET", "/api/v1/assets/"+w.assets["a_root"].ID+"/series?measurement=system&field=uptime_seconds", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.code, "the measurement's KPIs pass the check (InfluxDB is down here): %s", r.raw)

	// A partner's read access is read-only, whatever its role.
	r = w.do("s1_admin", "GET", "/api/v1/assets/"+w.assets["a_root"].ID+"/system-key", nil)
	require.Equal(t, http.StatusForbidden, r.code)
	r = w.do("r4_admin", "GET", "/api/v1/grants?all=true", nil)
	grants := r.body["grants"].([]any)
	require.Len(t, grants, 1)
	require.Empty(t, grants[0].(map[string]any)["asset_name"], "a revoked partner no longer learns the asset's name")
}

// TestRevocationAndConsentTakeEffectAtOnce: the next request after a
// revocation or a consent withdrawal no longer sees the asset.
func TestRevocationAndConsentTakeEffectAtOnce(t *testing.T) {
	w := newWorld(t)
	aRoot := "/api/v1/assets/" + w.assets["a_root"].ID
	require.Equal(t, http.StatusOK, w.do("r1_admin", "GET", aRoot, nil).code)
	require.Equal(t, http.StatusNoContent, w.do("acme_admin", "DELETE", "/api/v1/grants/"+w.r1Grant.ID, nil).code)
	require.Equal(t, http.StatusNotFound, w.do("r1_admin", "GET", aRoot, nil).code)

	require.Equal(t, http.StatusOK, w.do("s1_admin", "GET", aRoot, nil).code)
	require.Equal(t, http.StatusOK, w.do("acme_admin", "PUT", "/api/v1/channel-consent", map[string]bool{"consent": false}).code)
	require.Equal(t, http.StatusNotFound, w.do("s1_admin", "GET", aRoot, nil).code)
	require.Empty(t, names(w.do("s1_admin", "GET", "/api/v1/assets", nil), "assets"))
	require.Equal(t, http.StatusOK, w.do("acme_admin", "PUT", "/api/v1/channel-consent", map[string]bool{"consent": true}).code)
	require.Equal(t, http.StatusOK, w.do("s1_admin", "GET", aRoot, nil).code)

	// Removing a member ends its session at once.
	require.Equal(t, http.StatusNoContent, w.do("acme_admin", "DELETE", "/api/v1/users/"+w.users["acme_viewer"], nil).code)
	require.Equal(t, http.StatusUnauthorized, w.do("acme_viewer", "GET", "/api/v1/assets", nil).code)
}

// TestChannelAssignmentFlow follows seed 003: add partners by ID, set the
// defaults, assign a device and a group, and return them to the default.
func TestChannelAssignmentFlow(t *testing.T) {
	w := newWorld(t)
	adm := "globex_admin"
	g1 := w.assets["g1"].ID
	// R1 also holds a grant at Acme; only Globex matters here.
	globexAssets := "/api/v1/assets?customer_id=" + w.orgs["globex"].ID
	r := w.do(adm, "GET", "/api/v1/partners/P-R1", nil)
	require.Equal(t, http.StatusOK, r.code)
	require.Equal(t, "Reseller One", r.body["name"], "Check ID shows the partner's details")
	require.Equal(t, http.StatusNotFound, w.do(adm, "GET", "/api/v1/partners/P-NOPE", nil).code)

	require.Equal(t, http.StatusCreated, w.do(adm, "POST", "/api/v1/channel-partners", map[string]any{"partner_id": "P-R1"}).code)
	require.Equal(t, http.StatusConflict, w.do(adm, "POST", "/api/v1/channel-partners", map[string]any{"partner_id": "P-R1"}).code)
	require.Equal(t, http.StatusOK, w.do(adm, "PUT", "/api/v1/channel-consent", map[string]bool{"consent": true}).code)
	require.Equal(t, []string{"Globex Switch"}, names(w.do("w_admin", "GET", "/api/v1/assets", nil), "assets"), "W is the default")
	require.Empty(t, names(w.do("r1_admin", "GET", globexAssets, nil), "assets"))

	r = w.do(adm, "PUT", "/api/v1/channel-assignments", map[string]any{"partner_id": "P-R1", "role": "reseller", "asset_id": g1})
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	assignment := r.body["id"].(string)
	require.Equal(t, []string{"Globex Switch"}, names(w.do("r1_admin", "GET", globexAssets, nil), "assets"))
	wv := w.do("w_admin", "GET", "/api/v1/assets", nil)
	require.Equal(t, "service", wv.body["assets"].([]any)[0].(map[string]any)["access"], "W keeps the device as default service partner only")

	require.Equal(t, http.StatusConflict, w.do(adm, "DELETE", "/api/v1/channel-partners/P-W", nil).code, "the default cannot be removed")
	require.Equal(t, http.StatusNoContent, w.do(adm, "DELETE", "/api/v1/channel-assignments/"+assignment, nil).code)
	require.Empty(t, names(w.do("r1_admin", "GET", globexAssets, nil), "assets"), "removing the assignment returns the device to the default")

	// A device group assigned to the service role.
	r = w.do(adm, "POST", "/api/v1/device-groups", map[string]any{"name": "Network", "asset_ids": []string{g1}})
	require.Equal(t, http.StatusCreated, r.code, "%s", r.raw)
	group := r.body["id"].(string)
	r = w.do(adm, "PUT", "/api/v1/channel-assignments", map[string]any{"partner_id": "P-R1", "role": "service", "group_id": group})
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	rv := w.do("r1_admin", "GET", globexAssets, nil)
	require.Equal(t, "service", rv.body["assets"].([]any)[0].(map[string]any)["access"])
	r = w.do(adm, "GET", "/api/v1/assets/"+g1+"/partners", nil)
	require.Len(t, r.body["partners"], 2, "%s", r.raw)

	// Making R1 the default reseller takes the flag from W.
	require.Equal(t, http.StatusOK, w.do(adm, "PATCH", "/api/v1/channel-partners/P-R1", map[string]any{"default_reseller": true, "default_service": true}).code)
	require.Empty(t, names(w.do("w_admin", "GET", "/api/v1/assets", nil), "assets"))
	require.Equal(t, http.StatusNoContent, w.do(adm, "DELETE", "/api/v1/channel-partners/P-W", nil).code)
	r = w.do(adm, "PUT", "/api/v1/channel-assignments", map[string]any{"partner_id": "P-W", "role": "service", "asset_id": g1})
	require.Equal(t, http.StatusNotFound, r.code, "a removed partner cannot be assigned: %s", r.raw)
}

// TestKeyGuessesAreRateLimited: wrong keys count per partner organization;
// over the limit even a right key waits, and other partners are not held up.
func TestKeyGuessesAreRateLimited(t *testing.T) {
	w := newWorld(t, func(l *api.Limits) { l.KeyGuesses = 5 })
	good := ouKey(w)
	for i := range 5 {
		r := w.do("r3_admin", "POST", "/api/v1/partner/ou-keys/verify", map[string]string{"ou_key": good[:len(good)-2] + "zz"})
		require.Equal(t, http.StatusNotFound, r.code, "guess %d: %s", i, r.raw)
	}
	r := w.do("r3_admin", "POST", "/api/v1/partner/ou-keys/verify", map[string]string{"ou_key": good})
	require.Equal(t, http.StatusTooManyRequests, r.code, "%s", r.raw)
	require.NotEmpty(t, r.header.Get("Retry-After"))
	require.Equal(t, http.StatusTooManyRequests, w.do("r3_admin", "POST", "/api/v1/partner/system-keys", map[string]string{"system_key": systemKey(w)}).code,
		"the limit covers every kind of key")
	require.Equal(t, http.StatusOK, w.do("s1_admin", "POST", "/api/v1/partner/ou-keys/verify", map[string]string{"ou_key": good}).code,
		"another partner is not held up")
	for range 10 {
		require.Equal(t, http.StatusOK, w.do("s1_admin", "POST", "/api/v1/partner/ou-keys/verify", map[string]string{"ou_key": good}).code,
			"right keys do not use up the allowance")
	}
	metrics, err := w.reg.Gather()
	require.NoError(t, err)
	found := false
	for _, mf := range metrics {
		if mf.GetName() == "kpilot_server_rate_limited_total" {
			found = mf.GetMetric()[0].GetCounter().GetValue() >= 2
		}
	}
	require.True(t, found, "refusals are counted on /metrics")
}

func TestLoginFailuresAreRateLimited(t *testing.T) {
	w := newWorld(t, func(l *api.Limits) { l.LoginFailures = 3 })
	// The clock stands still: the delay after the free failures is 2 s,
	// which a slow host (password hashing under the race detector) could
	// otherwise spend before the next attempt.
	api.SetClock(w.api, (&clock{t: time.Now()}).now)
	login := func(pw string) reply {
		return w.do("anonymous", "POST", "/api/v1/login", map[string]string{"email": "acme_admin@example.com", "password": pw})
	}
	require.Equal(t, http.StatusOK, login("correct-horse-battery").code)
	for range 3 {
		require.Equal(t, http.StatusUnauthorized, login("wrong-password-123").code)
	}
	r := login("correct-horse-battery")
	require.Equal(t, http.StatusTooManyRequests, r.code, "%s", r.raw)
	require.NotEmpty(t, r.header.Get("Retry-After"))
	other := w.do("anonymous", "POST", "/api/v1/login", map[string]string{"email": "acme_viewer@example.com", "password": "correct-horse-battery"})
	require.Equal(t, http.StatusOK, other.code, "another account is not locked")
}

// TestAuditTrail: key reads, sends, uses and rotations, grants and
// revocations are recorded; admins read their organization's trail, and a
// partner reads the events it acted in.
func TestAuditTrail(t *testing.T) {
	w := newWorld(t)
	branch := "/api/v1/ous/" + w.branch.ID
	require.Equal(t, http.StatusOK, w.do("acme_admin", "GET", branch+"/key", nil).code)
	require.Equal(t, http.StatusAccepted, w.do("acme_admin", "POST", branch+"/key/send", map[string]string{"email": "p@r1.example"}).code)
	key := keyInMail.FindString(w.smtp.Wait(t, 1).Body)
	require.NotEmpty(t, key, "the mail carries the key")
	require.Equal(t, http.StatusCreated, w.do("r1_admin", "POST", "/api/v1/partner/assets",
		map[string]any{"ou_key": key, "asset": map[string]string{"name": "Backup appliance", "category": "backup"}}).code)
	require.Equal(t, http.StatusOK, w.do("acme_admin", "POST", branch+"/key/rotate", nil).code)
	r := w.do("r1_admin", "POST", "/api/v1/partner/ou-keys/verify", map[string]string{"ou_key": key})
	require.Equal(t, http.StatusNotFound, r.code, "a rotated key stops working")
	require.Equal(t, http.StatusNoContent, w.do("acme_admin", "DELETE", "/api/v1/grants/"+w.r1Grant.ID, nil).code)

	r = w.do("acme_admin", "GET", "/api/v1/audit", nil)
	require.Equal(t, http.StatusOK, r.code)
	var actions []string
	for _, e := range r.body["events"].([]any) {
		actions = append(actions, e.(map[string]any)["action"].(string))
	}
	require.Equal(t, []string{"grant.revoke", "ou_key.rotate", "ou_key.use", "ou_key.send", "ou_key.read"}, actions)
	use := r.body["events"].([]any)[2].(map[string]any)
	require.Equal(t, w.orgs["r1"].ID, use["actor_organization_id"], "the partner that used the key is named")
	require.Equal(t, w.users["r1_admin"], use["actor_user_id"])

	r = w.do("r1_admin", "GET", "/api/v1/audit", nil)
	require.Len(t, r.body["events"], 1, "the partner reads only what it did: %s", r.raw)
	require.Equal(t, http.StatusForbidden, w.do("acme_viewer", "GET", "/api/v1/audit", nil).code)
	r = w.do("globex_admin", "GET", "/api/v1/audit", nil)
	require.Empty(t, r.body["events"])
}

// TestOpenAPIDescribesEveryRoute holds the served document and the
// registered routes together.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	w := newWorld(t)
	r := w.do("anonymous", "GET", "/api/v1/openapi.yaml", nil)
	require.Equal(t, http.StatusOK, r.code)
	require.True(t, strings.HasPrefix(r.header.Get("Content-Type"), "application/yaml"))
	var doc struct {
		OpenAPI string                               `yaml:"openapi"`
		Paths   map[string]map[string]map[string]any `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal(r.raw, &doc))
	require.Equal(t, "3.1.0", doc.OpenAPI)
	var documented []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
			require.NotEmpty(t, op["summary"], "%s %s", method, path)
			require.NotEmpty(t, op["responses"], "%s %s", method, path)
		}
	}
	routes := newTestAPI(t).Routes()
	slices.Sort(documented)
	slices.Sort(routes)
	require.Equal(t, routes, documented)
}
