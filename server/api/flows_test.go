package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// mailed returns the token in the link of the n-th mail to `to`.
func (w *world) mailedToken(n int, to string) string {
	w.t.Helper()
	m := w.smtp.Wait(w.t, n)
	require.Equal(w.t, []string{to}, m.To)
	match := linkInMail.FindStringSubmatch(m.Body)
	require.NotNil(w.t, match, "no link in: %s", m.Body)
	require.Contains(w.t, m.Body, "https://kpilot.example/", "links start with the public URL")
	return match[1]
}

func (w *world) login(email, password string) string {
	w.t.Helper()
	r := w.do("anonymous", "POST", "/api/v1/login", map[string]string{"email": email, "password": password})
	require.Equal(w.t, http.StatusOK, r.code, "%s", r.raw)
	return r.body["token"].(string)
}

// TestSeedFlows walks the flows of seed 000: a partner invites a customer
// with its first asset; the customer activates, adds a user, sends its OU
// key; the partner creates an asset with it; the customer shares a system
// key; the partner sees exactly those assets.
func TestSeedFlows(t *testing.T) {
	w := newWorld(t)
	mails := 0
	next := func() int { mails++; return mails }

	// 1. R1 invites a customer together with its first asset.
	r := w.do("r1_admin", "POST", "/api/v1/partner/customer-invitations", map[string]any{"company": "Initech", "email": "IT@initech.example",
		"asset": map[string]string{"name": "Initech ESX", "category": "server", "manufacturer": "HPE", "product": "ProLiant DL380", "version": "Gen10", "serial": "CZ1"}})
	require.Equal(t, http.StatusCreated, r.code, "%s", r.raw)
	require.Equal(t, "open", r.body["status"])
	tok := w.mailedToken(next(), "it@initech.example")
	require.Empty(t, names(w.do("r1_admin", "GET", "/api/v1/assets?customer_id=x", nil), "assets"))

	r = w.do("anonymous", "POST", "/api/v1/invitations/lookup", map[string]string{"token": tok})
	require.Equal(t, "Initech", r.body["organization"])
	require.Equal(t, false, r.body["existing_account"])
	r = w.do("anonymous", "POST", "/api/v1/invitations/accept", map[string]string{"token": tok, "password": "short"})
	require.Equal(t, http.StatusBadRequest, r.code, "a weak password is refused: %s", r.raw)
	r = w.do("anonymous", "POST", "/api/v1/invitations/accept", map[string]string{"token": tok, "password": "initech-admin-pass"})
	require.Equal(t, http.StatusCreated, r.code, "%s", r.raw)
	initech := r.body["organization_id"].(string)
	require.NotEmpty(t, r.body["asset_id"])
	require.Contains(t, w.smtp.Wait(t, next()).Subject, "ready", "a confirmation follows the activation")
	r = w.do("anonymous", "POST", "/api/v1/invitations/accept", map[string]string{"token": tok, "password": "initech-admin-pass"})
	require.Equal(t, http.StatusNotFound, r.code, "an invitation link works once")

	admin := w.login("it@initech.example", "initech-admin-pass")
	require.Equal(t, []string{"Initech ESX"}, names(w.do(admin, "GET", "/api/v1/assets", nil), "assets"))
	require.Contains(t, names(w.do("r1_admin", "GET", "/api/v1/assets?customer_id="+initech, nil), "assets"), "Initech ESX",
		"the inviting partner sees the first asset")

	// 2. The customer admin adds a read-only user.
	r = w.do(admin, "POST", "/api/v1/invitations", map[string]string{"email": "viewer@initech.example", "role": "viewer"})
	require.Equal(t, http.StatusCreated, r.code, "%s", r.raw)
	vtok := w.mailedToken(next(), "viewer@initech.example")
	require.Equal(t, http.StatusCreated, w.do("anonymous", "POST", "/api/v1/invitations/accept", map[string]string{"token": vtok, "password": "initech-viewer-pass"}).code)
	next() // welcome
	viewer := w.login("viewer@initech.example", "initech-viewer-pass")
	me := w.do(viewer, "GET", "/api/v1/me", nil)
	require.Equal(t, "viewer", me.body["role"])
	org := w.do(admin, "GET", "/api/v1/organization", nil)
	root := org.body["root_ou_id"].(string)
	require.Equal(t, http.StatusForbidden, w.do(viewer, "GET", "/api/v1/ous/"+root+"/key", nil).code, "a viewer cannot read keys")
	require.Equal(t, http.StatusForbidden, w.do(viewer, "POST", "/api/v1/ous/"+root+"/key/send", map[string]string{"email": "x@y.example"}).code)

	// 3. The customer sends its OU key to another partner, S1, which
	// creates an asset with it and sees that asset and nothing else.
	mine := w.do(admin, "POST", "/api/v1/assets", map[string]string{"name": "Initech NAS", "category": "storage"})
	require.Equal(t, http.StatusCreated, mine.code, "%s", mine.raw)
	require.Equal(t, http.StatusAccepted, w.do(admin, "POST", "/api/v1/ous/"+root+"/key/send", map[string]string{"email": "ops@s1.example"}).code)
	m := w.smtp.Wait(t, next())
	ouKey := keyInMail.FindString(m.Body)
	require.True(t, strings.HasPrefix(ouKey, "kpou_"), "%s", m.Body)
	r = w.do("s1_admin", "POST", "/api/v1/partner/ou-keys/verify", map[string]string{"ou_key": ouKey})
	require.Equal(t, "Initech", r.body["customer"].(map[string]any)["name"])
	r = w.do("s1_admin", "POST", "/api/v1/partner/assets", map[string]any{"ou_key": ouKey,
		"asset": map[string]string{"name": "Initech Switch", "category": "network", "manufacturer": "Aruba"}})
	require.Equal(t, http.StatusCreated, r.code, "%s", r.raw)
	s1Initech := "/api/v1/assets?customer_id=" + initech
	require.Equal(t, []string{"Initech Switch"}, names(w.do("s1_admin", "GET", s1Initech, nil), "assets"),
		"the OU key creates assets; it does not reveal the OU's others")
	require.ElementsMatch(t, []string{"Initech ESX", "Initech NAS", "Initech Switch"}, names(w.do(admin, "GET", "/api/v1/assets", nil), "assets"))

	// 4. The customer shares the NAS with S1 by its system key.
	nas := mine.body["asset"].(map[string]any)["id"].(string)
	require.Equal(t, http.StatusAccepted, w.do(admin, "POST", "/api/v1/assets/"+nas+"/system-key/send", map[string]string{"email": "ops@s1.example"}).code)
	sysKey := keyInMail.FindString(w.smtp.Wait(t, next()).Body)
	require.True(t, strings.HasPrefix(sysKey, "kpsk_"))
	r = w.do("s1_admin", "POST", "/api/v1/partner/system-keys/verify", map[string]string{"system_key": sysKey})
	require.Equal(t, "Initech NAS", r.body["asset"].(map[string]any)["name"])
	r = w.do("s1_admin", "POST", "/api/v1/partner/system-keys", map[string]string{"system_key": sysKey})
	require.Equal(t, http.StatusCreated, r.code, "%s", r.raw)
	require.ElementsMatch(t, []string{"Initech Switch", "Initech NAS"}, names(w.do("s1_admin", "GET", s1Initech, nil), "assets"))
	require.Equal(t, []string{"Initech ESX"}, names(w.do("r1_admin", "GET", "/api/v1/assets?customer_id="+initech, nil), "assets"),
		"R1 still sees only the asset it created")

	// The partner's view is read-only: it cannot change the customer's data.
	require.Equal(t, http.StatusForbidden, w.do("s1_admin", "GET", "/api/v1/assets/"+nas+"/system-key", nil).code)
	require.Equal(t, http.StatusForbidden, w.do("s1_admin", "POST", "/api/v1/assets/"+nas+"/system-key/rotate", nil).code)

	// The customer sees who sees its NAS, and revokes it.
	r = w.do(admin, "GET", "/api/v1/assets/"+nas+"/partners", nil)
	partners := r.body["partners"].([]any)
	require.Len(t, partners, 1)
	require.Equal(t, "P-S1", partners[0].(map[string]any)["partner_id"])
	require.Equal(t, http.StatusNoContent, w.do(admin, "DELETE", "/api/v1/grants/"+partners[0].(map[string]any)["grant_id"].(string), nil).code)
	require.Equal(t, []string{"Initech Switch"}, names(w.do("s1_admin", "GET", s1Initech, nil), "assets"))

	// 5. A distributor invites a reseller, which gets a partner ID.
	require.Equal(t, http.StatusCreated, w.do("d_admin", "POST", "/api/v1/distributor/reseller-invitations",
		map[string]string{"company": "New Reseller", "email": "boss@newreseller.example"}).code)
	rtok := w.mailedToken(next(), "boss@newreseller.example")
	r = w.do("anonymous", "POST", "/api/v1/invitations/accept", map[string]string{"token": rtok, "password": "new-reseller-pass"})
	require.Equal(t, http.StatusCreated, r.code, "%s", r.raw)
	next()
	reseller := w.login("boss@newreseller.example", "new-reseller-pass")
	o := w.do(reseller, "GET", "/api/v1/organization", nil)
	require.Equal(t, "reseller", o.body["kind"])
	require.Regexp(t, `^KP-\d{4}-\d{4}$`, o.body["partner_id"])
	require.Equal(t, "New Reseller", w.do(admin, "GET", "/api/v1/partners/"+o.body["partner_id"].(string), nil).body["name"],
		"customers find the new reseller by its partner ID")
}

