package catalog

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Markdown renders the catalog as the reference list of
// docs/kpi-catalog.md: the key figures of each asset category, then every
// measurement with a table of its fields.
func (c *Catalog) Markdown() string {
	var b strings.Builder
	b.WriteString("### Key figures by asset category\n\n")
	b.WriteString("| Category | Key figures, by rank |\n| --- | --- |\n")
	for _, cat := range categories {
		var names []string
		for _, d := range c.KeyFigures(cat) {
			names = append(names, fmt.Sprintf("`%s.%s` %s", d.Measurement, d.Field, cell(d.Name.EN)))
		}
		if len(names) == 0 {
			names = []string{"–"}
		}
		fmt.Fprintf(&b, "| %s | %s |\n", cat, strings.Join(names, ", "))
	}
	byM := map[string][]Definition{}
	for _, d := range c.Definitions() {
		byM[d.Measurement] = append(byM[d.Measurement], d)
	}
	for _, m := range slices.Sorted(maps.Keys(byM)) {
		info, _ := c.MeasurementInfo(m)
		fmt.Fprintf(&b, "\n### `%s`", m)
		if info.Name.EN != "" {
			fmt.Fprintf(&b, ": %s", texts(info.Name))
		}
		b.WriteString("\n\n")
		if info.Description.EN != "" {
			fmt.Fprintf(&b, "%s\n\n", cell(info.Description.EN))
		}
		b.WriteString("| Field | Name (en / de) | Unit | Kind | Key figure of | Thresholds | Class |\n")
		b.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
		for _, d := range byM[m] {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s |\n",
				d.Field, texts(d.Name), unitCell(d), kindCell(d), keyCell(d.Key), thresholdCell(d.Thresholds), d.Class)
		}
	}
	return b.String()
}

// texts is "English / German", or the English text alone.
func texts(t Text) string {
	if t.DE == "" || t.DE == t.EN {
		return cell(t.EN)
	}
	return cell(t.EN) + " / " + cell(t.DE)
}

// cell escapes what would end a table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func unitCell(d Definition) string {
	s := string(d.Unit)
	if s == "" {
		s = "–"
	}
	if d.Kind == Counter {
		s += fmt.Sprintf(" (rate `%s%s`: %s)", d.Field, rateSuffix, RateUnit(d.Unit))
	}
	return s
}

func kindCell(d Definition) string {
	if d.Kind != State {
		return string(d.Kind)
	}
	var states []string
	for _, v := range slices.Sorted(maps.Keys(d.States)) {
		s := d.States[v]
		states = append(states, fmt.Sprintf("%d %s (%s)", v, texts(s.Name), s.Severity))
	}
	if d.Health != nil && !*d.Health {
		return "state (not health): " + strings.Join(states, ", ")
	}
	return "state: " + strings.Join(states, ", ")
}

func keyCell(key map[string]int) string {
	if len(key) == 0 {
		return ""
	}
	var out []string
	for _, cat := range categories {
		if r, ok := key[cat]; ok {
			out = append(out, fmt.Sprintf("%s %d", cat, r))
		}
	}
	return strings.Join(out, ", ")
}

func thresholdCell(t *Thresholds) string {
	if t == nil {
		return ""
	}
	op := "≥"
	if t.Below {
		op = "≤"
	}
	var out []string
	if t.Warning != nil {
		out = append(out, fmt.Sprintf("warning %s %g", op, *t.Warning))
	}
	if t.Critical != nil {
		out = append(out, fmt.Sprintf("critical %s %g", op, *t.Critical))
	}
	return strings.Join(out, ", ")
}
