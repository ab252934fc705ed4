package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
)

// agentCmd runs the agent binary and returns its exit code and output.
func agentCmd(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), bin, args...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	require.NoError(t, err, "%s", out)
	return 0, string(out)
}

// TestServiceLifecycle installs the built agent as a service of this
// machine's service manager (systemd where it runs, SysV init scripts
// otherwise), starts it, sees it poll a real snmpd, stops and uninstalls
// it. It needs root.
func TestServiceLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: installs a system service")
	}
	if os.Geteuid() != 0 {
		if devenv.Required() {
			t.Fatal("installing a service needs root; run the tests as root")
		}
		t.Skip("SKIPPED, not run: installing a service needs root")
	}
	snmpd := devenv.SNMP(t)
	agentBin, _ := buildBinaries(t)
	dir := t.TempDir()
	metricsPort, err := devenv.FreePort("tcp")
	require.NoError(t, err)
	cfg := filepath.Join(dir, "agent.yaml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `server:
  url: http://127.0.0.1:9
data_dir: %s
metrics_listen: 127.0.0.1:%d
spool: {flush_interval: 200ms}
collectors:
  - type: snmp
    name: lab
    interval: 1s
    community: %s
    profiles: [system]
    targets: [{address: %q, asset: sw1}]
`, filepath.Join(dir, "state"), metricsPort, snmpd.Community, snmpd.Addr()), 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "state"), 0o700))
	cred, _ := json.Marshal(map[string]string{"server_url": "http://127.0.0.1:9", "agent_id": "e2e", "token": "kpa_e2e"})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "state", "credential.json"), cred, 0o600))

	name := "kpilot-agent-e2e-" + strconv.Itoa(os.Getpid())
	t.Cleanup(func() {
		exec.Command(agentBin, "stop", "--name", name).Run()
		exec.Command(agentBin, "uninstall", "--name", name).Run()
	})

	code, out := agentCmd(t, agentBin, "status", "--name", name)
	require.Equal(t, 4, code, out)
	require.Contains(t, out, name+": not installed")

	code, out = agentCmd(t, agentBin, "install", "--name", name, "--config", cfg)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "installed service "+name)
	unit := "/etc/init.d/" + name
	if strings.Contains(out, "systemd") {
		unit = "/etc/systemd/system/" + name + ".service"
	}
	script, err := os.ReadFile(unit)
	require.NoError(t, err, "the service definition is written")
	require.Regexp(t, `"?run"? "?--config"? "?`+regexp.QuoteMeta(cfg), string(script))

	code, out = agentCmd(t, agentBin, "install", "--name", name, "--config", cfg)
	require.Equal(t, 1, code, "installing twice is refused: %s", out)

	code, out = agentCmd(t, agentBin, "status", "--name", name)
	require.Equal(t, 3, code, out)
	require.Contains(t, out, name+": stopped")

	code, out = agentCmd(t, agentBin, "start", "--name", name)
	require.Equal(t, 0, code, out)
	code, out = agentCmd(t, agentBin, "status", "--name", name)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, name+": running")
	waitUntil(t, 30*time.Second, "the service to poll snmpd", func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return err == nil && strings.Contains(string(body), `kpilot_agent_polls_total{collector="lab",result="success",target="sw1"}`)
	})

	code, out = agentCmd(t, agentBin, "stop", "--name", name)
	require.Equal(t, 0, code, out)
	code, out = agentCmd(t, agentBin, "status", "--name", name)
	require.Equal(t, 3, code, out)
	segs, err := filepath.Glob(filepath.Join(dir, "state", "spool", "*.seg"))
	require.NoError(t, err)
	require.NotEmpty(t, segs, "what the service collected is spooled (the server is down)")

	code, out = agentCmd(t, agentBin, "uninstall", "--name", name)
	require.Equal(t, 0, code, out)
	_, err = os.Stat(unit)
	require.ErrorIs(t, err, os.ErrNotExist)
	code, _ = agentCmd(t, agentBin, "status", "--name", name)
	require.Equal(t, 4, code)
	_, err = os.Stat(cfg)
	require.NoError(t, err, "uninstall keeps the config")
}
