package cli

import (
	"context"
	"debug/pe"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestServiceConfig(t *testing.T) {
	c := serviceConfig("linux", "kpilot-agent-acme", "/etc/kpilot/acme.yaml", "kpilot")
	require.Equal(t, "kpilot-agent-acme", c.Name)
	require.Equal(t, []string{"run", "--config", "/etc/kpilot/acme.yaml"}, c.Arguments)
	require.Equal(t, "kpilot", c.UserName)
	require.Equal(t, "HUP", c.Option["ReloadSignal"], "systemctl reload sends SIGHUP, which reloads the config")
	require.Equal(t, "on-failure", c.Option["Restart"])
	require.Contains(t, c.Option["SystemdScript"], "RestartSec=10")
	require.Contains(t, c.Dependencies, "After=network-online.target")
}

// The Windows service: the service control manager starts it at boot
// (delayed, after the network), restarts it after a crash, and it logs to a
// file beside the config because a service has no console. The options are
// the ones kardianos/service reads on Windows.
func TestServiceConfigWindows(t *testing.T) {
	path := configPathFor("windows", func(k string) string {
		return map[string]string{"ProgramData": `D:\ProgramData`}[k]
	})
	require.Equal(t, `D:\ProgramData\kpilot\agent.yaml`, path)
	require.Equal(t, `C:\ProgramData\kpilot\agent.yaml`, configPathFor("windows", func(string) string { return "" }))

	c := serviceConfig("windows", defaultServiceName, path, "")
	require.Equal(t, "kpilot-agent", c.Name)
	require.Equal(t, "kpilot agent (kpilot-agent)", c.DisplayName)
	require.Equal(t, []string{"run", "--config", path, "--log-file", `D:\ProgramData\kpilot\agent.log`}, c.Arguments)
	require.Empty(t, c.UserName, "runs as LocalSystem unless --user says otherwise")
	require.Equal(t, []string{"Tcpip", "Dnscache"}, c.Dependencies, "Windows service names it starts after")
	require.Equal(t, "restart", c.Option["OnFailure"])
	require.Equal(t, "10s", c.Option["OnFailureDelayDuration"])
	require.Equal(t, true, c.Option["DelayedAutoStart"])

	lin := serviceConfig("linux", defaultServiceName, "/etc/kpilot/agent.yaml", "")
	require.NotContains(t, lin.Arguments, "--log-file", "systemd keeps the log in the journal")
	require.Equal(t, "/etc/kpilot/agent.yaml", configPathFor("linux", func(string) string { return "C:" }))
}

// The agent's Windows binary cross-compiles, with the service wiring
// (kardianos/service's Windows service control manager code) in it.
func TestAgentCrossCompilesForWindows(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	out := filepath.Join(t.TempDir(), "kpilot-agent.exe")
	cmd := exec.Command("go", "build", "-o", out, "github.com/kpilot/kpilot/cmd/kpilot-agent")
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	f, err := pe.Open(out)
	require.NoError(t, err)
	defer f.Close()
	require.Equal(t, uint16(pe.IMAGE_FILE_MACHINE_AMD64), f.Machine)
	require.Equal(t, uint16(pe.IMAGE_SUBSYSTEM_WINDOWS_CUI), f.OptionalHeader.(*pe.OptionalHeader64).Subsystem,
		"a console program: install, status and probe print to the terminal")
	// The Windows service manager of kardianos/service is what install,
	// start and the service run use (see newService).
	var winService []string
	for _, sym := range f.Symbols {
		if strings.HasPrefix(sym.Name, "github.com/kardianos/service.(*windowsService).") {
			winService = append(winService, strings.TrimPrefix(sym.Name, "github.com/kardianos/service.(*windowsService)."))
		}
	}
	for _, m := range []string{"Install", "Run", "Execute", "Status"} {
		require.Contains(t, winService, m)
	}
}

// The service manager's Start must return at once with the agent running,
// and Stop must wait until the agent has finished (the spool is flushed)
// and report how it ended.
func TestServiceProgramStartStop(t *testing.T) {
	started := make(chan struct{})
	finished := false
	p := &program{run: func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // flushing
		finished = true
		return errors.New("drained with 3 batches left")
	}}
	require.NoError(t, p.Start(nil))
	<-started
	err := p.Stop(nil)
	require.True(t, finished, "Stop waits for the agent")
	require.EqualError(t, err, "drained with 3 batches left")
}
