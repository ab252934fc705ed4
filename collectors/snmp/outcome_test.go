package snmp

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// TestOutcomes: each way a poll of the real snmpd fails has its class and
// a message that names the likely cause. A wrong v1/v2c community is
// never answered, so it is a timeout whose message says so.
func TestOutcomes(t *testing.T) {
	s := devenv.SNMP(t)
	closed, err := devenv.FreePort("udp")
	require.NoError(t, err)
	closedAddr := "127.0.0.1:" + strconv.Itoa(closed)
	v3 := func(user, auth string) func(*Config) {
		return func(c *Config) {
			c.Version, c.Username, c.SecurityLevel = "3", user, "auth_priv"
			c.AuthProtocol, c.AuthPassword = "sha", yamlconf.Secret(auth)
			c.PrivProtocol, c.PrivPassword = "aes", yamlconf.Secret(s.V3PrivPass)
		}
	}
	tests := []struct {
		name   string
		addr   string
		change func(*Config)
		want   collectors.Outcome
		msg    string
	}{
		{"ok", s.Addr(), nil, collectors.OutcomeOK, ""},
		{"wrong community", s.Addr(), func(c *Config) { c.Community = "wrong" }, collectors.OutcomeUnreachable,
			fmt.Sprintf("no answer from %s within 1s: is it reachable, and is the community right? (an SNMP agent does not answer a request with a wrong community)", s.Addr())},
		{"wrong v3 auth password", s.Addr(), v3(s.V3User, "not-the-password"), collectors.OutcomeCredentialsRejected,
			fmt.Sprintf("%s: the agent's answer to SNMPv3 user %q does not authenticate: it refused the user or its authentication", s.Addr(), s.V3User)},
		{"unknown v3 user", s.Addr(), v3("nobody", s.V3AuthPass), collectors.OutcomeCredentialsRejected,
			"(usmStatsUnknownUserNames or usmStatsWrongDigests): are username, auth_password and auth_protocol right?"},
		{"closed port", closedAddr, nil, collectors.OutcomeUnreachable, closedAddr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A poll that gets an answer has time to spare on a busy host
			// (a v3 exchange is two round trips); one that gets none waits
			// out the timeout its message names.
			timeout := 10 * time.Second
			if tt.want == collectors.OutcomeUnreachable {
				timeout = time.Second
			}
			c := newCollector(t, testConfig(func(c *Config) {
				c.Retries, c.Timeout = 0, yamlconf.Duration(timeout)
				if tt.change != nil {
					tt.change(c)
				}
			}), tt.addr)
			ctx, cancel := context.WithTimeout(t.Context(), timeout)
			defer cancel()
			err := c.Collect(ctx, &collectors.Recorder{})
			require.Equal(t, tt.want, collectors.Classify(err), "%v", err)
			if tt.msg != "" {
				require.ErrorContains(t, err, tt.msg)
			}
		})
	}
}
