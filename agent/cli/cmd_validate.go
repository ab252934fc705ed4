package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

func newValidateCmd() *cobra.Command {
	var configPath string
	var print bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the config file and report every problem with its line",
		Long: `validate reads the config exactly as run does at start, without contacting
any device or server, and reports every problem it finds. With --print it
shows the config with defaults filled in and secrets hidden.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath)
			if err != nil {
				return err
			}
			if print {
				out, err := yaml.Marshal(cfg)
				if err != nil {
					return err
				}
				fmt.Fprint(cmd.OutOrStdout(), string(out))
				return nil
			}
			targets := 0
			for _, c := range cfg.Collectors {
				targets += len(c.Base().Targets)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: OK (%d collectors, %d targets)\n", configPath, len(cfg.Collectors), targets)
			return nil
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", defaultConfigPath(), "agent YAML config file")
	cmd.Flags().BoolVar(&print, "print", false, "print the effective config (secrets hidden)")
	return cmd
}
