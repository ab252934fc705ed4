package agent

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/collectors/snmp"
	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// partialCollector returns a sample and reports a problem with the rest.
type partialCollector struct{}

func (partialCollector) Collect(_ context.Context, s collectors.Sink) error {
	s.Sample(kpi.Sample{Asset: "partial", Measurement: "m", Time: time.Now(), Fields: map[string]any{"v": 1.0}})
	s.Error(errors.New("walking 1.3.6.1.2.1.2.2.1.10: agent answered genErr"))
	return nil
}

// TestPollOutcomes polls the real snmpd as it is, with a wrong community
// and with a wrong v3 password, and a closed port: each poll's agent_poll
// sample carries its outcome class and message, up is false only for an
// unreachable target, and /metrics counts the class.
func TestPollOutcomes(t *testing.T) {
	s := devenv.SNMP(t)
	closed, err := devenv.FreePort("udp")
	require.NoError(t, err)
	a := newTestAgent(t, 4)
	snmpJob := func(asset, addr string, change func(*snmp.Config)) *job {
		cfg := snmp.BenchConfig([]string{"system"}, nil)
		cfg.Retries = 0
		cfg.Timeout = yamlconf.Duration(time.Second)
		if change != nil {
			change(cfg)
		}
		cfg.Targets = []collectors.Target{{Address: addr, Asset: asset}}
		require.NoError(t, cfg.Validate())
		c, err := cfg.New(cfg.Targets[0], collectors.Options{})
		require.NoError(t, err)
		return &job{collector: "snmp", typ: "snmp", target: cfg.Targets[0], interval: time.Minute, timeout: time.Duration(cfg.Timeout), c: c, log: a.log}
	}
	tests := []struct {
		job  *job
		want collectors.Outcome
		line []string // in the agent_poll line
	}{
		{snmpJob("ok", s.Addr(), nil), collectors.OutcomeOK, []string{`message=""`, "outcome=0i", "up=true"}},
		{&job{collector: "x", typ: "fake", target: collectors.Target{Asset: "partial"}, interval: time.Minute, timeout: time.Second,
			c: partialCollector{}, log: a.log}, collectors.OutcomePartial,
			[]string{`message="walking 1.3.6.1.2.1.2.2.1.10: agent answered genErr"`, "outcome=1i", "up=true"}},
		{snmpJob("community", s.Addr(), func(c *snmp.Config) { c.Community = "wrong" }), collectors.OutcomeUnreachable,
			[]string{`message="no answer from ` + s.Addr() + ` within 1s: is it reachable, and is the community right?`, "outcome=2i", "up=false"}},
		{snmpJob("v3", s.Addr(), func(c *snmp.Config) {
			c.Timeout = yamlconf.Duration(10 * time.Second) // answered: two round trips, time to spare on a busy host
			c.Version, c.Username, c.SecurityLevel = "3", s.V3User, "auth_no_priv"
			c.AuthProtocol, c.AuthPassword, c.Community = "sha", "not-the-password", ""
		}), collectors.OutcomeCredentialsRejected, []string{"outcome=3i", "up=true", `usmStatsWrongDigests`}},
		{snmpJob("closed", "127.0.0.1:"+strconv.Itoa(closed), nil), collectors.OutcomeUnreachable,
			[]string{`message="nothing listens at 127.0.0.1:` + strconv.Itoa(closed) + ` (connection refused)`, "outcome=2i", "up=false"}},
	}
	builtin, err := catalog.Builtin()
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.job.target.Asset, func(t *testing.T) {
			a.poll(t.Context(), tt.job)
			a.batcher.flush()
			var line string
			for _, b := range spooledBatches(t, a.spool) {
				for _, l := range b {
					if strings.HasPrefix(l, "agent_poll,") && strings.Contains(l, "asset="+tt.job.target.Asset+",") {
						line = l
					}
				}
			}
			require.NotEmpty(t, line, "an agent_poll sample")
			for _, want := range tt.line {
				require.Contains(t, line, want)
			}
			require.Contains(t, line, "duration_seconds=")
			// Every field of the sample has its meaning in the built-in catalog.
			dec := lineprotocol.NewDecoderWithBytes([]byte(line))
			require.True(t, dec.Next())
			_, err := dec.Measurement()
			require.NoError(t, err)
			for {
				k, _, err := dec.NextTag()
				require.NoError(t, err)
				if k == nil {
					break
				}
			}
			var fields []string
			for {
				k, _, err := dec.NextField()
				require.NoError(t, err)
				if k == nil {
					break
				}
				_, ok := builtin.Lookup("agent_poll", string(k))
				require.True(t, ok, "agent_poll.%s has a definition", k)
				fields = append(fields, string(k))
			}
			require.ElementsMatch(t, []string{"up", "outcome", "message", "duration_seconds"}, fields)
			require.Equal(t, 1.0, testutil.ToFloat64(a.m.outcomes.WithLabelValues(tt.job.collector, tt.job.target.Asset, tt.want.String())))
			require.Equal(t, float64(tt.want), testutil.ToFloat64(a.m.outcome.WithLabelValues(tt.job.collector, tt.job.target.Asset)))
		})
	}
}

func TestPollMessage(t *testing.T) {
	long := strings.Repeat("ä", 400) // 800 bytes
	tests := []struct {
		name, in, want string
	}{
		{"short", "no answer", "no answer"},
		{"first line only", "collector panicked: boom\ngoroutine 1 [running]:", "collector panicked: boom"},
		{"cut at a character", long, strings.Repeat("ä", 248) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pollMessage(tt.in)
			require.Equal(t, tt.want, got)
			require.LessOrEqual(t, len(got), maxPollMessage)
		})
	}
}
