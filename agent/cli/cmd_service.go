package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/kardianos/service"
	"github.com/spf13/cobra"

	"github.com/kpilot/kpilot/internal/command"
)

// defaultServiceName is the name the service manager knows the agent by.
// --name picks another, to run several agents (one per customer network)
// on one host.
const defaultServiceName = "kpilot-agent"

// serviceConfig describes the service installed on goos: it runs
// `kpilot-agent run --config PATH` as the given user, restarts it on
// failure, and reloads it with SIGHUP (systemctl reload). A Windows service
// logs to agent.log beside the config, starts delayed at boot and is
// restarted by the service control manager 10 s after a crash.
func serviceConfig(goos, name, configPath, user string) *service.Config {
	c := &service.Config{
		Name:        name,
		DisplayName: "kpilot agent (" + name + ")",
		Description: "Collects usage KPIs and inventory of IT assets and ships them to kpilot-server.",
		Arguments:   []string{"run", "--config", configPath},
		UserName:    user,
		Option: service.KeyValue{
			"Restart":       "on-failure",
			"ReloadSignal":  "HUP",
			"LimitNOFILE":   65536,
			"SystemdScript": systemdUnit,
			// Windows: restart after a crash, like systemd's Restart=on-failure.
			"OnFailure":              "restart",
			"OnFailureDelayDuration": "10s",
			"OnFailureResetPeriod":   3600,
			"DelayedAutoStart":       true,
			// launchd
			"KeepAlive": true,
			"RunAtLoad": true,
		},
	}
	switch goos {
	case "linux":
		c.Dependencies = []string{"Wants=network-online.target", "After=network-online.target"}
	case "windows":
		// A Windows service has no console: logs go to a file beside the config.
		dir := configPath[:max(strings.LastIndexAny(configPath, `\/`), 0)]
		c.Arguments = append(c.Arguments, "--log-file", dir+`\agent.log`)
		// Start after the network stack (Tcpip) and the DNS client.
		c.Dependencies = []string{"Tcpip", "Dnscache"}
	}
	return c
}

// systemdUnit is kardianos/service's unit with a shorter restart delay
// (10s, not 120s: a crash of a collector should not cost two polls).
const systemdUnit = `[Unit]
Description={{Description}}
ConditionFileIsExecutable={{Path | cmdEscape}}
{{range Dependencies}}{{.}}
{{end}}
[Service]
StartLimitInterval=300
StartLimitBurst=10
ExecStart={{Path | cmdEscape}}{{range Arguments}} {{. | cmd}}{{end}}
{{if WorkingDirectory}}WorkingDirectory={{WorkingDirectory | cmdEscape}}
{{end}}{{if UserName}}User={{UserName}}
{{end}}{{if ReloadSignal}}ExecReload=/bin/kill -{{ReloadSignal}} "$MAINPID"
{{end}}{{if LimitNOFILE}}LimitNOFILE={{LimitNOFILE}}
{{end}}{{if Restart}}Restart={{Restart}}
{{end}}RestartSec=10
NoNewPrivileges=true
EnvironmentFile=-/etc/sysconfig/{{Name}}
EnvironmentFile=-/etc/default/{{Name}}

{{range EnvVars}}{{.}}
{{end}}[Install]
WantedBy=multi-user.target
`

// program adapts the agent to kardianos/service: Start runs it in the
// background, Stop cancels it and waits until the spool is flushed.
type program struct {
	run    func(ctx context.Context) error
	cancel context.CancelFunc
	wg     sync.WaitGroup
	err    error
}

func (p *program) Start(service.Service) error {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.err = p.run(ctx)
	}()
	return nil
}

func (p *program) Stop(service.Service) error {
	p.cancel()
	p.wg.Wait()
	return p.err
}

