package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDependencyDirection keeps the two programs apart: internal/wire is
// their only contract. The agent must not link server code, a SQL driver or
// the InfluxDB client; the server must not link collectors or device
// protocol libraries.
func TestDependencyDirection(t *testing.T) {
	tests := []struct {
		cmd       string
		forbidden []string
	}{
		{"./cmd/kpilot-agent", []string{
			"github.com/kpilot/kpilot/server", "modernc.org/sqlite", "github.com/jackc/pgx",
			"github.com/influxdata/influxdb-client-go", "github.com/pressly/goose"}},
		{"./cmd/kpilot-server", []string{
			"github.com/kpilot/kpilot/agent", "github.com/kpilot/kpilot/collectors",
			"github.com/gosnmp/gosnmp", "github.com/stmcginnis/gofish"}},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			cmd := exec.Command("go", "list", "-deps", tt.cmd)
			cmd.Dir = repoRoot(t)
			out, err := cmd.Output()
			require.NoError(t, err)
			for _, dep := range strings.Fields(string(out)) {
				for _, f := range tt.forbidden {
					require.False(t, dep == f || strings.HasPrefix(dep, f+"/"), "%s links %s", tt.cmd, dep)
				}
			}
		})
	}
}
