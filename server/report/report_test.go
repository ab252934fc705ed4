package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/catalog"
)

func sample(n int) Table {
	t := Table{Title: "Inventory report", Scope: "Kunde Müller GmbH", Generated: time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC),
		Columns: []Column{{Key: "asset", Label: "Asset"}, {Key: "serial", Label: "Serial"},
			{Key: "memory_bytes", Label: "Memory", Kind: Quantity, Unit: catalog.Bytes}, {Key: "cpu_count", Label: "CPUs", Kind: Count},
			{Key: "last_poll_at", Label: "Last poll", Kind: Time}}}
	for i := range n {
		t.Rows = append(t.Rows, []any{fmt.Sprintf("Server %03d in Rechenzentrum Köln", i), "SN-" + strings.Repeat("X", i%3*40),
			int64(i+1) << 30, int64(i % 8), time.Date(2026, 11, 22, 9, i%60, 0, 0, time.UTC)})
	}
	return t
}

func TestWriteCSV(t *testing.T) {
	tb := sample(2)
	tb.Rows = append(tb.Rows, []any{"-cmd|' /C calc'!A0", nil, nil, nil, time.Time{}})
	var buf bytes.Buffer
	require.NoError(t, WriteCSV(&buf, tb))
	recs, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"asset", "serial", "memory_bytes", "cpu_count", "last_poll_at"}, recs[0])
	require.Equal(t, []string{"Server 001 in Rechenzentrum Köln", "SN-" + strings.Repeat("X", 40), "2147483648", "1", "2026-11-22T09:01:00Z"}, recs[2])
	require.Equal(t, []string{"'-cmd|' /C calc'!A0", "", "", "", ""}, recs[3], "formula cells are text; empty cells stay empty")
}

// Text extracted from the PDF by poppler's pdftotext: title, scope with
// umlauts, formatted values, the header and page number on every page,
// and long cells whole.
func TestWritePDF(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("KPILOT_REQUIRE_ENV") == "1" {
			t.Fatal("pdftotext is not installed (make deps installs poppler-utils)")
		}
		t.Skip("pdftotext is not installed")
	}
	var buf bytes.Buffer
	require.NoError(t, WritePDF(&buf, sample(60)))
	dir := t.TempDir()
	if a := os.Getenv("KPILOT_ARTIFACTS"); a != "" {
		dir = filepath.Join(a, "reports")
		require.NoError(t, os.MkdirAll(dir, 0o755))
	}
	path := filepath.Join(dir, "inventory-sample.pdf")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	require.NoError(t, err)
	pages := strings.Split(string(out), "\f")
	pages = pages[:len(pages)-1] // after the last form feed
	require.Len(t, pages, 2, "60 rows take two pages")
	require.Contains(t, pages[0], "Kunde Müller GmbH · 60 assets · generated 2026-11-22 09:30 UTC")
	for i, p := range pages {
		require.Contains(t, p, "Asset", "header on page %d", i+1)
		require.Contains(t, p, fmt.Sprintf("Inventory report · page %d/2", i+1))
	}
	require.Contains(t, pages[0], "Server 001 in Rechenzentrum Köln")
	require.Contains(t, pages[0], "2.0 GiB")
	require.Contains(t, pages[0], "2026-11-22 09:01 UTC")
	require.Contains(t, pages[1], "Server 059")
	require.Contains(t, string(out), "SN-"+strings.Repeat("X", 80), "a long serial is whole")
	require.NotContains(t, string(out), "…", "nothing is cut")
}

// Names beyond Western European letters print as written, not as "?":
// Central European, Greek and Cyrillic ones.
func TestWritePDFScripts(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("KPILOT_REQUIRE_ENV") == "1" {
			t.Fatal("pdftotext is not installed (make deps installs poppler-utils)")
		}
		t.Skip("pdftotext is not installed")
	}
	names := []string{"Łódź Świętochłowice", "Škoda Plzeň", "Győr Nyúl Őrség", "Αθήνα", "Москва ЦОД", "İzmir Ağ"}
	tb := Table{Title: "Inventory report", Scope: "Klient Żółć sp. z o.o.", Generated: time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC),
		Columns: []Column{{Key: "asset", Label: "Asset"}, {Key: "serial", Label: "Seriennummer"}}}
	for _, n := range names {
		tb.Rows = append(tb.Rows, []any{n, "SN-" + n})
	}
	var buf bytes.Buffer
	require.NoError(t, WritePDF(&buf, tb))
	path := filepath.Join(t.TempDir(), "scripts.pdf")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	require.NoError(t, err)
	require.Contains(t, string(out), "Klient Żółć sp. z o.o.")
	for _, n := range names {
		require.Contains(t, string(out), n)
	}
	require.NotContains(t, string(out), "?")
	require.Less(t, buf.Len(), 200<<10, "the font is embedded with the characters used only")
}
