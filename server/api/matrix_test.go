package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// endpoint is one row of the authorization matrix: a request built from
// the world, and the callers who may make it. Every other caller must be
// refused (401 anonymous; 403 or 404 for the rest) with an error body
// that carries nothing but the message.
type endpoint struct {
	method string
	path   func(w *world) string
	body   func(w *world) any
	allow  []string
	// mutates: each allowed caller gets a fresh world, so one caller's
	// change does not decide the next caller's answer.
	mutates bool
}

var (
	authenticated = callers[1:]
	customers     = []string{"acme_admin", "acme_viewer", "branch_admin", "globex_admin"}
	custRootAdms  = []string{"acme_admin", "globex_admin"}
	acmeOUAdmins  = []string{"acme_admin", "branch_admin"}
	partnerAdmins = []string{"r1_admin", "r3_admin", "s1_admin", "d_admin", "r4_admin", "w_admin"}
	admins        = []string{"acme_admin", "branch_admin", "globex_admin", "r1_admin", "r3_admin", "s1_admin", "d_admin", "r4_admin", "w_admin"}
	rootAdmins    = []string{"acme_admin", "globex_admin", "r1_admin", "r3_admin", "s1_admin", "d_admin", "r4_admin", "w_admin"}
	seesARoot     = []string{"acme_admin", "acme_viewer", "r1_admin", "r1_viewer", "s1_admin"}
)

func findingPath(key, suffix string) func(*world) string {
	return func(w *world) string { return "/api/v1/findings/" + w.findings[key].ID + suffix }
}

func channelPath(suffix string) func(*world) string {
	return func(w *world) string { return "/api/v1/notification-channels/" + w.channel.ID + suffix }
}

func channelBody(*world) any {
	return map[string]any{"kind": "slack", "url": "https://hooks.slack.example/services/y", "events": []string{"finding.opened"}}
}

func webhookPath(suffix string) func(*world) string {
	return func(w *world) string { return "/api/v1/webhooks/" + w.webhook.ID + suffix }
}

func fixed(p string) func(*world) string { return func(*world) string { return p } }

func assetPath(key, suffix string) func(*world) string {
	return func(w *world) string { return "/api/v1/assets/" + w.assets[key].ID + suffix }
}

func ouKey(w *world) string {
	k, err := w.store.OUKey(w.t.Context(), w.branch.ID)
	require.NoError(w.t, err)
	return k
}

func systemKey(w *world) string {
	k, err := w.store.SystemKey(w.t.Context(), w.assets["a_branch"].ID)
	require.NoError(w.t, err)
	return k
}

