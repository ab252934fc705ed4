package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/checkup"
	"github.com/kpilot/kpilot/server/store"
)

// findingKeys names the findings of a reply by the world's asset keys
// ("agent" for the agent's).
func findingKeys(w *world, r reply) []string {
	out := []string{}
	list, _ := r.body["findings"].([]any)
	for _, x := range list {
		m := x.(map[string]any)
		for k, f := range w.findings {
			if f.ID == m["id"] {
				out = append(out, k)
			}
		}
	}
	return out
}

func TestFindingsVisibility(t *testing.T) {
	w := newWorld(t)
	for caller, want := range map[string][]string{
		"acme_admin":   {"a_root", "a_branch", "agent"},
		"acme_viewer":  {"a_root", "a_branch", "agent"},
		"branch_admin": {"a_branch"},           // the agent sits in the root OU
		"s1_admin":     {"a_root", "a_branch"}, // service partner: default for a_root, assigned a_branch
		"r1_admin":     {},                     // reseller class: no findings
		"r1_viewer":    {},
		"r3_admin":     {},
		"r4_admin":     {}, // revoked
		"w_admin":      {}, // consent withdrawn
		"d_admin":      {},
		"globex_admin": {"g1"},
	} {
		r := w.do(caller, "GET", "/api/v1/findings", nil)
		require.Equal(t, http.StatusOK, r.code, "%s: %s", caller, r.raw)
		require.ElementsMatch(t, want, findingKeys(w, r), caller)
	}
	require.Equal(t, http.StatusUnauthorized, w.do("anonymous", "GET", "/api/v1/findings", nil).code)

	// A reseller asking for an asset it sees is told findings are not its
	// to see; an asset it does not see is 404.
	r := w.do("r1_admin", "GET", "/api/v1/findings?asset_id="+w.assets["a_root"].ID, nil)
	require.Equal(t, http.StatusForbidden, r.code, "%s", r.raw)
	r = w.do("r1_admin", "GET", "/api/v1/findings?asset_id="+w.assets["g1"].ID, nil)
	require.Equal(t, http.StatusNotFound, r.code)
	r = w.do("s1_admin", "GET", "/api/v1/findings?asset_id="+w.assets["a_branch"].ID, nil)
	require.Equal(t, []string{"a_branch"}, findingKeys(w, r))
	list := r.body["findings"].([]any)
	f := list[0].(map[string]any)
	require.Equal(t, map[string]any{"id": w.orgs["acme"].ID, "name": "Acme GmbH"}, f["customer"])
	require.Equal(t, "Acme NAS", f["asset"].(map[string]any)["name"])
	require.Equal(t, "open", f["state"])
	require.Nil(t, f["ou_id"], "a partner is not told the customer's OU")

	// Filters.
	r = w.do("acme_admin", "GET", "/api/v1/findings?customer_id="+w.orgs["globex"].ID, nil)
	require.Empty(t, findingKeys(w, r))
	r = w.do("acme_admin", "GET", "/api/v1/findings?severity=critical", nil)
	require.Empty(t, findingKeys(w, r))
	r = w.do("globex_admin", "GET", "/api/v1/findings?severity=critical", nil)
	require.Equal(t, []string{"g1"}, findingKeys(w, r))
	r = w.do("acme_admin", "GET", "/api/v1/findings?state=resolved", nil)
	require.Empty(t, findingKeys(w, r))
	for _, q := range []string{"state=closed", "severity=urgent", "limit=0", "limit=x", "since=yesterday"} {
		r = w.do("acme_admin", "GET", "/api/v1/findings?"+q, nil)
		require.Equal(t, http.StatusBadRequest, r.code, q)
	}

	// Resolved findings stay visible as history.
	_, err := w.store.ReconcileFindings(t.Context(), w.orgs["globex"].ID, nil, w.findings["g1"].OpenedAt.Add(60e9))
	require.NoError(t, err)
	r = w.do("globex_admin", "GET", "/api/v1/findings?state=all", nil)
	require.Equal(t, []string{"g1"}, findingKeys(w, r))
	require.Equal(t, "resolved", r.body["findings"].([]any)[0].(map[string]any)["state"])
	require.Empty(t, findingKeys(w, w.do("globex_admin", "GET", "/api/v1/findings", nil)))
}

