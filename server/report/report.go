// Package report makes the reports (inventory, availability, capacity,
// backup) and renders them as CSV (for spreadsheets and scripts) or PDF
// (for a customer meeting). A report starts from a Scope, the viewer's
// visible assets (ResolveScope); each template's builder reads only what
// it needs of the store and the time-series database through a narrow
// interface and returns a Table. The API's handlers and the report
// scheduler call the same builders.
package report

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/kpilot/kpilot/internal/catalog"
)

// Kind says how a column's values are shown in the PDF; CSV always has
// the raw value, for machines.
type Kind int

// Kinds of columns.
const (
	Text     Kind = iota // left-aligned, wrapped at spaces when too long
	Count                // an integer
	Time                 // RFC 3339 in CSV, "2006-01-02 15:04 UTC" in the PDF
	Quantity             // a number in the column's Unit, in human units in the PDF (catalog.Format)
)

// Column is one column: Key heads the CSV, Label the PDF.
type Column struct {
	Key, Label string
	Kind       Kind
	// Unit is a Quantity's unit. Scale turns the CSV value into that
	// unit's base unit for the PDF (3600 for a column of hours shown as
	// a duration); 0 means 1.
	Unit  catalog.Unit
	Scale float64
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

// lang is the language reports are written in.
const lang = "en"

// pdfCell is a cell as the PDF shows it: quantities and times in human
// units, by the same catalog.Format the portal uses.
func pdfCell(c Column, v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case time.Time:
		if v.IsZero() {
			return ""
		}
		return catalog.Format(float64(v.Unix()), catalog.Timestamp, lang)
	case int64:
		if c.Kind != Quantity {
			return strconv.FormatInt(v, 10)
		}
		return catalog.Format(float64(v)*cmp.Or(c.Scale, 1), c.Unit, lang)
	case float64:
		if c.Kind != Quantity {
			return catalog.Format(v, catalog.None, lang)
		}
		return catalog.Format(v*cmp.Or(c.Scale, 1), c.Unit, lang)
	default:
		return fmt.Sprint(v)
	}
}

// font is the family of the PDF's text: the Go fonts, embedded (the
// characters used only), which cover the Latin, Greek and Cyrillic
// scripts — names like Łódź, Plzeň or Москва print as written.
const font = "go"

// PDF layout, in millimetres and points.
const (
	fontSize   = 8.0
	lineHeight = 3.6 // of one line of a cell
	cellPad    = 0.7 // above and below a cell's lines
	minText    = 14  // a text column is not squeezed narrower (unless its text is)
)

// WritePDF lays the table out on A4 landscape pages with the title, scope
// and time on top, the header repeated on each page and page numbers.
// Columns are as wide as their content; when the page is too narrow for
// all of it, text wraps onto more lines. Nothing is cut.
func WritePDF(w io.Writer, t Table) error {
	pdf, err := newPDF(t.Title)
	if err != nil {
		return err
	}
	_, pageH := pdf.GetPageSize()
	left, _, _, _ := pdf.GetMargins()
	const bottom = 14.0
	l := layOut(pdf, t, usableWidth(pdf))

	var row func(lines [][]string, style string, fill bool)
	row = func(lines [][]string, style string, fill bool) {
		h := rowHeight(lines)
		if pdf.GetY()+h > pageH-bottom {
			pdf.AddPage()
			if style == "" {
				row(l.header, "B", true)
			}
		}
		pdf.SetFont(font, style, fontSize)
		x, y := left, pdf.GetY()
		for i, c := range t.Columns {
			border := "D"
			if fill {
				border = "FD"
			}
			pdf.Rect(x, y, l.widths[i], h, border)
			align := "L"
			if style == "" && (c.Kind == Quantity || c.Kind == Count) {
				align = "R"
			}
			for k, line := range lines[i] {
				pdf.SetXY(x, y+cellPad+float64(k)*lineHeight)
				pdf.CellFormat(l.widths[i], lineHeight, line, "", 0, align, false, 0, "")
			}
			x += l.widths[i]
		}
		pdf.SetXY(left, y+h)
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
	pdf.MultiCell(0, 5, fmt.Sprintf("%s · %d assets · generated %s", t.Scope, len(t.Rows),
		t.Generated.UTC().Format("2006-01-02 15:04 UTC")), "", "L", false)
	pdf.Ln(3)
	pdf.SetFillColor(230, 233, 238)
	row(l.header, "B", true)
	for _, cells := range l.rows {
		row(cells, "", false)
	}
	if len(t.Rows) == 0 {
		pdf.SetFont(font, "", fontSize)
		pdf.CellFormat(0, 6, "No assets.", "", 1, "L", false, 0, "")
	}
	return pdf.Output(w)
}

// newPDF is an A4 landscape document with the fonts loaded.
func newPDF(title string) (*fpdf.Fpdf, error) {
	pdf := fpdf.New("L", "mm", "A4", "")
	pdf.SetTitle(title, true)
	pdf.SetCreator("kpilot", true)
	pdf.SetMargins(10, 12, 10)
	pdf.SetAutoPageBreak(false, 14) // WritePDF breaks pages itself, between rows
	pdf.AddUTF8FontFromBytes(font, "", goregular.TTF)
	pdf.AddUTF8FontFromBytes(font, "B", gobold.TTF)
	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("loading the PDF font: %w", err)
	}
	return pdf, nil
}