var matrix = []endpoint{
	{method: "GET", path: fixed("/api/v1/reports/inventory"), allow: authenticated},
	{method: "GET", path: func(w *world) string {
		return "/api/v1/reports/inventory?format=pdf&asset_id=" + w.assets["a_branch"].ID
	}, allow: []string{"acme_admin", "acme_viewer", "branch_admin", "s1_admin"}},
	{method: "GET", path: fixed("/api/v1/findings"), allow: authenticated},
	{method: "GET", path: findingPath("a_branch", ""), allow: []string{"acme_admin", "acme_viewer", "branch_admin", "s1_admin"}},
	{method: "GET", path: findingPath("a_root", ""), allow: []string{"acme_admin", "acme_viewer", "s1_admin"}},
	{method: "GET", path: findingPath("agent", ""), allow: []string{"acme_admin", "acme_viewer"}},
	{method: "POST", path: findingPath("a_branch", "/acknowledge"), body: func(*world) any {
		return map[string]string{"note": "on it"}
	}, allow: acmeOUAdmins, mutates: true},
	{method: "GET", path: fixed("/api/v1/checkup-rules"), allow: authenticated},
	{method: "PUT", path: fixed("/api/v1/checkup-rules"), body: func(*world) any {
		return map[string]any{"rules": []map[string]any{{"id": "full", "kind": "storage_used", "warning": 80}}}
	}, allow: rootAdmins, mutates: true},
	{method: "DELETE", path: fixed("/api/v1/checkup-rules"), allow: rootAdmins, mutates: true},
	{method: "POST", path: fixed("/api/v1/checkups/run"), allow: rootAdmins, mutates: true},
	{method: "GET", path: fixed("/api/v1/webhooks"), allow: authenticated},
	{method: "POST", path: fixed("/api/v1/webhooks"), body: func(*world) any {
		return map[string]any{"url": "https://hooks.example/new", "events": []string{"finding.opened"}}
	}, allow: rootAdmins, mutates: true},
	{method: "DELETE", path: webhookPath(""), allow: []string{"acme_admin"}, mutates: true},
	{method: "POST", path: webhookPath("/ping"), allow: []string{"acme_admin"}},
	{method: "GET", path: webhookPath("/deliveries"), allow: []string{"acme_admin", "acme_viewer", "branch_admin"}},
	{method: "GET", path: channelPath(""), allow: []string{"acme_admin", "acme_viewer", "branch_admin"}},
	{method: "GET", path: channelPath("/deliveries"), allow: []string{"acme_admin", "acme_viewer", "branch_admin"}},
	{method: "PUT", path: channelPath(""), body: channelBody, allow: []string{"acme_admin"}},
	{method: "DELETE", path: channelPath(""), allow: []string{"acme_admin"}, mutates: true},
	{method: "POST", path: channelPath("/test"), allow: []string{"acme_admin"}},
	{method: "GET", path: fixed("/api/v1/notification-channels"), allow: authenticated},
	{method: "POST", path: fixed("/api/v1/notification-channels"), body: channelBody, allow: rootAdmins, mutates: true},
	{method: "GET", path: fixed("/api/v1/notification-settings"), allow: authenticated},
	{method: "PUT", path: fixed("/api/v1/notification-settings"), body: func(*world) any { return map[string]string{"repeat_every": "4h"} },
		allow: rootAdmins},
	{method: "GET", path: fixed("/api/v1/me/subscriptions"), allow: authenticated},
	{method: "POST", path: fixed("/api/v1/me/subscriptions"), body: func(*world) any { return map[string]any{"events": []string{"*"}} },
		allow: authenticated},
	{method: "PUT", path: func(w *world) string { return "/api/v1/me/subscriptions/" + w.sub.ID }, body: func(*world) any {
		return map[string]any{"events": []string{"finding.opened"}, "digest": "daily"}
	}, allow: []string{"acme_viewer"}},
	{method: "DELETE", path: func(w *world) string { return "/api/v1/me/subscriptions/" + w.sub.ID }, allow: []string{"acme_viewer"}},
	{method: "GET", path: fixed("/api/v1/reports/availability?format=pdf"), allow: authenticated},
	{method: "GET", path: fixed("/api/v1/reports/capacity"), allow: authenticated},
	{method: "GET", path: fixed("/api/v1/reports/backup"), allow: authenticated},
	{method: "GET", path: fixed("/api/v1/report-schedules"), allow: authenticated},
	{method: "POST", path: fixed("/api/v1/report-schedules"), body: func(*world) any {
		return map[string]any{"template": "inventory", "every": "daily", "recipients": []string{"boss@example.com"}}
	}, allow: admins, mutates: true},
	{method: "DELETE", path: func(w *world) string { return "/api/v1/report-schedules/" + w.schedule.ID }, allow: []string{"acme_admin"}, mutates: true},
	{method: "GET", path: fixed("/api/v1/me"), allow: authenticated},
	{method: "POST", path: fixed("/api/v1/logout"), allow: authenticated},
	{method: "POST", path: fixed("/api/v1/session/organization"), body: func(w *world) any {
		return map[string]string{"organization_id": w.orgs["acme"].ID}
	}, allow: []string{"acme_admin", "acme_viewer", "branch_admin"}},
	{method: "GET", path: fixed("/api/v1/organization"), allow: authenticated},
	{method: "GET", path: fixed("/api/v1/ous"), allow: authenticated},
	{method: "POST", path: fixed("/api/v1/ous"), body: func(w *world) any {
		return map[string]string{"parent_id": w.orgs["acme"].RootOU, "name": "New"}
	}, allow: []string{"acme_admin"}},
	{method: "PATCH", path: func(w *world) string { return "/api/v1/ous/" + w.branch.ID }, body: func(*world) any {
		return map[string]string{"name": "Renamed"}
	}, allow: acmeOUAdmins, mutates: true},
	{method: "DELETE", path: func(w *world) string { return "/api/v1/ous/" + w.spare.ID }, allow: []string{"acme_admin"}, mutates: true},
	{method: "GET", path: func(w *world) string { return "/api/v1/ous/" + w.branch.ID + "/key" }, allow: acmeOUAdmins},
	{method: "POST", path: func(w *world) string { return "/api/v1/ous/" + w.branch.ID + "/key/send" }, body: func(*world) any {
		return map[string]string{"email": "partner@reseller.example"}
	}, allow: acmeOUAdmins},
	{method: "POST", path: func(w *world) string { return "/api/v1/ous/" + w.branch.ID + "/key/rotate" }, allow: acmeOUAdmins, mutates: true},
	{method: "POST", path: fixed("/api/v1/enrollment-tokens"), body: func(w *world) any {
		return map[string]string{"ou_id": w.branch.ID}
	}, allow: acmeOUAdmins},
	{method: "GET", path: fixed("/api/v1/agents"), allow: customers},

	{method: "GET", path: fixed("/api/v1/assets"), allow: authenticated},
	{method: "GET", path: fixed("/api/v1/overview"), allow: authenticated},
	{method: "POST", path: fixed("/api/v1/assets"), body: func(w *world) any {
		return map[string]string{"ou_id": w.branch.ID, "name": "Licence", "category": "licence"}
	}, allow: acmeOUAdmins},
	{method: "GET", path: assetPath("a_root", ""), allow: seesARoot},
	{method: "GET", path: assetPath("a_root", "/series?measurement=cpu&field=usage_percent"), allow: seesARoot},
	{method: "GET", path: assetPath("a_root", "/latest"), allow: seesARoot},
	{method: "GET", path: assetPath("a_root", "/availability"), allow: seesARoot},
	{method: "GET", path: assetPath("a_root", "/usage"), allow: seesARoot},
	{method: "GET", path: assetPath("a_root", "/inventory"), allow: seesARoot},
	{method: "GET", path: assetPath("a_root", "/inventory/history"), allow: seesARoot},
	{method: "GET", path: fixed("/api/v1/metrics"), allow: authenticated},
	{method: "GET", path: assetPath("a_branch", ""), allow: []string{"acme_admin", "acme_viewer", "branch_admin", "s1_admin"}},
	{method: "PATCH", path: assetPath("a_branch", ""), body: func(*world) any { return map[string]string{"name": "Renamed NAS"} }, allow: acmeOUAdmins, mutates: true},
	{method: "PATCH", path: assetPath("a_branch", ""), body: func(w *world) any { return map[string]string{"ou_id": w.spare.ID} }, allow: []string{"acme_admin"}, mutates: true},
	{method: "DELETE", path: assetPath("a_branch", ""), allow: acmeOUAdmins, mutates: true},
	{method: "GET", path: assetPath("g1", ""), allow: []string{"globex_admin"}},
	{method: "GET", path: assetPath("a_root", "/system-key"), allow: []string{"acme_admin"}},
	{method: "POST", path: assetPath("a_root", "/system-key/send"), body: func(*world) any {
		return map[string]string{"email": "partner@reseller.example"}
	}, allow: []string{"acme_admin"}},
	{method: "POST", path: assetPath("a_root", "/system-key/rotate"), allow: []string{"acme_admin"}, mutates: true},
	{method: "GET", path: assetPath("a_root", "/partners"), allow: []string{"acme_admin", "acme_viewer"}},

	{method: "POST", path: fixed("/api/v1/partner/ou-keys/verify"), body: func(w *world) any {
		return map[string]string{"ou_key": ouKey(w)}
	}, allow: partnerAdmins},
	{method: "POST", path: fixed("/api/v1/partner/assets"), body: func(w *world) any {
		return map[string]any{"ou_key": ouKey(w), "asset": map[string]string{"name": "New box", "category": "storage"}}
	}, allow: partnerAdmins, mutates: true},
	{method: "POST", path: fixed("/api/v1/partner/system-keys/verify"), body: func(w *world) any {
		return map[string]string{"system_key": systemKey(w)}
	}, allow: partnerAdmins},
	{method: "POST", path: fixed("/api/v1/partner/system-keys"), body: func(w *world) any {
		return map[string]string{"system_key": systemKey(w)}
	}, allow: partnerAdmins, mutates: true},
	{method: "POST", path: fixed("/api/v1/partner/customer-invitations"), body: func(*world) any {
		return map[string]any{"company": "NewCo", "email": "it@newco.example", "asset": map[string]string{"name": "ESX", "category": "server"}}
	}, allow: partnerAdmins},
	{method: "POST", path: fixed("/api/v1/distributor/reseller-invitations"), body: func(*world) any {
		return map[string]string{"company": "NewReseller", "email": "boss@newreseller.example"}
	}, allow: []string{"d_admin"}},

	{method: "GET", path: fixed("/api/v1/grants"), allow: authenticated},
	{method: "DELETE", path: func(w *world) string { return "/api/v1/grants/" + w.r1Grant.ID }, allow: []string{"acme_admin", "r1_admin"}, mutates: true},

	{method: "GET", path: fixed("/api/v1/partners/P-R1"), allow: custRootAdms},
	{method: "GET", path: fixed("/api/v1/channel-partners"), allow: customers},
	{method: "POST", path: fixed("/api/v1/channel-partners"), body: func(*world) any {
		return map[string]any{"partner_id": "P-R1"}
	}, allow: custRootAdms},
	{method: "PATCH", path: fixed("/api/v1/channel-partners/P-R3"), body: func(*world) any {
		return map[string]any{"default_service": true}
	}, allow: []string{"acme_admin"}},
	{method: "DELETE", path: fixed("/api/v1/channel-partners/P-R3"), allow: []string{"acme_admin"}},
	{method: "GET", path: fixed("/api/v1/channel-assignments"), allow: customers},
	{method: "PUT", path: fixed("/api/v1/channel-assignments"), body: func(w *world) any {
		return map[string]any{"partner_id": "P-S1", "role": "reseller", "asset_id": w.assets["a_branch"].ID}
	}, allow: []string{"acme_admin"}},
	{method: "DELETE", path: func(w *world) string { return "/api/v1/channel-assignments/" + w.assign.ID }, allow: []string{"acme_admin"}},
	{method: "GET", path: fixed("/api/v1/channel-devices"), allow: customers},
	{method: "PUT", path: fixed("/api/v1/channel-consent"), body: func(*world) any {
		return map[string]any{"consent": true}
	}, allow: custRootAdms},

	{method: "GET", path: fixed("/api/v1/device-groups"), allow: customers},
	{method: "POST", path: fixed("/api/v1/device-groups"), body: func(w *world) any {
		return map[string]any{"name": "Storage", "asset_ids": []string{w.assets["a_branch"].ID}}
	}, allow: []string{"acme_admin"}},
	{method: "PUT", path: func(w *world) string { return "/api/v1/device-groups/" + w.group.ID + "/members" }, body: func(w *world) any {
		return map[string]any{"asset_ids": []string{w.assets["a_branch"].ID}}
	}, allow: []string{"acme_admin"}},
	{method: "DELETE", path: func(w *world) string { return "/api/v1/device-groups/" + w.group.ID }, allow: []string{"acme_admin"}},

	{method: "GET", path: fixed("/api/v1/users"), allow: admins},
	{method: "PATCH", path: func(w *world) string { return "/api/v1/users/" + w.users["acme_viewer"] }, body: func(*world) any {
		return map[string]string{"role": "admin"}
	}, allow: []string{"acme_admin"}},
	{method: "DELETE", path: func(w *world) string { return "/api/v1/users/" + w.users["acme_viewer"] }, allow: []string{"acme_admin"}},
	{method: "GET", path: fixed("/api/v1/invitations"), allow: admins},
	{method: "POST", path: fixed("/api/v1/invitations"), body: func(w *world) any {
		return map[string]string{"email": "colleague@acme.example", "role": "viewer", "ou_id": w.branch.ID}
	}, allow: acmeOUAdmins},
	{method: "DELETE", path: func(w *world) string { return "/api/v1/invitations/" + w.invite.ID }, allow: acmeOUAdmins, mutates: true},
	// An invitation above the branch admin's OU is out of its reach.
	{method: "DELETE", path: func(w *world) string { return "/api/v1/invitations/" + w.hqInvite.ID }, allow: []string{"acme_admin"}, mutates: true},

	{method: "GET", path: fixed("/api/v1/api-tokens"), allow: authenticated},
	{method: "POST", path: fixed("/api/v1/api-tokens"), body: func(*world) any { return map[string]string{"name": "grafana"} }, allow: authenticated},
	{method: "DELETE", path: func(w *world) string { return "/api/v1/api-tokens/" + w.token }, allow: []string{"acme_admin"}},

	{method: "GET", path: fixed("/api/v1/maintenance-windows"), allow: authenticated},
	{method: "POST", path: fixed("/api/v1/maintenance-windows"), body: func(w *world) any { return weekly(w.assets["a_branch"].ID) },
		allow: acmeOUAdmins},
	{method: "PUT", path: windowPath, body: func(w *world) any { return weekly(w.assets["a_root"].ID) }, allow: []string{"acme_admin"}},
	{method: "DELETE", path: windowPath, allow: []string{"acme_admin"}, mutates: true},
	{method: "GET", path: assetPath("a_root", "/parent"), allow: seesARoot},
	{method: "PUT", path: assetPath("a_root", "/parent"), body: func(w *world) any {
		return map[string]string{"parent_id": w.assets["a_branch"].ID}
	}, allow: []string{"acme_admin"}},
	{method: "DELETE", path: assetPath("a_branch", "/parent"), allow: acmeOUAdmins},

	{method: "GET", path: fixed("/api/v1/audit"), allow: admins},
	{method: "GET", path: fixed("/api/v1/openapi.yaml"), allow: callers},
	{method: "GET", path: fixed("/api/v1/kpis"), allow: authenticated},
	{method: "GET", path: fixed("/api/v1/agents/self")},
	{method: "PUT", path: fixed("/api/v1/agents/self/kpis"), body: func(*world) any { return []any{} }},
	{method: "POST", path: fixed("/api/v1/ingest")},
}

