package kpi

import (
	"regexp"
	"testing"
)

// FuzzValidName checks the hand-written loop against the rule as a regexp.
func FuzzValidName(f *testing.F) {
	re := regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	for _, s := range []string{"", "a", "in_octets", "A", "_x", "x-y", "é", "a" + string(make([]byte, 70))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidName(s), re.MatchString(s); got != want {
			t.Fatalf("ValidName(%q) = %v, regexp says %v", s, got, want)
		}
	})
}
