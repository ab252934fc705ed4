// Package report makes the reports (inventory, availability, capacity,
// backup) and renders them as CSV (for spreadsheets and scripts) or PDF
// (for a customer meeting). A report starts from a Scope, the viewer's
// visible assets (ResolveScope); each template's builder reads only what
// it needs of the store and the time-series database through a narrow
// interface and returns a Table. The API's handlers and the report
// scheduler call the same builders.
package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
)

// Kind says how a column's values are shown in the PDF; CSV always has
// the raw value, for machines.
type Kind int

const (
	Text    Kind = iota
	Bytes        // an integer count of bytes, shown as GiB/TiB
	Count        // an integer
	Time         // RFC 3339 in CSV, "2006-01-02 15:04 UTC" in the PDF
	Percent      // a float64 from 0 to 100, shown with two decimals and "%"
)

// Column is one column: Key heads the CSV, Label the PDF.
type Column struct {
	Key, Label string
	Kind       Kind
	Width      float64 // share of the PDF page width; 0: an equal share of what is left
}

// Table is a report: a title, what it covers and its rows. A cell is a
// string, an int64, a float64 or a time.Time; nil is empty.
type Table struct {
	Title     string
	Scope     string // e.g. "Acme GmbH, OU Branch" or "all assets you may see"
	Generated time.Time
	Columns   []Column
	Rows      [][]any
}

// Formats are the formats a report is written in.
const (
	CSV = "csv"
	PDF = "pdf"
)

// Write writes t in format (CSV or PDF).
func Write(w io.Writer, t Table, format string) error {
	switch format {
	case CSV:
		return WriteCSV(w, t)
	case PDF:
		return WritePDF(w, t)
	default:
		return fmt.Errorf("unknown report format %q", format)
	}
}

// FileName is the name a report of template made at now is saved or
// mailed under, e.g. kpilot-inventory-2026-11-22.pdf.
func FileName(template, format string, now time.Time) string {
	return "kpilot-" + template + "-" + now.UTC().Format("2006-01-02") + "." + format
}

// WriteCSV writes the table with a header row of column keys.
func WriteCSV(w io.Writer, t Table) error {
	cw := csv.NewWriter(w)
	head := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		head[i] = c.Key
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	rec := make([]string, len(t.Columns))
	for _, row := range t.Rows {
		for i := range t.Columns {
			rec[i] = csvCell(row[i])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvCell(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		// A cell starting with = + - @ is a formula to spreadsheet
		// programs: quote it with a leading apostrophe (OWASP CSV
		// injection), since device names and serials come from devices.
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			return "'" + v
		}
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case time.Time:
		if v.IsZero() {
			return ""
		}
		return v.UTC().Format(time.RFC3339)
	default:
		return fmt.Sprint(v)
	}
}

func pdfCell(c Column, v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case int64:
		if c.Kind == Bytes {
			return humanBytes(v)
		}
		return strconv.FormatInt(v, 10)
	case float64:
		if c.Kind == Percent {
			return strconv.FormatFloat(v, 'f', 2, 64) + " %"
		}
		return strconv.FormatFloat(v, 'f', 1, 64)
	case time.Time:
		if v.IsZero() {
			return ""
		}
		return v.UTC().Format("2006-01-02 15:04 UTC")
	default:
		return fmt.Sprint(v)
	}
}

func humanBytes(n int64) string {
	const gib = 1 << 30
	switch {
	case n >= 1<<40:
		return strconv.FormatFloat(float64(n)/(1<<40), 'f', 1, 64) + " TiB"
	case n >= gib:
		return strconv.FormatFloat(float64(n)/gib, 'f', 1, 64) + " GiB"
	default:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 0, 64) + " MiB"
	}
}

// font is the family of the PDF's text: the Go fonts, embedded (the
// characters used only), which cover the Latin, Greek and Cyrillic
// scripts — names like Łódź, Plzeň or Москва print as written.
const font = "go"

// WritePDF lays the table out on A4 landscape pages with the title, scope
// and time on top, the header repeated on each page and page numbers.
func WritePDF(w io.Writer, t Table) error {
	pdf := fpdf.New("L", "mm", "A4", "")
	pdf.SetTitle(t.Title, true)
	pdf.SetCreator("kpilot", true)
	pdf.SetMargins(10, 12, 10)
	pdf.SetAutoPageBreak(true, 14)
	pdf.AddUTF8FontFromBytes(font, "", goregular.TTF)
	pdf.AddUTF8FontFromBytes(font, "B", gobold.TTF)
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("loading the PDF font: %w", err)
	}
	pageW, _ := pdf.GetPageSize()
	left, _, right, _ := pdf.GetMargins()
	usable := pageW - left - right
	widths := columnWidths(t.Columns, usable)

	header := func() {
		pdf.SetFont(font, "B", 8)
		pdf.SetFillColor(230, 233, 238)
		for i, c := range t.Columns {
			pdf.CellFormat(widths[i], 6, c.Label, "1", 0, "L", true, 0, "")
		}
		pdf.Ln(-1)
		pdf.SetFont(font, "", 8)
	}
	pdf.SetFooterFunc(func() {
		pdf.SetY(-10)
		pdf.SetFont(font, "", 7)
		pdf.CellFormat(0, 5, fmt.Sprintf("%s · page %d/{nb}", t.Title, pdf.PageNo()), "", 0, "R", false, 0, "")
	})
	pdf.AliasNbPages("")
	pdf.AddPage()
	pdf.SetFont(font, "B", 14)
	pdf.CellFormat(0, 8, t.Title, "", 1, "L", false, 0, "")
	pdf.SetFont(font, "", 9)
	pdf.CellFormat(0, 5, fmt.Sprintf("%s · %d assets · generated %s", t.Scope, len(t.Rows),
		t.Generated.UTC().Format("2006-01-02 15:04 UTC")), "", 1, "L", false, 0, "")
	pdf.Ln(3)
	header()
	_, pageH := pdf.GetPageSize()
	for _, row := range t.Rows {
		if pdf.GetY()+5 > pageH-14 {
			pdf.AddPage()
			header()
		}
		for i, c := range t.Columns {
			text := fit(pdf, pdfCell(c, row[i]), widths[i]-2)
			align := "L"
			if c.Kind == Bytes || c.Kind == Count {
				align = "R"
			}
			pdf.CellFormat(widths[i], 5, text, "1", 0, align, false, 0, "")
		}
		pdf.Ln(-1)
	}
	if len(t.Rows) == 0 {
		pdf.CellFormat(0, 6, "No assets.", "", 1, "L", false, 0, "")
	}
	return pdf.Output(w)
}

// fit cuts text to width, marked with "…" where it was cut, at a
// character boundary.
func fit(pdf *fpdf.Fpdf, text string, width float64) string {
	if pdf.GetStringWidth(text) <= width {
		return text
	}
	r := []rune(text)
	for len(r) > 1 && pdf.GetStringWidth(string(r)+"…") > width {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

func columnWidths(cols []Column, usable float64) []float64 {
	out := make([]float64, len(cols))
	var fixed float64
	free := 0
	for i, c := range cols {
		out[i] = c.Width * usable
		fixed += out[i]
		if c.Width == 0 {
			free++
		}
	}
	for i, c := range cols {
		if c.Width == 0 {
			out[i] = (usable - fixed) / float64(free)
		}
	}
	return out
}