// TestAuthorizationMatrix calls every endpoint as every kind of caller.
func TestAuthorizationMatrix(t *testing.T) {
	base := newWorld(t)
	covered := map[string]bool{}
	for _, ep := range matrix {
		name := ep.method + " " + ep.path(base)
		covered[ep.method+" "+routeOf(ep.path(base), base)] = true
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
			w := newWorld(t)
			var body any
			if ep.body != nil {
				body = ep.body(w)
			}
			// Refused callers first: they must change nothing.
			for _, c := range callers {
				if slices.Contains(ep.allow, c) {
					continue
				}
				r := w.do(c, ep.method, ep.path(w), body)
				if c == "anonymous" {
					require.Equal(t, http.StatusUnauthorized, r.code, "%s: %s", c, r.raw)
				} else {
					require.Contains(t, []int{http.StatusForbidden, http.StatusNotFound, http.StatusUnauthorized}, r.code, "%s must be refused: %s", c, r.raw)
				}
				require.Len(t, r.body, 1, "%s: a refusal carries only the error: %s", c, r.raw)
				require.Contains(t, r.body, "error")
			}
			for i, c := range ep.allow {
				if ep.mutates && i > 0 {
					w = newWorld(t)
					if ep.body != nil {
						body = ep.body(w)
					}
				}
				r := w.do(c, ep.method, ep.path(w), body)
				require.NotContains(t, []int{401, 403, 404, 400, 500}, r.code, "%s must be allowed: %s", c, r.raw)
			}
		})
	}
	// Every route of the API has a row (the public ones have their own tests).
	public := []string{"POST /api/v1/agents/enroll", "POST /api/v1/login", "POST /api/v1/password-reset",
		"POST /api/v1/password-reset/confirm", "POST /api/v1/invitations/lookup", "POST /api/v1/invitations/accept"}
	for _, r := range newTestAPI(t).Routes() {
		if !slices.Contains(public, r) {
			require.True(t, covered[r], "route %s has no row in the authorization matrix", r)
		}
	}
}

