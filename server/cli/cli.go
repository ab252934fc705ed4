// Package cli is the kpilot-server command line. Main is everything main
// does, so that every subcommand is tested without building a binary.
package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kpilot/kpilot/internal/buildinfo"
	"github.com/kpilot/kpilot/internal/command"
	"github.com/kpilot/kpilot/server"
)

// Main runs the command line in args (without the program name) and
// returns the exit code: 0 success, 1 failure, 2 usage error.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return command.Execute(ctx, newRoot(stdout, stderr), args, stderr)
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "kpilot-server",
		Short: "Receives KPIs from kpilot agents and shows each person exactly the assets they may see",
		Long: `kpilot-server receives what kpilot agents collect, stores KPI series in
InfluxDB and metadata in SQLite, and serves the JSON API, health checks and
Prometheus metrics.

First create an organization with its admin, then run the server:

  kpilot-server bootstrap --config server.yaml --org "Acme GmbH" --admin admin@acme.example
  kpilot-server run --config server.yaml`,
		Version: buildinfo.String("kpilot-server"),
	}
	command.Configure(root, stdout, stderr)
	root.AddCommand(newRunCmd(), newValidateCmd(), newBootstrapCmd(), newEnrollTokenCmd(), newHealthcheckCmd(),
		newMigrateSeriesCmd(), newRotateSecretsKeyCmd(), newRetireSecretsKeysCmd())
	return root
}

func configFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVarP(p, "config", "c", "/etc/kpilot/server.yaml", "server YAML config file")
}

func newRunCmd() *cobra.Command {
	var configPath, logFormat string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Serve until SIGINT or SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := server.LoadConfig(configPath)
			if err != nil {
				return err
			}
			log := command.NewLogger(cmd.ErrOrStderr(), cfg.Level(), logFormat)
			s, err := server.New(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			defer s.Close()
			return s.Run(cmd.Context())
		},
	}
	configFlag(cmd, &configPath)
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return cmd
}

func newValidateCmd() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the config file and report every problem",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := server.LoadConfig(configPath); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: OK\n", configPath)
			return nil
		},
	}
	configFlag(cmd, &configPath)
	return cmd
}
