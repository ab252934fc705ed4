package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kpilot/kpilot/internal/command"
	"github.com/kpilot/kpilot/server"
)

// keyCommand runs one of the secrets key file commands and prints what it
// did.
func keyCommand(use, short, long string, do func(context.Context, *server.Config, *slog.Logger) (server.KeyRotation, error)) *cobra.Command {
	var configPath, logFormat string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := server.LoadConfig(configPath)
			if err != nil {
				return err
			}
			log := command.NewLogger(cmd.ErrOrStderr(), cfg.Level(), logFormat)
			r, err := do(cmd.Context(), cfg, log)
			printRotation(cmd.OutOrStdout(), r)
			return err
		},
	}
	configFlag(cmd, &configPath)
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return cmd
}

func newRotateSecretsKeyCmd() *cobra.Command {
	return keyCommand("rotate-secrets-key", "Seal the stored secrets with a new key of the secrets key file",
		`rotate-secrets-key adds a new key to the secrets key file (secrets_key_file),
makes it the one that seals, and seals every stored OU key, system key and
webhook secret anew with it. The previous keys stay in the file, so that
values sealed with them still open: a running server re-reads the file when
it changes, and a run cut short is finished by running it again. Once every
server replica reads the new file, remove the previous keys with
retire-secrets-keys (docs/install.md#secrets-at-rest).

It may run while the server runs. Back up the key file with the database
after it.`, server.RotateSecretsKey)
}

func newRetireSecretsKeysCmd() *cobra.Command {
	return keyCommand("retire-secrets-keys", "Remove the previous keys from the secrets key file",
		`retire-secrets-keys seals with the current key any stored secret still sealed
with a previous key of the secrets key file, checks that none is left, and
removes the previous keys from the file (docs/install.md#secrets-at-rest).`,
		server.RetireSecretsKeys)
}

// printRotation writes what a key command did for the operator.
func printRotation(w io.Writer, r server.KeyRotation) {
	if r.File == "" {
		return
	}
	fmt.Fprintf(w, "secrets key file: %s\n", r.File)
	if r.Current != "" {
		fmt.Fprintf(w, "current key: %s\n", r.Current)
	}
	fmt.Fprintf(w, "secrets sealed anew: %d\n", r.Resealed)
	if len(r.Previous) > 0 {
		fmt.Fprintf(w, "previous keys kept: %s (remove them with retire-secrets-keys once every replica reads the new file)\n",
			strings.Join(r.Previous, ", "))
	}
	if len(r.Retired) > 0 {
		fmt.Fprintf(w, "keys removed: %s\n", strings.Join(r.Retired, ", "))
	}
}
