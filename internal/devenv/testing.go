package devenv

import (
	"errors"
	"os"
	"path/filepath"
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

// InfluxAt starts influxd for a test with its data in dir, listening on
// port, and stops it at cleanup. Stopping it and calling InfluxAt again
// with the same dir and port restarts it with its data.
func InfluxAt(t testing.TB, dir string, port int) *Influxd {
	t.Helper()
	skipShort(t, "influxd")
	i, err := StartInfluxd(t.Context(), dir, port, "kpilot", nil)
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

// SNMPSim starts snmpsimd for the test, serving files.
func SNMPSim(t testing.TB, files ...string) *Snmpsim {
	t.Helper()
	skipShort(t, "snmpsimd")
	s, err := StartSnmpsim(t.Context(), t.TempDir(), 0, files, nil)
	skipOrFail(t, err)
	t.Cleanup(func() { s.Stop() })
	return s
}

// SharedTestdata returns ../shared/testdata beside the repository, where
// the device recordings live that may not be copied into the project. ok
// is false when it is absent: tests then skip and say so.
func SharedTestdata() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(filepath.Dir(dir), "shared", "testdata")
			_, err := os.Stat(p)
			return p, err == nil
		}
	}
	return "", false
}

// PostgreSQL starts a PostgreSQL server for a test and stops it at cleanup.
// Its directory is made outside t.TempDir, whose 0700 parents the postgres
// user (under root) could not enter.
func PostgreSQL(t testing.TB) *Postgres {
	t.Helper()
	skipShort(t, "postgres")
	dir, err := os.MkdirTemp("", "kpilot-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := StartPostgres(t.Context(), dir, 0, nil)
	skipOrFail(t, err)
	t.Cleanup(func() { p.Stop() })
	return p
}
