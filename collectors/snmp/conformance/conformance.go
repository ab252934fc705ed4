// Package conformance scores what the SNMP collector reads from a device
// recording against LibreNMS's expected results for the same recording
// (../shared/testdata/snmp): sensors by class, memory pools, processors,
// storage and identity. docs/snmp.md says what counts as comparable and
// how values are matched; the report is built by TestConformance in
// collectors/snmp.
package conformance

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strings"
	"unicode"
)

// Value is one comparable value of a device in LibreNMS's classes and
// units: a sensor reading, a memory pool's or volume's size, a processor's
// load, or an identity string.
type Value struct {
	// Class is a LibreNMS sensor class ("temperature", "fanspeed", "state",
	// …) or one of the other classes below (ClassMempoolTotal, …).
	Class string  `json:"class"`
	Descr string  `json:"descr"`
	Num   float64 `json:"value"`
	// Text is the severity of a state ("ok", "warning", "critical",
	// "unknown") or an identity string; empty for numbers.
	Text string `json:"text,omitempty"`
}

// Classes outside LibreNMS's sensors.
const (
	ClassMempoolTotal = "mempool_total" // bytes
	ClassMempoolUsed  = "mempool_used"  // bytes
	ClassProcessor    = "processor"     // load, percent
	ClassStorageSize  = "storage_size"  // bytes
	ClassStorageUsed  = "storage_used"  // bytes
	ClassModel        = "model"
	ClassSerial       = "serial"
	ClassVersion      = "version" // the OS or firmware version
	ClassState        = "state"   // compared by severity
)

// Groups of classes the report totals and the targets apply to.
const (
	GroupSensors    = "sensors"
	GroupMempools   = "mempools"
	GroupProcessors = "processors"
	GroupStorage    = "storage"
	GroupIdentity   = "identity"
)

// Group returns the group a class belongs to: every class not named here
// is a LibreNMS sensor class.
func Group(class string) string {
	switch class {
	case ClassMempoolTotal, ClassMempoolUsed:
		return GroupMempools
	case ClassProcessor:
		return GroupProcessors
	case ClassStorageSize, ClassStorageUsed:
		return GroupStorage
	case ClassModel, ClassSerial, ClassVersion:
		return GroupIdentity
	}
	return GroupSensors
}

func identity(class string) bool { return Group(class) == GroupIdentity }

// absTolerance is the least difference allowed per class, for values near
// zero where 1% is less than the precision devices report (a tenth of a
// volt or ampere, a tenth of a dBm).
var absTolerance = map[string]float64{
	"voltage":      0.05,
	"current":      0.05,
	"dbm":          0.1,
	"power_factor": 0.01,
	"runtime":      1, // minutes
}

// Agree reports whether got agrees with want: a number within 1% of
// want or an absolute tolerance of the class (0.5 unless absTolerance
// names another), a state's severity equal, an identity string equal
// to or containing the other once normalised (LibreNMS adds or drops a
// vendor prefix).
func Agree(want, got Value) bool {
	switch {
	case want.Class != got.Class:
		return false
	case want.Class == ClassState:
		return want.Text == got.Text
	case identity(want.Class):
		w, g := Normalize(want.Text), Normalize(got.Text)
		return w != "" && g != "" && (strings.Contains(g, w) || strings.Contains(w, g))
	}
	tol, ok := absTolerance[want.Class]
	if !ok {
		tol = 0.5
	}
	return math.Abs(got.Num-want.Num) <= max(tol, 0.01*math.Abs(want.Num))
}

// Normalize lowercases s and keeps only letters and digits, so that
// descriptions differing in case, spaces and punctuation compare equal.
func Normalize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// sameDescr reports whether two descriptions name the same thing: equal
// once normalised, or one containing the other when the shorter has at
// least 5 characters ("CPU1 Temp" and "CPU1 Temp celsius"; not "1" and
// "PSU 1").
func sameDescr(a, b string) bool {
	a, b = Normalize(a), Normalize(b)
	if a == "" || b == "" {
		return false
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	return a == b || len(a) >= 5 && strings.Contains(b, a)
}

// Count is found of expected comparable values.
type Count struct {
	Found    int `json:"found"`
	Expected int `json:"expected"`
}

// Add adds o to c.
func (c *Count) Add(o Count) { c.Found += o.Found; c.Expected += o.Expected }

// Percent is found/expected in percent; 100 when nothing is expected.
func (c Count) Percent() float64 {
	if c.Expected == 0 {
		return 100
	}
	return 100 * float64(c.Found) / float64(c.Expected)
}

// Result is how one device did: per class, found of expected, and the
// expected values nothing matched.
type Result struct {
	Device string           `json:"device"`
	Counts map[string]Count `json:"counts"`
	Missed []Value          `json:"missed,omitempty"`
	// NotComparable counts, per class, what LibreNMS expects but the
	// recording does not hold (see Expected).
	NotComparable map[string]int `json:"not_comparable,omitempty"`
}

// Compare matches the values kpilot read (got) to the comparable ones
// LibreNMS expects (want), one to one within each class. An expected value is found when
// a value of its class agrees with it (Agree): first among values whose
// description is the same (sameDescr), then, as devices and LibreNMS
// name sensors differently, among the rest, closest value first.
func Compare(device string, want Expected, got []Value) Result {
	r := Result{Device: device, Counts: map[string]Count{}, NotComparable: want.NotComparable}
	wantBy, gotBy := byClass(want.Values), byClass(got)
	for _, class := range slices.Sorted(maps.Keys(wantBy)) {
		w, g := wantBy[class], gotBy[class]
		found := match(w, g)
		c := Count{Expected: len(w)}
		for i, ok := range found {
			if ok {
				c.Found++
			} else {
				r.Missed = append(r.Missed, w[i])
			}
		}
		r.Counts[class] = c
	}
	return r
}

func byClass(vs []Value) map[string][]Value {
	out := map[string][]Value{}
	for _, v := range vs {
		out[v.Class] = append(out[v.Class], v)
	}
	return out
}

// match pairs want with got one to one and reports which of want found a
// partner. Pairs of the same description are taken first; the rest are
// paired so that as many as possible find a partner (augmenting paths),
// trying the closest value first, so that reading more values never
// lowers the count.
func match(want, got []Value) []bool {
	found := make([]bool, len(want))
	owner := make([]int, len(got)) // the want paired with got[j], or -1
	for j := range owner {
		owner[j] = -1
	}
	for i, w := range want {
		for j, g := range got {
			if owner[j] < 0 && sameDescr(w.Descr, g.Descr) && Agree(w, g) {
				found[i], owner[j] = true, i
				break
			}
		}
	}
	taken := slices.Clone(owner) // pairs by description stay
	adj := make([][]int, len(want))
	for i, w := range want {
		if found[i] {
			continue
		}
		for j, g := range got {
			if taken[j] < 0 && Agree(w, g) {
				adj[i] = append(adj[i], j)
			}
		}
		slices.SortStableFunc(adj[i], func(a, b int) int {
			return cmp.Compare(math.Abs(w.Num-got[a].Num), math.Abs(w.Num-got[b].Num))
		})
	}
	var augment func(i int, seen []bool) bool
	augment = func(i int, seen []bool) bool {
		for _, j := range adj[i] {
			if seen[j] {
				continue
			}
			seen[j] = true
			if owner[j] < 0 || augment(owner[j], seen) {
				owner[j] = i
				return true
			}
		}
		return false
	}
	for i := range want {
		if !found[i] && len(adj[i]) > 0 {
			found[i] = augment(i, make([]bool, len(got)))
		}
	}
	return found
}
