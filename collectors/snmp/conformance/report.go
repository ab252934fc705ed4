package conformance

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Targets are issue 33's aims: the share of comparable values found
// overall, in every sensor class and in identity, in percent.
const (
	TargetOverall     = 95.0
	TargetSensorClass = 90.0
	TargetIdentity    = 95.0
)

// Overall is the report's key for all comparable values together.
const Overall = "overall"

// Report is the results of every device.
type Report struct {
	Devices []Result
}

// Totals returns found of expected per class, per group (under the
// group's name with " (all)", for example "sensors (all)") and overall
// (under Overall).
func (r Report) Totals() map[string]Count {
	out := map[string]Count{}
	for _, d := range r.Devices {
		for class, c := range d.Counts {
			for _, k := range []string{class, Group(class) + " (all)", Overall} {
				t := out[k]
				t.Add(c)
				out[k] = t
			}
		}
	}
	return out
}

// NotComparable returns per class what LibreNMS expects that the
// recordings do not hold.
func (r Report) NotComparable() map[string]int {
	out := map[string]int{}
	for _, d := range r.Devices {
		for class, n := range d.NotComparable {
			out[class] += n
		}
	}
	return out
}

// Target returns the target for a key of Totals, 0 where the issue sets
// none (memory pools, processors and storage count only towards the
// overall figure).
func Target(key string) float64 {
	switch {
	case key == Overall:
		return TargetOverall
	case key == GroupIdentity+" (all)":
		return TargetIdentity
	case strings.HasSuffix(key, " (all)"):
		return 0
	case Group(key) == GroupSensors:
		return TargetSensorClass
	}
	return 0
}

// Keys returns the keys of Totals in report order: sensor classes, the
// sensors' total, then the other groups, each followed by its total,
// and the overall figure last.
func (r Report) Keys() []string {
	totals := r.Totals()
	classes := maps.Clone(totals)
	for k := range r.NotComparable() {
		classes[k] = Count{}
	}
	var out []string
	for _, g := range []string{GroupSensors, GroupMempools, GroupProcessors, GroupStorage, GroupIdentity} {
		for _, k := range slices.Sorted(maps.Keys(classes)) {
			if !strings.HasSuffix(k, " (all)") && k != Overall && Group(k) == g {
				out = append(out, k)
			}
		}
		if _, ok := totals[g+" (all)"]; ok {
			out = append(out, g+" (all)")
		}
	}
	return append(out, Overall)
}

// WriteDevices writes one line per device: its found/expected per class
// and in all.
func (r Report) WriteDevices(w io.Writer) error {
	for _, d := range r.Devices {
		var all Count
		var parts []string
		for _, class := range slices.Sorted(maps.Keys(d.Counts)) {
			c := d.Counts[class]
			all.Add(c)
			parts = append(parts, fmt.Sprintf("%s %d/%d", class, c.Found, c.Expected))
		}
		if _, err := fmt.Fprintf(w, "%-34s %4d/%-4d %5.1f%%  %s\n", d.Device, all.Found, all.Expected, all.Percent(), strings.Join(parts, ", ")); err != nil {
			return err
		}
	}
	return nil
}

// WriteTable writes found/expected per class with the floor (the
// ratchet the test holds) and the target beside each figure.
func (r Report) WriteTable(w io.Writer, floors map[string]float64) error {
	totals, nc := r.Totals(), r.NotComparable()
	if _, err := fmt.Fprintf(w, "%-18s %6s / %-6s %7s %6s %7s %s\n", "class", "found", "comp.", "%", "floor", "target", "not comparable"); err != nil {
		return err
	}
	for _, k := range r.Keys() {
		c := totals[k]
		target := "-"
		if t := Target(k); t > 0 {
			target = fmt.Sprintf("%.0f%%", t)
		}
		floor := "-"
		if f, ok := floors[k]; ok {
			floor = fmt.Sprintf("%.0f%%", f)
		}
		notComp := ""
		if n := nc[k]; n > 0 {
			notComp = fmt.Sprint(n)
		}
		pct := "-"
		if c.Expected > 0 {
			pct = fmt.Sprintf("%.1f%%", c.Percent())
		}
		line := fmt.Sprintf("%-18s %6d / %-6d %7s %6s %7s %s", k, c.Found, c.Expected, pct, floor, target, notComp)
		if _, err := fmt.Fprintln(w, strings.TrimRight(line, " ")); err != nil {
			return err
		}
	}
	return nil
}

// Summary is the report in machine-readable form for later sessions:
// per key of Totals the figures, floor and target, and every device's
// counts and misses.
type Summary struct {
	Classes map[string]ClassSummary `json:"classes"`
	Devices []Result                `json:"devices"`
}

// ClassSummary is one line of the report's table.
type ClassSummary struct {
	Count
	Percent       float64 `json:"percent"`
	Floor         float64 `json:"floor"`
	Target        float64 `json:"target,omitempty"`
	NotComparable int     `json:"not_comparable,omitempty"`
}

// Summary returns the report with the floors the test holds.
func (r Report) Summary(floors map[string]float64) Summary {
	s := Summary{Classes: map[string]ClassSummary{}, Devices: r.Devices}
	nc := r.NotComparable()
	for k, c := range r.Totals() {
		s.Classes[k] = ClassSummary{Count: c, Percent: c.Percent(), Floor: floors[k], Target: Target(k), NotComparable: nc[k]}
	}
	return s
}