// usableWidth is the width of a page between its margins.
func usableWidth(pdf *fpdf.Fpdf) float64 {
	pageW, _ := pdf.GetPageSize()
	left, _, right, _ := pdf.GetMargins()
	return pageW - left - right
}

// layout is a table sized for the page: each column's width, and the
// lines of each header and body cell.
type layout struct {
	widths []float64
	header [][]string   // per column
	rows   [][][]string // per row and column
}

// layOut sizes the columns of t to fill usable: each as wide as its
// widest cell when that fits; otherwise the narrowest columns keep their
// width and the widest share what is left, down to a minimum (numbers,
// times and single words of a header are never broken), and their text
// wraps: at spaces, and inside a word only when the word alone is wider
// than the column.
func layOut(pdf *fpdf.Fpdf, t Table, usable float64) layout {
	pad := 2 * pdf.GetCellMargin()
	texts := make([][]string, len(t.Rows))
	for r, row := range t.Rows {
		texts[r] = make([]string, len(t.Columns))
		for i, c := range t.Columns {
			texts[r][i] = pdfCell(c, row[i])
		}
	}
	natural := make([]float64, len(t.Columns))
	least := make([]float64, len(t.Columns))
	for i, c := range t.Columns {
		pdf.SetFont(font, "B", fontSize)
		head, word := pdf.GetStringWidth(c.Label), 0.0
		for _, w := range strings.Fields(c.Label) {
			word = max(word, pdf.GetStringWidth(w))
		}
		pdf.SetFont(font, "", fontSize)
		widest := 0.0
		for r := range texts {
			widest = max(widest, pdf.GetStringWidth(texts[r][i]))
		}
		natural[i] = max(head, widest) + pad
		if c.Kind == Text {
			least[i] = min(natural[i], max(word+pad, minText))
		} else {
			least[i] = max(word, widest) + pad
		}
	}
	widths := fill(natural, least, usable)
	l := layout{widths: widths, header: make([][]string, len(t.Columns)), rows: make([][][]string, len(t.Rows))}
	pdf.SetFont(font, "B", fontSize)
	for i, c := range t.Columns {
		l.header[i] = wrap(pdf, c.Label, widths[i]-pad)
	}
	pdf.SetFont(font, "", fontSize)
	for r := range texts {
		l.rows[r] = make([][]string, len(t.Columns))
		for i := range t.Columns {
			l.rows[r][i] = wrap(pdf, texts[r][i], widths[i]-pad)
		}
	}
	return l
}

// fill returns widths that add up to usable: the natural ones, widened
// in proportion when there is room to spare, else each column's natural
// width up to a common level (found by bisection) and at least its
// least. When even the least widths do not fit, they are what it gets.
func fill(natural, least []float64, usable float64) []float64 {
	out := make([]float64, len(natural))
	sum := func(level float64) float64 {
		s := 0.0
		for i := range natural {
			out[i] = max(least[i], min(natural[i], level))
			s += out[i]
		}
		return s
	}
	total := 0.0
	for _, n := range natural {
		total += n
	}
	if total <= usable {
		for i, n := range natural {
			out[i] = n * usable / total
		}
		return out
	}
	lo, hi := 0.0, usable
	for range 60 {
		mid := (lo + hi) / 2
		if sum(mid) > usable {
			hi = mid
		} else {
			lo = mid
		}
	}
	sum(lo)
	return out
}

// wrap breaks text into lines no wider than width: at spaces, and a word
// wider than width at characters. The lines hold every character of
// text but the spaces they were broken at.
func wrap(pdf *fpdf.Fpdf, text string, width float64) []string {
	width += 1e-6 // a column as wide as its widest cell holds it, rounding or not
	if pdf.GetStringWidth(text) <= width {
		return []string{text}
	}
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && pdf.GetStringWidth(line+" "+word) <= width {
			line += " " + word
			continue
		}
		if line != "" {
			lines = append(lines, line)
		}
		line = ""
		for pdf.GetStringWidth(word) > width {
			r := []rune(word)
			n := max(1, len(r)-1)
			for n > 1 && pdf.GetStringWidth(string(r[:n])) > width {
				n--
			}
			lines = append(lines, string(r[:n]))
			word = string(r[n:])
		}
		line = word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// rowHeight is the height of a row whose cells have lines.
func rowHeight(lines [][]string) float64 {
	n := 1
	for _, c := range lines {
		n = max(n, len(c))
	}
	return float64(n)*lineHeight + 2*cellPad
}
