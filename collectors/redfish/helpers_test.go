package redfish

import (
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/internal/redfishmock"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

const (
	testUser     = "monitor"
	testPassword = "s3cret-Pa55"
)

// bmcServer serves the mockup name over TLS on 127.0.0.1.
func bmcServer(t testing.TB, name string, o redfishmock.Options) (*redfishmock.Server, *httptest.Server) {
	t.Helper()
	root, err := redfishmock.Mockup(name)
	if err != nil {
		t.Fatal(err)
	}
	if o.Username == "" {
		o.Username, o.Password = testUser, testPassword
	}
	m := redfishmock.New(root, o)
	srv := httptest.NewUnstartedServer(m)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are what some tests do
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return m, srv
}

// caFile writes the test server's certificate as a CA file.
func caFile(t testing.TB, srv *httptest.Server) string {
	t.Helper()
	cert := srv.Certificate()
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := x509.ParseCertificate(cert.Raw); err != nil {
		t.Fatal(err)
	}
	return p
}

// testConfig is a validated config for srv with the test CA pinned.
func testConfig(t testing.TB, srv *httptest.Server, edit func(*Config)) *Config {
	t.Helper()
	c := newConfig().(*Config)
	c.Name = "bmc"
	c.Type = "redfish"
	c.Username = testUser
	c.Password = yamlconf.Secret(testPassword)
	c.CAFile = caFile(t, srv)
	c.EventsLookback = yamlconf.Duration(20 * 365 * 24 * time.Hour) // the mockups' logs are from 2021–2025
	c.Targets = []collectors.Target{{Address: srv.URL, Asset: "server-1"}}
	if edit != nil {
		edit(c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// newCollector builds the collector of the config's first target.
func newCollector(t testing.TB, c *Config) *collector {
	t.Helper()
	col, err := c.New(c.Targets[0], collectors.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { col.(*collector).Close() })
	return col.(*collector)
}

// httpGet serves one GET from h and returns the body.
func httpGet(t testing.TB, h http.Handler, path string) []byte {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}
