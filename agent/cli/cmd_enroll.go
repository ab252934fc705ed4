package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/kpilot/kpilot/agent"
	"github.com/kpilot/kpilot/agent/enroll"
	"github.com/kpilot/kpilot/agent/transport"
	"github.com/kpilot/kpilot/internal/buildinfo"
	"github.com/kpilot/kpilot/internal/command"
)

func newEnrollCmd() *cobra.Command {
	var configPath, serverURL, token, name string
	var force bool
	cmd := &cobra.Command{
		Use:   "enroll",
		Short: "Exchange an enrollment token for this agent's own credential",
		Long: `enroll trades a single-use enrollment token (made by a customer admin for an
organization unit) for this agent's own credential, and stores that credential
with mode 0600 at server.credential_file (default <data_dir>/credential.json).
The server URL and TLS settings come from the config; --server overrides the URL.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if token == "" {
				return command.Usage(errors.New("--token is required"))
			}
			cfg, err := loadConfig(configPath)
			if err != nil {
				return err
			}
			if serverURL == "" {
				serverURL = cfg.Server.URL
			}
			if _, err := enroll.Load(cfg.Server.CredentialFile); err == nil && !force {
				return fmt.Errorf("agent is already enrolled (%s); use --force to enroll again", cfg.Server.CredentialFile)
			}
			hc, err := transport.NewClient(transport.Options{CAFile: cfg.Server.CAFile, CertFile: cfg.Server.CertFile, KeyFile: cfg.Server.KeyFile})
			if err != nil {
				return err
			}
			if name == "" {
				name = agent.Hostname()
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			cred, err := enroll.Enroll(ctx, hc, serverURL, enroll.Request{Token: token, Name: name,
				Hostname: agent.Hostname(), Version: buildinfo.Version})
			if err != nil {
				return err
			}
			if err := enroll.Save(cfg.Server.CredentialFile, cred); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "enrolled as agent %s; credential saved to %s\n", cred.AgentID, cfg.Server.CredentialFile)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configPath, "config", "c", defaultConfigPath(), "agent YAML config file")
	f.StringVar(&serverURL, "server", "", "server URL (default: server.url from the config)")
	f.StringVar(&token, "token", "", "enrollment token from the portal or kpilot-server enroll-token")
	f.StringVar(&name, "name", "", "agent name shown in the portal (default: host name)")
	f.BoolVar(&force, "force", false, "enroll again even if a credential exists")
	return cmd
}
