package cli

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/kpilot/kpilot/server"
)

func newHealthcheckCmd() *cobra.Command {
	var configPath, target string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the server on this host answers its health check (for a container's HEALTHCHECK)",
		Long: `healthcheck asks the server on this host for /healthz and exits 0 when it
answers 200, 1 otherwise. Without --url the address comes from listen in the
config, with 127.0.0.1 for an unspecified host ("0.0.0.0:8080"). When the
server serves HTTPS, the certificate is not checked: the check goes to this
host only and sends nothing secret. Container images need no curl for it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			insecure := false
			if target == "" {
				cfg, err := server.LoadConfig(configPath)
				if err != nil {
					return err
				}
				target, err = localURL(cfg.Listen, cfg.TLSCertFile != "")
				if err != nil {
					return err
				}
				target += "/healthz"
				insecure = true
			}
			hc := &http.Client{Timeout: timeout, Transport: &http.Transport{
				Proxy:           nil,                                       // never through a proxy: this host only
				TLSClientConfig: &tls.Config{InsecureSkipVerify: insecure}, //nolint:gosec // this host's own listener, see Long
			}}
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodGet, target, nil)
			if err != nil {
				return err
			}
			resp, err := hc.Do(req)
			if err != nil {
				return fmt.Errorf("health check: %w", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("health check: %s answered %s", target, resp.Status)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", target)
			return nil
		},
	}
	configFlag(cmd, &configPath)
	cmd.Flags().StringVar(&target, "url", "", "health URL to ask (default: /healthz on the config's listen address)")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	return cmd
}

// localURL is the base URL of a listener on this host.
func localURL(listen string, https bool) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	u := url.URL{Scheme: "http", Host: net.JoinHostPort(host, port)}
	if https {
		u.Scheme = "https"
	}
	return u.String(), nil
}