func newService(name, configPath, user string, run func(context.Context) error) (service.Service, error) {
	abs, err := filepath.Abs(configPath)
	if err != nil {
		return nil, err
	}
	s, err := service.New(&program{run: run}, serviceConfig(runtime.GOOS, name, abs, user))
	if err != nil {
		return nil, fmt.Errorf("service manager: %w", err)
	}
	return s, nil
}

func newInstallCmd() *cobra.Command {
	var configPath, name, user string
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install the agent as a system service (systemd, SysV init, launchd or a Windows service)",
		Long: `install validates the config and registers "kpilot-agent run --config PATH"
with the system's service manager, to start at boot. Start it with
"kpilot-agent start". It needs root (Administrator on Windows). --user runs
the service as that account, which must be able to read the config and
write data_dir.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := loadConfig(configPath); err != nil {
				return fmt.Errorf("not installing with a config that does not validate: %w", err)
			}
			s, err := newService(name, configPath, user, nil)
			if err != nil {
				return err
			}
			if err := s.Install(); err != nil {
				return fmt.Errorf("installing service %s: %w", name, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "installed service %s (%s); start it with: kpilot-agent start --name %s\n",
				name, s.Platform(), name)
			return nil
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", defaultConfigPath(), "agent YAML config file the service runs with")
	cmd.Flags().StringVar(&name, "name", defaultServiceName, "service name")
	cmd.Flags().StringVar(&user, "user", "", "account the service runs as (default: the service manager's, root or LocalSystem)")
	return cmd
}

// newControlCmd makes uninstall, start, stop and restart.
func newControlCmd(action, short string) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   action,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := newService(name, defaultConfigPath(), "", nil)
			if err != nil {
				return err
			}
			if err := service.Control(s, action); err != nil {
				return fmt.Errorf("service %s: %w", name, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "service %s: %s done\n", name, action)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", defaultServiceName, "service name")
	return cmd
}

func newStatusCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print whether the agent service is running, stopped or not installed",
		Long: `status prints "running", "stopped" or "not installed" for the service and
exits 0 only when it is running (3 when stopped, 4 when not installed, as
init scripts do).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := newService(name, defaultConfigPath(), "", nil)
			if err != nil {
				return err
			}
			st, err := s.Status()
			if err != nil && strings.HasSuffix(s.Platform(), "-systemv") {
				// SysV "status" fails alike for stopped and unknown services.
				st, err = service.StatusStopped, nil
				if _, serr := os.Stat("/etc/init.d/" + name); serr != nil {
					err = service.ErrNotInstalled
				}
			}
			out := cmd.OutOrStdout()
			switch {
			case errors.Is(err, service.ErrNotInstalled):
				fmt.Fprintf(out, "%s: not installed\n", name)
				return command.Exit(4)
			case err != nil:
				return fmt.Errorf("service %s: %w", name, err)
			case st == service.StatusRunning:
				fmt.Fprintf(out, "%s: running\n", name)
				return nil
			case st == service.StatusStopped:
				fmt.Fprintf(out, "%s: stopped\n", name)
				return command.Exit(3)
			default:
				fmt.Fprintf(out, "%s: unknown\n", name)
				return command.Exit(4)
			}
		},
	}
	cmd.Flags().StringVar(&name, "name", defaultServiceName, "service name")
	return cmd
}

// runAsService runs the agent under the service manager (a Windows
// service, where the service control manager must be answered); from a
// terminal or systemd it is run as a plain process.
func runAsService(name, configPath string, run func(context.Context) error) (bool, error) {
	if service.Interactive() || runtime.GOOS != "windows" {
		return false, nil
	}
	s, err := newService(name, configPath, "", run)
	if err != nil {
		return true, err
	}
	return true, s.Run()
}

// logFile opens --log-file for appending, or returns stderr.
func logFile(path string, stderr io.Writer) (io.Writer, func(), error) {
	if path == "" {
		return stderr, func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("opening log file: %w", err)
	}
	return f, func() { f.Close() }, nil
}