// TestMemberOfSeveralOrganizations: an MSP engineer who is also admin of a
// customer accepts with the password it has and switches between both.
func TestMemberOfSeveralOrganizations(t *testing.T) {
	w := newWorld(t)
	r := w.do("acme_admin", "POST", "/api/v1/invitations", map[string]string{"email": "r1_admin@example.com", "role": "admin"})
	require.Equal(t, http.StatusCreated, r.code, "%s", r.raw)
	tok := w.mailedToken(1, "r1_admin@example.com")
	r = w.do("anonymous", "POST", "/api/v1/invitations/accept", map[string]string{"token": tok, "password": "someone-elses-pass"})
	require.Equal(t, http.StatusUnauthorized, r.code, "joining with an existing account needs its password")
	r = w.do("anonymous", "POST", "/api/v1/invitations/accept", map[string]string{"token": tok, "password": "correct-horse-battery"})
	require.Equal(t, http.StatusCreated, r.code, "%s", r.raw)
	require.Equal(t, false, r.body["created_user"])

	sess := w.login("r1_admin@example.com", "correct-horse-battery")
	me := w.do(sess, "GET", "/api/v1/me", nil)
	require.Len(t, me.body["memberships"], 2)
	r = w.do(sess, "POST", "/api/v1/session/organization", map[string]string{"organization_id": w.orgs["r1"].ID})
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	require.Equal(t, []string{"Acme ESX"}, names(w.do(sess, "GET", "/api/v1/assets", nil), "assets"), "as R1: what R1 holds")
	require.Equal(t, http.StatusForbidden, w.do(sess, "GET", "/api/v1/assets/"+w.assets["a_root"].ID+"/system-key", nil).code)
	r = w.do(sess, "POST", "/api/v1/session/organization", map[string]string{"organization_id": w.orgs["acme"].ID})
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	require.Equal(t, "admin", r.body["role"])
	require.ElementsMatch(t, []string{"Acme ESX", "Acme NAS"}, names(w.do(sess, "GET", "/api/v1/assets", nil), "assets"), "as Acme's admin")
	require.Equal(t, http.StatusOK, w.do(sess, "GET", "/api/v1/assets/"+w.assets["a_root"].ID+"/system-key", nil).code)
	require.Equal(t, http.StatusNotFound, w.do(sess, "POST", "/api/v1/session/organization", map[string]string{"organization_id": w.orgs["globex"].ID}).code)
}

