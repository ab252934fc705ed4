package cli

import (
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

// TestCheckEveryTarget runs check over the example config with a real
// snmpd, a Redfish mockup and recorded ONTAP answers, then with the BMC
// gone: every target is reported, with what it gave or why it failed.
func TestCheckEveryTarget(t *testing.T) {
	s := devenv.SNMP(t)
	bmc, err := redfishmock.ListenTLS("127.0.0.1:0", "hpe-ilo5-dl360-gen10plus",
		redfishmock.Options{Username: "monitor", Password: "lab-bmc-password"})
	require.NoError(t, err)
	t.Cleanup(func() { bmc.Close() })
	ca := filepath.Join(t.TempDir(), "bmc-ca.pem")
	require.NoError(t, os.WriteFile(ca, bmc.CAPEM, 0o600))
	env, err := mockoon.Load("../../collectors/rest/testdata/mockoon/netapp-ontap.json")
	require.NoError(t, err)
	api := httptest.NewServer(mockoon.NewServer(env, ""))
	t.Cleanup(api.Close)
	serverPort, err := devenv.FreePort("tcp")
	require.NoError(t, err)
	dir, cfg := exampleConfig(t, "127.0.0.1:1161", s.Addr(), "http://127.0.0.1:8444", api.URL,
		"https://127.0.0.1:8443", bmc.URL, "# ca_file: /etc/kpilot/bmc-ca.pem", "ca_file: "+ca,
		"http://127.0.0.1:8080", "http://127.0.0.1:"+strconv.Itoa(serverPort))

	code, out, errOut := run(t, "check", "--config", cfg, "--skip-server", "--format", "json")
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	var rep agent.CheckReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.True(t, rep.OK)
	require.Nil(t, rep.Server)
	require.Len(t, rep.Targets, 3)
	byAsset := map[string]agent.TargetCheck{}
	for _, tc := range rep.Targets {
		require.True(t, tc.OK, "%s: %s", tc.Asset, tc.Error)
		require.Equal(t, "ok", tc.Outcome, tc.Asset)
		byAsset[tc.Asset] = tc
	}
	require.Contains(t, byAsset["lab-snmpd"].KPIs["system"], "uptime_seconds")
	require.Contains(t, byAsset["lab-snmpd"].Inventory.Attributes, "sys_name")
	require.Contains(t, byAsset["lab-bmc"].KPIs["power"], "consumed_watts")
	require.Contains(t, byAsset["lab-bmc"].Inventory.Attributes, "serial")
	require.Contains(t, byAsset["lab-ontap"].KPIs["volume"], "size_bytes")
	require.Positive(t, byAsset["lab-ontap"].Samples)

	// Without --skip-server the unreachable server fails the check, and
	// without a credential the message says to enroll.
	code, out, _ = run(t, "check", "--config", cfg)
	require.Equal(t, 1, code)
	require.Contains(t, out, "server http://127.0.0.1:"+strconv.Itoa(serverPort)+": FAILED")
	require.Contains(t, out, "kpilot-agent enroll")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "credential.json"), []byte(`{"token":"kpa_x","agent_id":"a"}`), 0o600))
	code, out, _ = run(t, "check", "--config", cfg)
	require.Equal(t, 1, code)
	require.Contains(t, out, "server not reachable")
	require.Contains(t, out, "connection refused")

	// A target that is down fails the check; the others are still reported.
	bmc.Close()
	code, out, _ = run(t, "check", "--config", cfg, "--skip-server")
	require.Equal(t, 1, code)
	require.Regexp(t, `lab_bmc\s+lab-bmc\s+\S+\s+FAILED: unreachable`, out)
	require.Contains(t, out, "error (unreachable): nothing listens at "+bmc.URL+" (connection refused)")
	require.Regexp(t, `lab_snmp\s+lab-snmpd\s+\S+\s+OK`, out)
	require.Contains(t, out, "1 of 3 targets failed")
	require.Contains(t, out, "kpis interface:")
}
