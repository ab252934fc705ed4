package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kpilot/kpilot/agent"
	"github.com/kpilot/kpilot/internal/command"
)

func newRunCmd() *cobra.Command {
	var configPath, logFormat string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the agent in the foreground until SIGINT or SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath)
			if err != nil {
				return err
			}
			log := command.NewLogger(cmd.ErrOrStderr(), cfg.Level(), logFormat)
			a, err := agent.New(cfg, log)
			if err != nil {
				return fmt.Errorf("starting agent: %w", err)
			}
			return a.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", defaultConfigPath(), "agent YAML config file")
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return cmd
}