func TestPasswordReset(t *testing.T) {
	w := newWorld(t)
	r := w.do("anonymous", "POST", "/api/v1/password-reset", map[string]string{"email": "nobody@example.com"})
	require.Equal(t, http.StatusAccepted, r.code)
	r2 := w.do("anonymous", "POST", "/api/v1/password-reset", map[string]string{"email": "acme_viewer@example.com"})
	require.Equal(t, r.body, r2.body, "the answer does not tell which addresses have accounts")
	tok := w.mailedToken(1, "acme_viewer@example.com")
	require.Len(t, w.smtp.Messages(), 1, "no mail for an unknown address")

	r = w.do("anonymous", "POST", "/api/v1/password-reset/confirm", map[string]string{"token": tok, "password": "a-brand-new-password"})
	require.Equal(t, http.StatusNoContent, r.code, "%s", r.raw)
	require.Equal(t, http.StatusUnauthorized, w.do("acme_viewer", "GET", "/api/v1/me", nil).code, "old sessions end")
	w.login("acme_viewer@example.com", "a-brand-new-password")
	r = w.do("anonymous", "POST", "/api/v1/password-reset/confirm", map[string]string{"token": tok, "password": "yet-another-password"})
	require.Equal(t, http.StatusNotFound, r.code, "a reset link works once")
}

