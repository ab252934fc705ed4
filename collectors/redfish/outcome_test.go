package redfish

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/redfishmock"
)

// TestOutcomes: each way a poll of a Redfish mockup over HTTPS fails has
// its class and a plain message.
func TestOutcomes(t *testing.T) {
	closed, err := devenv.FreePort("tcp")
	require.NoError(t, err)
	tests := []struct {
		name  string
		fault map[string]redfishmock.Fault
		edit  func(*Config)
		want  collectors.Outcome
		msg   string // {addr} is the mockup's https://127.0.0.1:port
	}{
		{"ok", nil, nil, collectors.OutcomeOK, ""},
		{"wrong password", nil, func(c *Config) { c.Password = "not-the-password" },
			collectors.OutcomeCredentialsRejected, "as monitor: HTTP 401 Unauthorized (check username and password)"},
		{"wrong password, basic auth", nil, func(c *Config) { c.Password, c.Auth = "not-the-password", "basic" },
			collectors.OutcomeCredentialsRejected, "HTTP 401 Unauthorized (check username and password)"},
		{"untrusted certificate", nil, func(c *Config) { c.CAFile = "" },
			collectors.OutcomeProtocolError, "{addr}: TLS certificate not trusted (x509: certificate signed by unknown authority): set ca_file"},
		{"closed port", nil, func(c *Config) { c.Targets[0].Address = "https://127.0.0.1:" + strconv.Itoa(closed) },
			collectors.OutcomeUnreachable, fmt.Sprintf("nothing listens at https://127.0.0.1:%d (connection refused)", closed)},
		{"no answer", map[string]redfishmock.Fault{"/redfish/v1": {Delay: time.Minute}}, nil,
			collectors.OutcomeUnreachable, "no answer from {addr} within 1s: is it reachable?"},
		{"answers, then too slowly", map[string]redfishmock.Fault{"/redfish/v1/Systems": {Delay: time.Minute}}, nil,
			collectors.OutcomeProtocolError, "{addr} answered, but then not in time (the poll gave up after 1s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, srv := bmcServer(t, "dmtf-public-rackmount1", redfishmock.Options{})
			for p, f := range tt.fault {
				m.SetFault(p, f)
			}
			col := newCollector(t, testConfig(t, srv, func(c *Config) {
				c.Expand = false
				if tt.edit != nil {
					tt.edit(c)
				}
			}))
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			err := col.Collect(ctx, &collectors.Recorder{})
			require.Equal(t, tt.want, collectors.Classify(err), "%v", err)
			if tt.msg != "" {
				require.ErrorContains(t, err, replaceAddr(tt.msg, collectors.HTTPAddr(mustURL(t, srv.URL))))
			}
		})
	}
}

func replaceAddr(msg, addr string) string { return strings.ReplaceAll(msg, "{addr}", addr) }

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}
