// Package cli is the kpilot-agent command line. Main is everything main
// does, so that every subcommand is tested without building a binary.
package cli

import (
	"context"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kpilot/kpilot/agent"
	_ "github.com/kpilot/kpilot/collectors/all" // register the built-in collectors
	"github.com/kpilot/kpilot/internal/buildinfo"
	"github.com/kpilot/kpilot/internal/command"
)

// Main runs the command line in args (without the program name) and
// returns the process exit code: 0 success, 1 failure, 2 usage error.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return command.Execute(ctx, newRoot(stdout, stderr), args, stderr)
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "kpilot-agent",
		Short: "Collects usage KPIs and inventory of IT assets and ships them to kpilot-server",
		Long: `kpilot-agent polls devices and software through SNMP, Redfish and vendor REST
APIs as its YAML config says, keeps what it reads on disk until the server has
stored it, and exposes its own health on /metrics for Prometheus.

First enroll the agent with a token from the portal, then run it:

  kpilot-agent enroll --config agent.yaml --token TOKEN
  kpilot-agent run --config agent.yaml`,
		Version: buildinfo.String("kpilot-agent"),
	}
	command.Configure(root, stdout, stderr)
	root.AddCommand(newRunCmd(), newValidateCmd(), newCheckCmd(), newEnrollCmd(), newProbeCmd(),
		newInstallCmd(), newStatusCmd(),
		newControlCmd("uninstall", "Remove the agent service (the config and spooled data stay)"),
		newControlCmd("start", "Start the agent service"),
		newControlCmd("stop", "Stop the agent service (what is collected stays spooled)"),
		newControlCmd("restart", "Restart the agent service"))
	return root
}

// defaultConfigPath is where packages install the config.
func defaultConfigPath() string { return configPathFor(runtime.GOOS, os.Getenv) }

// configPathFor is where the config is by default on goos, given the
// environment.
func configPathFor(goos string, getenv func(string) string) string {
	switch goos {
	case "windows":
		if pd := getenv("ProgramData"); pd != "" {
			return strings.TrimRight(pd, `\`) + `\kpilot\agent.yaml`
		}
		return `C:\ProgramData\kpilot\agent.yaml`
	case "darwin":
		return "/Library/Application Support/kpilot/agent.yaml"
	}
	return "/etc/kpilot/agent.yaml"
}

// loadConfig is shared by every subcommand that reads the config.
func loadConfig(path string) (*agent.Config, error) { return agent.LoadConfig(path) }