// routeOf turns a concrete path back into its route pattern.
func routeOf(p string, w *world) string {
	p, _, _ = strings.Cut(p, "?")
	for _, id := range []string{w.branch.ID, w.spare.ID, w.assets["a_root"].ID, w.assets["a_branch"].ID, w.assets["g1"].ID,
		w.r1Grant.ID, w.assign.ID, w.group.ID, w.users["acme_viewer"], w.invite.ID, w.token,
		w.findings["a_root"].ID, w.findings["a_branch"].ID, w.findings["agent"].ID, w.webhook.ID, w.schedule.ID, w.channel.ID, w.sub.ID} {
		p = strings.ReplaceAll(p, "/"+id, "/{id}")
	}
	for _, pid := range []string{"P-R1", "P-R3"} {
		p = strings.ReplaceAll(p, "/"+pid, "/{partner_id}")
	}
	ws, err := w.store.MaintenanceWindows(w.t.Context(), w.orgs["acme"].ID)
	require.NoError(w.t, err)
	for _, win := range ws {
		p = strings.ReplaceAll(p, "/"+win.ID, "/{id}")
	}
	return p
}

// --- Audit trail scope (issue 29, Access) ---

// auditSeen is what caller reads of the audit trail: "action target_id"
// for every event, and the raw reply.
func auditSeen(t *testing.T, w *world, caller string) ([]string, string) {
	t.Helper()
	r := w.do(caller, "GET", "/api/v1/audit", nil)
	require.Equal(t, http.StatusOK, r.code, "%s: %s", caller, r.raw)
	out := []string{}
	for _, e := range r.body["events"].([]any) {
		m := e.(map[string]any)
		target, _ := m["target_id"].(string)
		out = append(out, m["action"].(string)+" "+target)
	}
	return out, string(r.raw)
}

