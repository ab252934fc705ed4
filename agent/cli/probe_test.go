package cli

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/agent"
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/mockoon"
	"github.com/kpilot/kpilot/internal/redfishmock"
)

// probeConfig is the example config pointed at addr.
func probeConfig(t *testing.T, addr string) string {
	t.Helper()
	_, path := exampleConfig(t)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, bytes.ReplaceAll(data, []byte("127.0.0.1:1161"), []byte(addr)), 0o600))
	return path
}

func TestProbeAgainstSnmpd(t *testing.T) {
	s := devenv.SNMP(t)
	cfg := probeConfig(t, s.Addr())

	code, out, errOut := run(t, "probe", "--config", cfg, "--target", "lab-snmpd", "--format", "json")
	require.Equal(t, 0, code, errOut)
	var res agent.ProbeResult
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	require.True(t, res.OK)
	require.Equal(t, "lab_snmp", res.Collector)
	require.Equal(t, "snmp", res.Type)
	require.Equal(t, "lab-snmpd", res.Asset)
	require.NotNil(t, res.Inventory)
	require.Equal(t, "kpilot-snmpd", res.Inventory.Attributes["sys_name"])
	measurements := map[string]bool{}
	for _, x := range res.Samples {
		measurements[x.Measurement] = true
		require.Equal(t, "lab", x.Tags["site"])
	}
	require.True(t, measurements["system"] && measurements["interface"], "%v", measurements)

	// The documented keys are all there, also when empty.
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &raw))
	require.Equal(t, "ok", res.Outcome)
	for _, k := range []string{"collector", "type", "asset", "address", "started", "duration_seconds", "ok", "outcome", "partial_errors", "samples", "inventory"} {
		require.Contains(t, raw, k)
	}

	code, out, _ = run(t, "probe", "--config", cfg, "--target", s.Addr())
	require.Equal(t, 0, code, "an address names the target too")
	require.Contains(t, out, "SAMPLES")
	require.Contains(t, out, "sys_name")
}

func TestProbeFailureIsReportedAndExits1(t *testing.T) {
	port, err := devenv.FreePort("udp")
	require.NoError(t, err)
	cfg := probeConfig(t, "127.0.0.1:"+strconv.Itoa(port))
	code, out, _ := run(t, "probe", "--config", cfg, "--target", "lab-snmpd", "--format", "json")
	require.Equal(t, 1, code)
	var res agent.ProbeResult
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.False(t, res.OK)
	require.Equal(t, "unreachable", res.Outcome)
	require.Contains(t, res.Error, "nothing listens at 127.0.0.1:"+strconv.Itoa(port)+" (connection refused)")
	require.Empty(t, res.Samples)
}

// TestProbeWrongCommunity: snmpd does not answer a wrong community, so
// the probe times out, and says that the community may be the cause.
func TestProbeWrongCommunity(t *testing.T) {
	s := devenv.SNMP(t)
	_, cfg := exampleConfig(t, "127.0.0.1:1161", s.Addr(), "community: public", "community: wrong",
		"interval: 15s\n    version: 2c", "interval: 15s\n    timeout: 1s\n    version: 2c", "retries: 1", "retries: 0")
	code, out, _ := run(t, "probe", "--config", cfg, "--target", "lab-snmpd")
	require.Equal(t, 1, code)
	require.Contains(t, out, "FAILED (unreachable): no answer from "+s.Addr()+" within 1s: is it reachable, and is the community right?")
}

func TestProbeUsage(t *testing.T) {
	code, _, errOut := run(t, "probe", "--config", "../../configs/agent.example.yaml")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "--target is required")
	code, _, errOut = run(t, "probe", "--config", "../../configs/agent.example.yaml", "--target", "nope")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `no target "nope"`)
	code, _, _ = run(t, "probe", "--config", "../../configs/agent.example.yaml", "--target", "lab-snmpd", "--format", "xml")
	require.Equal(t, 2, code)
}

func TestProbeAgainstRedfishMockup(t *testing.T) {
	bmc, err := redfishmock.ListenTLS("127.0.0.1:0", "hpe-ilo5-dl360-gen10plus",
		redfishmock.Options{Username: "monitor", Password: "lab-bmc-password"})
	require.NoError(t, err)
	t.Cleanup(func() { bmc.Close() })
	ca := filepath.Join(t.TempDir(), "bmc-ca.pem")
	require.NoError(t, os.WriteFile(ca, bmc.CAPEM, 0o600))
	_, cfg := exampleConfig(t, "https://127.0.0.1:8443", bmc.URL, "# ca_file: /etc/kpilot/bmc-ca.pem", "ca_file: "+ca)

	res := probeJSON(t, cfg, "lab-bmc")
	require.Equal(t, "redfish", res.Type)
	require.Equal(t, "MXQ2390RHW", res.Inventory.Attributes["serial"])
	measurements := map[string]bool{}
	for _, x := range res.Samples {
		measurements[x.Measurement] = true
	}
	require.True(t, measurements["temperature"] && measurements["power"] && measurements["server_health"], "%v", measurements)
	st := bmc.Stats()
	require.Equal(t, int64(1), st.SessionsOpened)
	require.Zero(t, st.SessionsOpen, "probe must log out of the BMC")
}

func TestProbeAgainstRESTAnswers(t *testing.T) {
	env, err := mockoon.Load("../../collectors/rest/testdata/mockoon/netapp-ontap.json")
	require.NoError(t, err)
	api := httptest.NewServer(mockoon.NewServer(env, ""))
	t.Cleanup(api.Close)
	_, cfg := exampleConfig(t, "http://127.0.0.1:8444", api.URL)

	res := probeJSON(t, cfg, "lab-ontap")
	require.Equal(t, "rest", res.Type)
	require.Equal(t, "storage", res.Inventory.Attributes["category"])
	require.Equal(t, "NetApp", res.Inventory.Attributes["manufacturer"])
	var sizes []any
	for _, x := range res.Samples {
		if x.Measurement == "volume" {
			sizes = append(sizes, x.Fields["size_bytes"])
		}
	}
	require.Len(t, sizes, 1)
	require.EqualValues(t, 4398046511104, sizes[0])

	code, out, _ := run(t, "probe", "--config", cfg, "--target", "lab-ontap", "--format", "table")
	require.Equal(t, 0, code)
	require.Contains(t, out, "volume")
}

// probeJSON runs probe --format json on one target and checks it succeeded.
func probeJSON(t *testing.T, cfg, target string) agent.ProbeResult {
	t.Helper()
	code, out, errOut := run(t, "probe", "--config", cfg, "--target", target, "--format", "json")
	require.Equal(t, 0, code, errOut)
	var res agent.ProbeResult
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	require.True(t, res.OK, res.Error)
	return res
}
