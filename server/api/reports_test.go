package api_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func csvRows(t *testing.T, r reply) []map[string]string {
	t.Helper()
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	require.Equal(t, "text/csv; charset=utf-8", r.header.Get("Content-Type"))
	recs, err := csv.NewReader(bytes.NewReader(r.raw)).ReadAll()
	require.NoError(t, err)
	var rows []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, k := range recs[0] {
			row[k] = rec[i]
		}
		rows = append(rows, row)
	}
	return rows
}

// pdfText extracts a PDF's text with poppler's pdftotext, an independent
// reader.
func pdfText(t *testing.T, r reply) string {
	t.Helper()
	require.Equal(t, http.StatusOK, r.code, "%s", r.raw)
	require.Equal(t, "application/pdf", r.header.Get("Content-Type"))
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("KPILOT_REQUIRE_ENV") == "1" {
			t.Fatal("pdftotext is not installed (make deps installs poppler-utils)")
		}
		t.Skip("pdftotext is not installed")
	}
	path := filepath.Join(t.TempDir(), "report.pdf")
	require.NoError(t, os.WriteFile(path, r.raw, 0o600))
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	require.NoError(t, err)
	return string(out)
}

// Every caller's inventory report holds exactly the assets GET /assets
// gives it: the other tenant's, the revoked partner's and the viewer's
// reports are cut by the same visibility rules.
func TestInventoryReportVisibility(t *testing.T) {
	w := newWorld(t)
	for _, c := range callers[1:] {
		list := w.do(c, "GET", "/api/v1/assets", nil)
		require.Equal(t, http.StatusOK, list.code)
		var want []string
		for _, a := range list.body["assets"].([]any) {
			want = append(want, a.(map[string]any)["id"].(string))
		}
		var got []string
		for _, row := range csvRows(t, w.do(c, "GET", "/api/v1/reports/inventory", nil)) {
			got = append(got, row["asset_id"])
		}
		require.ElementsMatch(t, want, got, c)
	}
	require.Equal(t, http.StatusUnauthorized, w.do("anonymous", "GET", "/api/v1/reports/inventory", nil).code)

	// The revoked reseller R4 sees nothing of Acme's, in either format.
	text := pdfText(t, w.do("r4_admin", "GET", "/api/v1/reports/inventory?format=pdf", nil))
	require.NotContains(t, text, "Acme")
	require.Contains(t, text, "No assets.")
}

func TestInventoryReportContent(t *testing.T) {
	w := newWorld(t)
	branch := w.assets["a_branch"]
	doc := []byte(`{"asset":"nas","attributes":{"model":"DS920+","os_version":"DSM 7.2.1","cpu_count":4,"memory_bytes":8589934592}}`)
	_, err := w.store.PutInventory(t.Context(), branch.ID, time.Now(), doc, nil)
	require.NoError(t, err)

	// acme_admin's whole tree; the branch OU alone; one asset.
	rows := csvRows(t, w.do("acme_admin", "GET", "/api/v1/reports/inventory?format=csv", nil))
	i := slices.IndexFunc(rows, func(r map[string]string) bool { return r["asset_id"] == branch.ID })
	require.GreaterOrEqual(t, i, 0)
	nas := rows[i]
	require.Equal(t, "Acme NAS", nas["asset"])
	require.Equal(t, "Branch", nas["ou"])
	require.Equal(t, "DSM 7.2.1", nas["version"])
	require.Equal(t, "4", nas["cpu_count"])
	require.Equal(t, "8589934592", nas["memory_bytes"])
	require.Equal(t, "unknown", nas["status"], "never polled")

	rows = csvRows(t, w.do("acme_admin", "GET", "/api/v1/reports/inventory?ou_id="+w.branch.ID, nil))
	require.Len(t, rows, 1)
	require.Equal(t, branch.ID, rows[0]["asset_id"])

	text := pdfText(t, w.do("s1_admin", "GET", "/api/v1/reports/inventory?format=pdf&asset_id="+branch.ID, nil))
	for _, want := range []string{"Inventory report", "Asset Acme NAS", "1 assets", "Acme NAS", "DSM 7.2.1", "8.0 GiB"} {
		require.Contains(t, text, want)
	}
	require.NotContains(t, text, "Acme ESX", "S1 does not see a_root")

	// Refusals name nothing: another tenant's asset or OU, an unknown format.
	for _, c := range []struct {
		caller, query string
		code          int
	}{
		{"acme_admin", "?asset_id=" + w.assets["g1"].ID, http.StatusNotFound},
		{"globex_admin", "?ou_id=" + w.branch.ID, http.StatusNotFound},
		{"r1_admin", "?asset_id=" + branch.ID, http.StatusNotFound},
		{"acme_viewer", "?format=xlsx", http.StatusBadRequest},
	} {
		r := w.do(c.caller, "GET", "/api/v1/reports/inventory"+c.query, nil)
		require.Equal(t, c.code, r.code, "%s %s: %s", c.caller, c.query, r.raw)
		require.Len(t, r.body, 1)
	}
}

// A device name that a spreadsheet would run as a formula is written as
// text.
func TestInventoryReportCSVInjection(t *testing.T) {
	w := newWorld(t)
	r := w.do("acme_admin", "POST", "/api/v1/assets", map[string]any{"name": `=HYPERLINK("http://evil.example","x")`, "category": "storage"})
	require.Equal(t, http.StatusCreated, r.code, "%s", r.raw)
	rows := csvRows(t, w.do("acme_admin", "GET", "/api/v1/reports/inventory", nil))
	i := slices.IndexFunc(rows, func(r map[string]string) bool { return r["category"] == "storage" && r["asset"] != "Acme NAS" })
	require.GreaterOrEqual(t, i, 0)
	require.Equal(t, `'=HYPERLINK("http://evil.example","x")`, rows[i]["asset"])
}
