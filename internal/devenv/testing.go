package devenv

import (
	"errors"
	"os"
	"testing"
)

// Required reports whether a missing program must fail a test rather than
// skip it: always in CI and under make test (KPILOT_REQUIRE_ENV=1), so a
// missing install step can never pass silently.
func Required() bool { return os.Getenv("KPILOT_REQUIRE_ENV") != "" || os.Getenv("CI") != "" }

// Influx starts influxd for a test and stops it at cleanup.
func Influx(t testing.TB) *Influxd {
	t.Helper()
	skipShort(t, "influxd")
	i, err := StartInfluxd(t.Context(), t.TempDir(), 0, "kpilot", nil)
	skipOrFail(t, err)
	t.Cleanup(func() { i.Stop() })
	return i
}

// SNMP starts snmpd for a test and stops it at cleanup.
func SNMP(t testing.TB) *Snmpd {
	t.Helper()
	skipShort(t, "snmpd")
	s, err := StartSnmpd(t.Context(), t.TempDir(), 0, nil)
	skipOrFail(t, err)
	t.Cleanup(func() { s.Stop() })
	return s
}

func skipOrFail(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, ErrMissing) && !Required() {
		t.Skipf("SKIPPED, not run: %v", err)
	}
	t.Fatal(err)
}

func skipShort(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("starts %s; skipped with -short", what)
	}
}