func TestFindingAcknowledgement(t *testing.T) {
	w := newWorld(t)
	path := "/api/v1/findings/" + w.findings["a_branch"].ID
	for _, c := range []string{"s1_admin", "acme_viewer"} {
		r := w.do(c, "POST", path+"/acknowledge", map[string]string{"note": "x"})
		require.Equal(t, http.StatusForbidden, r.code, "%s: %s", c, r.raw)
	}
	r := w.do("r1_admin", "POST", path+"/acknowledge", map[string]string{"note": "x"})
	require.Equal(t, http.StatusNotFound, r.code, "a caller that cannot see the finding learns nothing")

	r = w.do("branch_admin", "POST", path+"/acknowledge", map[string]string{"note": "Disk ordered, ticket 4711"})
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	ack := r.body["finding"].(map[string]any)["acknowledged"].(map[string]any)
	require.Equal(t, "Disk ordered, ticket 4711", ack["note"])
	require.Equal(t, "branch_admin@example.com", ack["by"])

	// The service partner sees the acknowledgement, not who gave it.
	r = w.do("s1_admin", "GET", path, nil)
	require.Equal(t, http.StatusOK, r.code)
	ack = r.body["finding"].(map[string]any)["acknowledged"].(map[string]any)
	require.Equal(t, "Disk ordered, ticket 4711", ack["note"])
	require.NotContains(t, ack, "by")

	r = w.do("acme_admin", "POST", path+"/acknowledge", map[string]string{"note": strings.Repeat("x", 1001)})
	require.Equal(t, http.StatusBadRequest, r.code)
	r = w.do("acme_admin", "POST", path+"/acknowledge", map[string]string{"note": "a\x1b[31mred"})
	require.Equal(t, http.StatusBadRequest, r.code)

	audit := w.do("acme_admin", "GET", "/api/v1/audit", nil)
	require.Contains(t, string(audit.raw), "finding.acknowledge")
}

func TestCheckupRulesAPI(t *testing.T) {
	w := newWorld(t)
	r := w.do("acme_viewer", "GET", "/api/v1/checkup-rules", nil)
	require.Equal(t, http.StatusOK, r.code)
	require.Equal(t, "default", r.body["source"])
	require.Len(t, r.body["rules"], len(checkup.DefaultRules().Rules))
	r = w.do("acme_viewer", "GET", "/api/v1/checkup-rules?format=yaml", nil)
	require.Contains(t, string(r.raw), "# kpilot's default check-ups")

	doc := []byte("# ours\nrules:\n  - id: full\n    kind: storage_used\n    warning: 70\n    assets: {ous: [" + w.branch.ID + "]}\n")
	r = w.do("branch_admin", "PUT", "/api/v1/checkup-rules", doc)
	require.Equal(t, http.StatusForbidden, r.code, "rules concern the whole organization")
	r = w.do("acme_admin", "PUT", "/api/v1/checkup-rules", doc)
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	r = w.do("acme_viewer", "GET", "/api/v1/checkup-rules", nil)
	require.Equal(t, "organization", r.body["source"])
	require.Equal(t, "acme_admin@example.com", r.body["updated_by"])
	require.Len(t, r.body["rules"], 1)
	r = w.do("acme_viewer", "GET", "/api/v1/checkup-rules?format=yaml", nil)
	require.Equal(t, string(doc), string(r.raw), "the document comes back as it was sent")
	r = w.do("globex_admin", "GET", "/api/v1/checkup-rules", nil)
	require.Equal(t, "default", r.body["source"], "one organization's rules are its own")

	for body, want := range map[string]string{
		"rules:\n  - {id: x, kind: storage_used, assets: {ous: [" + w.orgs["globex"].RootOU + "]}, warning: 1}\n": "is not one of this organization's",
		"rules:\n  - {id: x, kind: health, assets: {ids: [" + w.assets["g1"].ID + "]}}\n":                         "asset \"" + w.assets["g1"].ID + "\" is not one of this organization's",
		"rules:\n  - {id: x, kind: nope}\n": `rule 1 (x): kind "nope"`,
		"rules: [{id: x, kind: health}\n":   "check-up rules:",
		"{\"rules\": [{\"id\": \"x\"}]}":    "kind \"\"",
	} {
		r = w.do("acme_admin", "PUT", "/api/v1/checkup-rules", []byte(body))
		require.Equal(t, http.StatusBadRequest, r.code, body)
		require.Contains(t, r.body["error"], want, body)
	}
	r = w.do("acme_admin", "PUT", "/api/v1/checkup-rules", []byte(strings.Repeat("#", 300<<10)))
	require.Equal(t, http.StatusRequestEntityTooLarge, r.code)

	r = w.do("acme_admin", "DELETE", "/api/v1/checkup-rules", nil)
	require.Equal(t, http.StatusNoContent, r.code)
	r = w.do("acme_viewer", "GET", "/api/v1/checkup-rules", nil)
	require.Equal(t, "default", r.body["source"])
	_, err := w.store.CheckupRules(t.Context(), w.orgs["acme"].ID)
	require.ErrorIs(t, err, store.ErrNotFound)

	// Evaluating needs InfluxDB, which this world does not have.
	r = w.do("acme_admin", "POST", "/api/v1/checkups/run", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.code)
	require.NotEmpty(t, r.header.Get("Retry-After"))
}
