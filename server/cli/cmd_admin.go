package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kpilot/kpilot/internal/command"
	"github.com/kpilot/kpilot/server"
	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/store"
)

// openStore loads the config and opens the store for an admin command.
func openStore(ctx context.Context, configPath string, stderr io.Writer) (store.Store, error) {
	cfg, err := server.LoadConfig(configPath)
	if err != nil {
		return nil, err
	}
	return server.OpenStore(ctx, cfg, command.NewLogger(stderr, slog.LevelWarn, "text"))
}

// bootstrapStore is what bootstrap writes.
type bootstrapStore interface {
	store.Organizations
	store.Accounts
}

// bootstrap stores the organization o and the user u as its admin at the
// root OU. It is not one transaction: when the user cannot be stored the
// error says that the organization was.
func bootstrap(ctx context.Context, st bootstrapStore, o *store.Organization, u *store.User) error {
	if err := st.CreateOrganization(ctx, o); err != nil {
		return err
	}
	if err := st.CreateUser(ctx, u); err != nil {
		return fmt.Errorf("%w (organization %s was created; add the user with another email)", err, o.ID)
	}
	return st.AddMembership(ctx, store.Membership{UserID: u.ID, OrgID: o.ID, OUID: o.RootOU, Role: store.Admin})
}

func newBootstrapCmd() *cobra.Command {
	var configPath, org, kind, admin, passwordFile, partnerID string
	cmd := &cobra.Command{
		Use:   "bootstrap",
		Short: "Create an organization and its first admin user",
		Long: `bootstrap creates an organization (with its root organization unit) and an
admin user for it, directly in the store. Without --password-file a random
password is generated and printed once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if org == "" || admin == "" {
				return command.Usage(errors.New("--org and --admin are required"))
			}
			k := store.OrgKind(kind)
			if k != store.Customer && k != store.Reseller && k != store.Distributor {
				return command.Usage(fmt.Errorf("--kind %q: must be customer, reseller or distributor", kind))
			}
			password := auth.RandomPassword()
			if passwordFile != "" {
				data, err := os.ReadFile(passwordFile)
				if err != nil {
					return fmt.Errorf("reading password file: %w", err)
				}
				password = strings.TrimRight(string(data), "\r\n")
			}
			hash, err := auth.HashPassword(password)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := openStore(ctx, configPath, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer st.Close()
			o := store.Organization{Name: org, Kind: k, PartnerID: partnerID}
			if k != store.Customer && partnerID == "" {
				o.PartnerID = auth.NewPartnerID()
			}
			if k == store.Customer && partnerID != "" {
				return command.Usage(errors.New("--partner-id: only resellers and distributors have one"))
			}
			u := store.User{Email: admin, PasswordHash: hash}
			if err := bootstrap(ctx, st, &o, &u); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "organization_id: %s\nroot_ou_id: %s\nadmin: %s\n", o.ID, o.RootOU, u.Email)
			if o.PartnerID != "" {
				fmt.Fprintf(w, "partner_id: %s\n", o.PartnerID)
			}
			if passwordFile == "" {
				fmt.Fprintf(w, "password: %s\n", password)
			}
			return nil
		},
	}
	configFlag(cmd, &configPath)
	f := cmd.Flags()
	f.StringVar(&org, "org", "", "organization name")
	f.StringVar(&kind, "kind", "customer", "organization kind: customer, reseller or distributor")
	f.StringVar(&admin, "admin", "", "email of the first admin user")
	f.StringVar(&passwordFile, "password-file", "", "file holding the admin's password (default: generate one)")
	f.StringVar(&partnerID, "partner-id", "", "public partner ID of a reseller or distributor (default: generate one)")
	return cmd
}

// enrollTokenStore is what enrollToken uses.
type enrollTokenStore interface {
	store.Organizations
	store.Agents
}

// enrollToken stores a single-use enrollment token into an OU of orgID
// (its root OU when ouID is empty), valid for ttl from now, and returns it.
func enrollToken(ctx context.Context, st enrollTokenStore, orgID, ouID string, now time.Time, ttl time.Duration) (string, error) {
	o, err := st.Organization(ctx, orgID)
	if err != nil {
		return "", err
	}
	if ouID == "" {
		ouID = o.RootOU
	}
	tok, hash := auth.NewToken(auth.PrefixEnrollment)
	if err := st.CreateEnrollmentToken(ctx, store.EnrollmentToken{TokenHash: hash, OrgID: o.ID, OUID: ouID,
		CreatedBy: "cli", CreatedAt: now, ExpiresAt: now.Add(ttl)}); err != nil {
		return "", err
	}
	return tok, nil
}

func newEnrollTokenCmd() *cobra.Command {
	var configPath, org, ou string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "enroll-token",
		Short: "Create a single-use token that enrolls one agent into an organization unit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if org == "" {
				return command.Usage(errors.New("--org is required"))
			}
			if ttl < time.Minute || ttl > 7*24*time.Hour {
				return command.Usage(fmt.Errorf("--ttl %s: must be from 1m to 168h", ttl))
			}
			ctx := cmd.Context()
			st, err := openStore(ctx, configPath, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer st.Close()
			tok, err := enrollToken(ctx, st, org, ou, time.Now(), ttl)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	configFlag(cmd, &configPath)
	f := cmd.Flags()
	f.StringVar(&org, "org", "", "organization id")
	f.StringVar(&ou, "ou", "", "organization unit id (default: the root OU)")
	f.DurationVar(&ttl, "ttl", time.Hour, "how long the token stays valid")
	return cmd
}
