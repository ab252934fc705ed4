package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(t.Context(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func config(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile("../../configs/server.example.yaml")
	require.NoError(t, err)
	path := filepath.Join(dir, "server.yaml")
	require.NoError(t, os.WriteFile(path, bytes.ReplaceAll(data, []byte("/var/lib/kpilot-server"), []byte(dir)), 0o600))
	return path
}

func TestHelpAndVersion(t *testing.T) {
	code, out, _ := run(t, "--help")
	require.Equal(t, 0, code)
	for _, sub := range []string{"run", "validate", "bootstrap", "enroll-token", "healthcheck", "migrate-series",
		"rotate-secrets-key", "retire-secrets-keys"} {
		require.Contains(t, out, sub)
	}
	code, out, _ = run(t, "--version")
	require.Equal(t, 0, code)
	require.True(t, strings.HasPrefix(out, "kpilot-server dev"), "got %q", out)
}

func TestValidate(t *testing.T) {
	code, out, _ := run(t, "validate", "--config", "../../configs/server.example.yaml")
	require.Equal(t, 0, code, out)

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("listen: \"\"\ninfluxdb:\n  url: ftp://x\ndatabase:\n  driver: mysql\n"), 0o600))
	code, _, errOut := run(t, "validate", "--config", bad)
	require.Equal(t, 1, code)
	for _, want := range []string{"listen: missing", `influxdb.url "ftp://x"`, `database.driver "mysql"`} {
		require.Contains(t, errOut, want)
	}
}

func TestBootstrapAndEnrollToken(t *testing.T) {
	cfg := config(t)
	code, out, errOut := run(t, "bootstrap", "--config", cfg, "--org", "Acme", "--admin", "admin@acme.example")
	require.Equal(t, 0, code, errOut)
	var org, password string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "organization_id: "); ok {
			org = v
		}
		if v, ok := strings.CutPrefix(line, "password: "); ok {
			password = v
		}
	}
	require.NotEmpty(t, org)
	require.GreaterOrEqual(t, len(password), 16, "generated passwords are long")

	code, _, errOut = run(t, "bootstrap", "--config", cfg, "--org", "Acme 2", "--admin", "ADMIN@acme.example")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "already exists")

	code, out, errOut = run(t, "enroll-token", "--config", cfg, "--org", org)
	require.Equal(t, 0, code, errOut)
	require.True(t, strings.HasPrefix(out, "kpe_"), "got %q", out)

	code, _, errOut = run(t, "enroll-token", "--config", cfg, "--org", "no-such-org")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "not found")

	code, _, _ = run(t, "enroll-token", "--config", cfg, "--org", org, "--ttl", "1s")
	require.Equal(t, 2, code)
}

func TestBootstrapPartnerGetsPartnerID(t *testing.T) {
	cfg := config(t)
	code, out, errOut := run(t, "bootstrap", "--config", cfg, "--org", "Reseller", "--kind", "reseller", "--admin", "boss@reseller.example")
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `(?m)^partner_id: KP-\d{4}-\d{4}$`, out)
	code, out, errOut = run(t, "bootstrap", "--config", cfg, "--org", "Distri", "--kind", "distributor", "--partner-id", "D-42", "--admin", "boss@distri.example")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "partner_id: D-42")
	code, _, errOut = run(t, "bootstrap", "--config", cfg, "--org", "C", "--partner-id", "X", "--admin", "c@c.example")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "--partner-id: only resellers and distributors")
}
