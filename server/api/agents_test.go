package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/kpi"
)

func poll(asset, collector string, at time.Time, up bool) kpi.Sample {
	return kpi.Sample{Asset: asset, Measurement: "agent_poll", Time: at, Tags: map[string]string{"collector": collector},
		Fields: map[string]any{"up": up, "duration_seconds": 0.2}}
}

// The portal's status of an asset is its latest poll: a later batch with
// an older poll does not turn it back, and with two collectors (BMC and
// operating system) the device is up when either reaches it.
func TestAssetStatusFollowsTheLatestPoll(t *testing.T) {
	influx := devenv.Influx(t)
	e := newEnv(t, influx, influx.URL)
	tok := e.userToken()
	status := func(name string) string {
		t.Helper()
		as := e.assetBySource(name)
		code, body := e.get(tok, "/api/v1/assets/"+as.ID)
		require.Equal(t, http.StatusOK, code, "%v", body)
		return body["asset"].(map[string]any)["status"].(string)
	}
	now := time.Now().Add(-time.Minute)
	require.Equal(t, http.StatusOK, e.post(e.cred, batchOf(t, []kpi.Sample{
		poll("srv", "redfish", now, true), poll("nas", "snmp", now.Add(-time.Second), true), poll("nas", "snmp", now, false),
	})).code)
	require.Equal(t, "up", status("srv"))
	require.Equal(t, "down", status("nas"), "the latest of the batch's polls counts")

	require.Equal(t, http.StatusOK, e.post(e.cred, batchOf(t, []kpi.Sample{poll("nas", "snmp", now.Add(-time.Hour), true)})).code)
	require.Equal(t, "down", status("nas"), "an older poll delivered late changes nothing")

	require.Equal(t, http.StatusOK, e.post(e.cred, batchOf(t, []kpi.Sample{
		poll("srv", "redfish", now.Add(time.Second), false), poll("srv", "os", now.Add(time.Second), true),
	})).code)
	require.Equal(t, "up", status("srv"), "the operating system answers while the BMC does not")

	require.Equal(t, http.StatusOK, e.post(e.cred, batchOf(t, []kpi.Sample{poll("old", "snmp", now.Add(-time.Hour), true)})).code)
	require.Equal(t, "stale", status("old"))

	code, body := e.get(tok, "/api/v1/assets")
	require.Equal(t, http.StatusOK, code)
	for _, a := range body["assets"].([]any) {
		a := a.(map[string]any)
		require.NotEmpty(t, a["last_poll_at"], "%v", a)
	}
}

// GET /agents lists the agents of the caller's OU and below with their
// last delivery and the latest problem with their data.
func TestAgentsListShowsLastSeenAndErrors(t *testing.T) {
	influx := devenv.Influx(t)
	e := newEnv(t, influx, influx.URL)
	tok := e.userToken()
	e.enroll(e.org.RootOU) // an agent that never delivers
	lines := fmt.Sprintf("cpu,asset=srv usage_percent=5 %d\nbad line\n", ts())
	r := e.post(e.cred, batchBody(t, uuid.NewString(), lines))
	require.Equal(t, http.StatusOK, r.code, "%v", r.body)

	code, body := e.get(tok, "/api/v1/agents")
	require.Equal(t, http.StatusOK, code, "%v", body)
	agents := body["agents"].([]any)
	require.Len(t, agents, 2)
	byOU := map[string]map[string]any{}
	for _, a := range agents {
		a := a.(map[string]any)
		byOU[a["ou_id"].(string)] = a
	}
	require.NotContains(t, byOU[e.org.RootOU], "last_error", "the idle agent has no problem")
	active := byOU[e.branch.ID]
	require.NotNil(t, active, "%v", agents)
	require.Equal(t, "ok", active["status"])
	require.Contains(t, active["last_error"], "1 points refused; first: line 2")
	require.NotEmpty(t, active["last_seen_at"])
}
