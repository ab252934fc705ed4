package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kpilot/kpilot/agent"
	"github.com/kpilot/kpilot/internal/command"
)

func newRunCmd() *cobra.Command {
	var configPath, logFormat, logPath, name string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the agent in the foreground until SIGINT or SIGTERM; SIGHUP reloads the config",
		Long: `run polls, spools and ships until SIGINT or SIGTERM (or, as a Windows
service, until the service is stopped). SIGHUP, and with watch_config (the
default) any change of the config file, reloads the config: a config that
does not validate is rejected with the reason in the log, and the running
one stays in force. Spooled data is kept across reloads and restarts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w, closeLog, err := logFile(logPath, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer closeLog()
			run := func(ctx context.Context) error { return runAgent(ctx, configPath, logFormat, w) }
			if asService, err := runAsService(name, configPath, run); asService {
				return err
			}
			return run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&logPath, "log-file", "", "append logs to this file instead of standard error")
	cmd.Flags().StringVar(&name, "name", defaultServiceName, "service name, when run by the Windows service manager")
	cmd.Flags().StringVarP(&configPath, "config", "c", defaultConfigPath(), "agent YAML config file")
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return cmd
}

// runAgent is run's body, shared with the service wrapper.
func runAgent(ctx context.Context, configPath, logFormat string, logTo io.Writer) error {
	cfg, err := loadConfig(configPath)
	if err != nil {
		return err
	}
	var level slog.LevelVar
	level.Set(cfg.Level())
	log := command.NewLogger(logTo, &level, logFormat)
	a, err := agent.New(cfg, log, &level)
	if err != nil {
		return fmt.Errorf("starting agent: %w", err)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				log.Info("SIGHUP: reloading the config", "config", configPath)
				_ = a.Reload(ctx) // the agent logs the outcome
			}
		}
	}()
	return a.Run(ctx)
}
