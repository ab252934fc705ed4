// Package cli is the kpilot-server command line. Main is everything main
// does, so that every subcommand is tested without building a binary.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kpilot/kpilot/internal/buildinfo"
	"github.com/kpilot/kpilot/server"
)

// Main runs the command line in args (without the program name) and
// returns the exit code: 0 success, 1 failure, 2 usage error.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	_, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") {
		fmt.Fprintf(stderr, "kpilot-server: %v\nRun 'kpilot-server --help' for usage.\n", err)
		return 2
	}
	fmt.Fprintf(stderr, "kpilot-server: %v\n", err)
	return 1
}

type usageError struct{ error }

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
		Version:       buildinfo.String("kpilot-server"),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newRunCmd(), newValidateCmd(), newBootstrapCmd(), newEnrollTokenCmd())
	return root
}

func configFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVarP(p, "config", "c", "/etc/kpilot/server.yaml", "server YAML config file")
}

func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
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
			log := newLogger(cmd.ErrOrStderr(), cfg.Level(), logFormat)
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