// TestAuditTrailScope: an admin of a sub-OU reads the events about its OU
// and below and those by users whose membership is there, whoever acted
// (a partner using a key included); not the events about the whole
// organization or about OUs above or beside it, nor the emails in them.
// The whole organization's admins read everything; a viewer reads
// nothing; a partner reads only what it did.
func TestAuditTrailScope(t *testing.T) {
	w := newWorld(t)
	acme := w.orgs["acme"]
	ok := func(code int, r reply) string {
		t.Helper()
		require.Equal(t, code, r.code, "%s", r.raw)
		id, _ := r.body["id"].(string)
		return id
	}
	ok(http.StatusOK, w.do("acme_admin", "GET", "/api/v1/ous/"+acme.RootOU+"/key", nil))
	ok(http.StatusOK, w.do("acme_admin", "GET", "/api/v1/ous/"+w.branch.ID+"/key", nil))
	hqInv := ok(http.StatusCreated, w.do("acme_admin", "POST", "/api/v1/invitations",
		map[string]string{"email": "hq-colleague@acme.example", "role": "viewer", "ou_id": acme.RootOU}))
	branchInv := ok(http.StatusCreated, w.do("acme_admin", "POST", "/api/v1/invitations",
		map[string]string{"email": "branch-colleague@acme.example", "role": "viewer", "ou_id": w.branch.ID}))
	ok(http.StatusOK, w.do("acme_admin", "PUT", "/api/v1/channel-consent", map[string]bool{"consent": true}))
	// Moving a member from the root to the branch concerns the root too.
	ok(http.StatusOK, w.do("acme_admin", "PATCH", "/api/v1/users/"+w.users["acme_viewer"], map[string]string{"ou_id": w.branch.ID}))
	ok(http.StatusOK, w.do("acme_admin", "PATCH", "/api/v1/users/"+w.users["acme_viewer"], map[string]string{"ou_id": acme.RootOU}))
	viewerTok := ok(http.StatusCreated, w.do("acme_viewer", "POST", "/api/v1/api-tokens", map[string]string{"name": "viewer-ci"}))
	branchTok := ok(http.StatusCreated, w.do("branch_admin", "POST", "/api/v1/api-tokens", map[string]string{"name": "branch-ci"}))
	r := w.do("s1_admin", "POST", "/api/v1/partner/system-keys", map[string]string{"system_key": systemKey(w)})
	require.Contains(t, []int{http.StatusOK, http.StatusCreated}, r.code, "%s", r.raw)
	aBranch := w.assets["a_branch"].ID

	all, _ := auditSeen(t, w, "acme_admin")
	require.Equal(t, []string{
		"system_key.use " + aBranch,
		"api_token.create " + branchTok,
		"api_token.create " + viewerTok,
		"user.update " + w.users["acme_viewer"],
		"user.update " + w.users["acme_viewer"],
		"channel.consent_give " + acme.ID,
		"invitation.create " + branchInv,
		"invitation.create " + hqInv,
		"ou_key.read " + w.branch.ID,
		"ou_key.read " + acme.RootOU,
	}, all, "the whole organization's admin reads everything")

	branch, raw := auditSeen(t, w, "branch_admin")
	require.Equal(t, []string{
		"system_key.use " + aBranch,
		"api_token.create " + branchTok,
		"invitation.create " + branchInv,
		"ou_key.read " + w.branch.ID,
	}, branch, "the branch admin reads its subtree's part")
	require.Contains(t, raw, "branch-colleague@acme.example")
	require.NotContains(t, raw, "hq-colleague@acme.example", "no email of the OU above")

	require.Equal(t, http.StatusForbidden, w.do("acme_viewer", "GET", "/api/v1/audit", nil).code)
	s1, _ := auditSeen(t, w, "s1_admin")
	require.Equal(t, []string{"system_key.use " + aBranch}, s1, "a partner reads what it did")
	r1, _ := auditSeen(t, w, "r1_admin")
	require.Empty(t, r1)
	globex, _ := auditSeen(t, w, "globex_admin")
	require.Empty(t, globex)
}
