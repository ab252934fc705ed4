package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
)

// freeOptions are demo options whose every port is free.
func freeOptions(t *testing.T) options {
	t.Helper()
	port := func(network string) int {
		p, err := devenv.FreePort(network)
		require.NoError(t, err)
		return p
	}
	return options{dir: t.TempDir(), bin: t.TempDir(), configs: "../../configs",
		serverPort: port("tcp"), influxPort: port("tcp"), snmpPort: port("udp"),
		redfishPort: port("tcp"), restPort: port("tcp"),
		serverMetricsPort: port("tcp"), agentMetricsPort: port("tcp")}
}

// TestTakenPortNamesItsFlag takes one of the demo's ports (the UDP one
// with a real snmpd, a TCP one with a listener) and requires that the
// demo stops before starting anything, naming the port and the flag that
// moves it.
func TestTakenPortNamesItsFlag(t *testing.T) {
	tests := []struct {
		name string
		take func(t *testing.T, o *options) (port int)
		want string
	}{
		{"snmpd", func(t *testing.T, o *options) int {
			s := devenv.SNMP(t) // a real snmpd holds the port, as a left-over one would
			o.snmpPort = s.Port
			return s.Port
		}, "port %[1]d/udp for snmpd is taken (listen udp 127.0.0.1:%[1]d: bind: address already in use); choose another with -snmp-port, e.g. make demo DEMO_FLAGS=\"-snmp-port %[2]d\""},
		{"agent metrics", func(t *testing.T, o *options) int {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			t.Cleanup(func() { l.Close() })
			o.agentMetricsPort = l.Addr().(*net.TCPAddr).Port
			return o.agentMetricsPort
		}, "port %[1]d/tcp for kpilot-agent's /metrics is taken (listen tcp 127.0.0.1:%[1]d: bind: address already in use); choose another with -agent-metrics-port, e.g. make demo DEMO_FLAGS=\"-agent-metrics-port %[2]d\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := freeOptions(t)
			port := tt.take(t, &o)
			err := run(t.Context(), o, slog.New(slog.NewTextHandler(io.Discard, nil)))
			other := port + 10000 // the suggestion: 8080 becomes 18080; a high port goes down
			if other > 65535 {
				other = port - 10000
			}
			require.EqualError(t, err, fmt.Sprintf(tt.want, port, other))
		})
	}
}
