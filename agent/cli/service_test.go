package cli

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestServiceConfig(t *testing.T) {
	c := serviceConfig("kpilot-agent-acme", "/etc/kpilot/acme.yaml", "kpilot")
	require.Equal(t, "kpilot-agent-acme", c.Name)
	require.Equal(t, []string{"run", "--config", "/etc/kpilot/acme.yaml"}, c.Arguments)
	require.Equal(t, "kpilot", c.UserName)
	require.Equal(t, "HUP", c.Option["ReloadSignal"], "systemctl reload sends SIGHUP, which reloads the config")
	require.Equal(t, "on-failure", c.Option["Restart"])
	require.Contains(t, c.Option["SystemdScript"], "RestartSec=10")
	require.Contains(t, c.Dependencies, "After=network-online.target")
}

// The service manager's Start must return at once with the agent running,
// and Stop must wait until the agent has finished (the spool is flushed)
// and report how it ended.
func TestServiceProgramStartStop(t *testing.T) {
	started := make(chan struct{})
	finished := false
	p := &program{run: func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // flushing
		finished = true
		return errors.New("drained with 3 batches left")
	}}
	require.NoError(t, p.Start(nil))
	<-started
	err := p.Stop(nil)
	require.True(t, finished, "Stop waits for the agent")
	require.EqualError(t, err, "drained with 3 batches left")
}