func TestAPITokens(t *testing.T) {
	w := newWorld(t)
	r := w.do("acme_viewer", "POST", "/api/v1/api-tokens", map[string]string{"name": "grafana", "ttl": "720h"})
	require.Equal(t, http.StatusCreated, r.code, "%s", r.raw)
	tok, id := r.body["token"].(string), r.body["id"].(string)
	require.True(t, strings.HasPrefix(tok, "kpt_"))

	list := w.do("acme_viewer", "GET", "/api/v1/api-tokens", nil)
	require.NotContains(t, string(list.raw), tok, "a token is shown once, never listed")
	require.Equal(t, tok[:8], list.body["api_tokens"].([]any)[0].(map[string]any)["hint"])

	require.ElementsMatch(t, []string{"Acme ESX", "Acme NAS"}, names(w.do(tok, "GET", "/api/v1/assets", nil), "assets"), "a token acts as its user")
	require.Equal(t, http.StatusForbidden, w.do(tok, "GET", "/api/v1/ous/"+w.orgs["acme"].RootOU+"/key", nil).code, "with its user's role")
	require.Equal(t, http.StatusForbidden, w.do(tok, "POST", "/api/v1/api-tokens", map[string]string{"name": "x"}).code)
	require.Equal(t, http.StatusNotFound, w.do("acme_admin", "DELETE", "/api/v1/api-tokens/"+id, nil).code, "only its owner deletes it")
	require.Equal(t, http.StatusNoContent, w.do("acme_viewer", "DELETE", "/api/v1/api-tokens/"+id, nil).code)
	require.Equal(t, http.StatusUnauthorized, w.do(tok, "GET", "/api/v1/assets", nil).code)

	forever := w.do("acme_viewer", "POST", "/api/v1/api-tokens", map[string]string{"name": "no ttl"})
	require.Equal(t, http.StatusCreated, forever.code, "%s", forever.raw)
	require.Equal(t, http.StatusOK, w.do(forever.body["token"].(string), "GET", "/api/v1/assets", nil).code,
		"a token without ttl does not expire")
}

// TestHostileInput: malformed and oversized bodies and ids answer clear
// errors and change nothing.
func TestHostileInput(t *testing.T) {
	w := newWorld(t)
	cases := []struct {
		caller, method, path string
		body                 any
		code                 int
		msg                  string
	}{
		{"acme_admin", "POST", "/api/v1/ous", map[string]string{"parent_id": w.orgs["acme"].RootOU, "name": strings.Repeat("x", 300)}, 400, "name: 1 to 200 characters"},
		{"acme_admin", "POST", "/api/v1/ous", map[string]string{"parent_id": w.orgs["acme"].RootOU, "name": "a\nb"}, 400, "one line"},
		{"acme_admin", "POST", "/api/v1/ous", map[string]any{"parent_id": w.orgs["acme"].RootOU, "name": "x", "extra": 1}, 400, "unknown field"},
		{"acme_admin", "POST", "/api/v1/ous", map[string]string{"parent_id": w.orgs["globex"].RootOU, "name": "x"}, 404, "not found"},
		{"acme_admin", "POST", "/api/v1/assets", map[string]string{"name": "x", "category": "toaster"}, 400, "asset.category"},
		{"acme_admin", "POST", "/api/v1/invitations", map[string]string{"email": "Evil <a@b.example>", "role": "viewer"}, 400, "not an email address"},
		{"acme_admin", "POST", "/api/v1/invitations", map[string]string{"email": "a@b.example", "role": "owner"}, 400, `role "owner"`},
		{"acme_admin", "PATCH", "/api/v1/ous/" + w.branch.ID, map[string]string{"parent_id": w.branch.ID}, 400, "below itself"},
		{"acme_admin", "DELETE", "/api/v1/ous/" + w.branch.ID, nil, 409, "not empty"},
		{"acme_admin", "DELETE", "/api/v1/ous/" + w.orgs["acme"].RootOU, nil, 403, "cannot delete the OU it administers"},
		{"acme_admin", "DELETE", "/api/v1/users/" + w.users["acme_admin"], nil, 403, "your own membership"},
		{"acme_admin", "GET", "/api/v1/audit?limit=100000", nil, 400, "limit"},
		{"acme_admin", "PUT", "/api/v1/channel-consent", map[string]any{}, 400, "consent: true or false"},
		{"r1_admin", "POST", "/api/v1/partner/ou-keys/verify", map[string]string{"ou_key": strings.Repeat("kpou_", 1000)}, 404, "unknown OU key"},
		{"r1_admin", "POST", "/api/v1/partner/system-keys", map[string]string{"system_key": "' OR 1=1 --"}, 404, "unknown system key"},
		{"acme_admin", "GET", "/api/v1/partners/" + strings.Repeat("9", 100), nil, 400, "partner_id"},
	}
	for _, c := range cases {
		r := w.do(c.caller, c.method, c.path, c.body)
		require.Equal(t, c.code, r.code, "%s %s: %s", c.method, c.path, r.raw)
		require.Contains(t, r.body["error"], c.msg, "%s %s", c.method, c.path)
	}
	big := map[string]string{"name": strings.Repeat("x", 70<<10)}
	r := w.do("acme_admin", "POST", "/api/v1/api-tokens", big)
	require.Equal(t, http.StatusBadRequest, r.code, "a body over 64 KiB is refused")
	r = w.do("acme_admin", "GET", "/api/v1/ous", nil)
	require.Len(t, r.body["ous"], 3, "nothing was created")
}
