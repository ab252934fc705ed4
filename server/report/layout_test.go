package report

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReportsCutNothing lays out every report kind with its own columns
// and the longest values it meets (names of 90 characters, words that do
// not fit a column, UUIDs, large numbers): the columns fit the page, every
// character of every cell is printed (text wraps, numbers and times stay
// on one line) and values are in human units. Inventory and capacity
// have a byte column, which shows GiB; availability and backup have
// none and show durations, percentages and dates.
func TestReportsCutNothing(t *testing.T) {
	long := "Rechenzentrum Frankfurt am Main, Halle 3, Reihe 12 – Kunde Müller Großhandel GmbH & Co. KG"
	word := "Hyperconverged-Cluster-Node-0042-Frankfurt-am-Main-Halle-3" // no space to wrap at
	id := "0b7c1f5e-0000-4000-8000-000000000001"
	t0 := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	for _, tt := range []struct {
		name    string
		columns []Column
		row     []any
		want    []string // values as the PDF shows them
	}{
		{"inventory", inventoryColumns, []any{long, "Niederlassung " + long, id, word, "server", "Hewlett Packard Enterprise",
			"ProLiant DL380 Gen10 Plus 8SFF CTO Server", "CZJ1234567890ABCDEF", "U46 v2.72 (03/14/2024) iLO 5 v3.01",
			int64(256), int64(768) << 30, "active", t0},
			[]string{"768.0 GiB", "256", "2026-11-22 09:30 UTC"}},
		{"availability", availabilityColumns, []any{long, "OU " + long, id, word, "server", 99.983, 2160.0, 31.5, 12.0, int64(12345), 125.0, int64(3), 1.5, 48.0, 1999.5},
			[]string{"99.98 %", "90 d", "31.5 min", "12345", "2.1 h", "1.5 h", "2 d", "83.3 d"}},
		{"capacity", capacityColumns, []any{long, id, word, "storage", "storage " + long, int64(500) << 30, 59.75, 50.5, 99.99, 1.0, 40.3},
			[]string{"500.0 GiB", "59.75 %", "99.99 %", "1 %", "40.3 d"}},
		{"backup", backupColumns, []any{long, id, word, "Nightly " + long, "failed", t0, t0.Add(-48 * time.Hour), int64(365), int64(12), 96.71},
			[]string{"2026-11-22 09:30 UTC", "2026-11-20 09:30 UTC", "365", "96.71 %"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Len(t, tt.row, len(tt.columns))
			tb := Table{Title: tt.name, Scope: "all assets you may see", Generated: t0, Columns: tt.columns, Rows: [][]any{tt.row, tt.row}}
			pdf, err := newPDF(tb.Title)
			require.NoError(t, err)
			usable := usableWidth(pdf)
			l := layOut(pdf, tb, usable)
			sum := 0.0
			for _, w := range l.widths {
				sum += w
			}
			require.InDelta(t, usable, sum, 0.01, "the columns fill the page and no more")
			pad := 2 * pdf.GetCellMargin()
			var shown []string
			for i, c := range tb.Columns {
				pdf.SetFont(font, "", fontSize)
				text := pdfCell(c, tt.row[i])
				lines := l.rows[0][i]
				require.Equal(t, strings.ReplaceAll(text, " ", ""), strings.ReplaceAll(strings.Join(lines, ""), " ", ""),
					"column %s: every character is printed", c.Key)
				for _, line := range lines {
					require.LessOrEqual(t, pdf.GetStringWidth(line), l.widths[i]-pad+1e-6, "column %s: %q fits", c.Key, line)
				}
				if c.Kind != Text {
					require.Len(t, lines, 1, "column %s: a number or time is not broken", c.Key)
				}
				pdf.SetFont(font, "B", fontSize)
				for _, line := range l.header[i] {
					require.LessOrEqual(t, pdf.GetStringWidth(line), l.widths[i]-pad+1e-6, "header %s fits", c.Label)
				}
				shown = append(shown, text)
			}
			for _, w := range tt.want {
				require.Contains(t, shown, w)
			}

			// The PDF as a reader sees it: every line of every cell, and
			// no mark of a cut.
			if _, err := exec.LookPath("pdftotext"); err != nil {
				if os.Getenv("KPILOT_REQUIRE_ENV") == "1" {
					t.Fatal("pdftotext is not installed (make deps installs poppler-utils)")
				}
				t.Skip("pdftotext is not installed")
			}
			var buf bytes.Buffer
			require.NoError(t, WritePDF(&buf, tb))
			dir := t.TempDir()
			if a := os.Getenv("KPILOT_ARTIFACTS"); a != "" {
				dir = filepath.Join(a, "reports")
				require.NoError(t, os.MkdirAll(dir, 0o755))
			}
			path := filepath.Join(dir, tt.name+"-worst-case.pdf")
			require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
			out, err := exec.Command("pdftotext", "-raw", path, "-").Output()
			require.NoError(t, err)
			for i := range tb.Columns {
				for _, line := range l.rows[0][i] {
					require.Contains(t, string(out), line)
				}
			}
			for _, w := range tt.want {
				require.Contains(t, string(out), w)
			}
			require.NotContains(t, string(out), "…")
		})
	}
}

func TestWrap(t *testing.T) {
	pdf, err := newPDF("t")
	require.NoError(t, err)
	pdf.SetFont(font, "", fontSize)
	for _, tt := range []struct {
		name, text string
		width      float64
		want       []string
	}{
		{"fits", "Acme NAS", 100, []string{"Acme NAS"}},
		{"at spaces", "Server 001 in Rechenzentrum Köln", 25, []string{"Server 001 in", "Rechenzentrum", "Köln"}},
		{"a long word at characters", "SN-XXXXXXXXXXXXXXXXXXXX", 10, []string{"SN-XX", "XXXXX", "XXXXX", "XXXXX", "XXX"}},
		{"one wide character", "W", 0.5, []string{"W"}},
		{"empty", "", 10, []string{""}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, wrap(pdf, tt.text, tt.width))
		})
	}
}
