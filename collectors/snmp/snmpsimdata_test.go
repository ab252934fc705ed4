package snmp

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/collectortest"
	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// TestSnmpsimDataRecordings polls the BSD-licensed full walks kept in
// testdata/snmprec (so this runs without ../shared). Expected values are
// read off the recordings by hand.
func TestSnmpsimDataRecordings(t *testing.T) {
	files, err := filepath.Glob("testdata/snmprec/*.snmprec")
	require.NoError(t, err)
	require.Len(t, files, 3)
	s := devenv.SNMPSim(t, files...)
	poll := func(t *testing.T, community string) *collectortest.Sink {
		cfg := testConfig(func(c *Config) { c.Community = yamlconf.Secret(community); c.MaxRepetitions = 25 })
		sink, err := collectortest.CollectOnce(t, newCollector(t, cfg, s.Addr()))
		require.NoError(t, err)
		require.Empty(t, sink.Errors)
		require.Len(t, sink.Inventories, 1)
		return sink
	}

	t.Run("netapp", func(t *testing.T) {
		sink := poll(t, "snmpsimdata_netapp-fas3270")
		inv := sink.Inventories[0]
		require.Equal(t, "NetApp", inv.Attributes["manufacturer"])
		require.Equal(t, "FAS3270", inv.Attributes["model"])
		require.Equal(t, "940001051000", inv.Attributes["serial"])
		require.Equal(t, "8.2.3", inv.Attributes["os_version"])
		require.Equal(t, "DUMSYS-46", inv.Attributes["sys_name"])
		require.Equal(t, "netapp", inv.Attributes["snmp_profiles"].([]string)[0], "vendor profile first")
		vols := inv.Components["volumes"]
		require.Len(t, vols, 42, "dfTable rows")
		// dfKBytesTotal.1 overflowed to a negative Integer32; the 64-bit column is right.
		require.Equal(t, "aggr1sas", vols[0]["filesystem"])
		require.Equal(t, 16949235920.0*1024, vols[0]["size_bytes"])
		v := findTag(t, sink.Find("volume"), "filesystem", "aggr1sas")
		require.Greater(t, v.Fields["used_percent"].(float64), 0.0)
	})

	t.Run("apc rack PDU", func(t *testing.T) {
		sink := poll(t, "snmpsimdata_apc-8932")
		inv := sink.Inventories[0]
		require.Equal(t, "APC", inv.Attributes["manufacturer"])
		require.Equal(t, "AP8932", inv.Attributes["model"])
		require.Equal(t, "3F503A169043", inv.Attributes["serial"])
		require.Equal(t, "v6.7.2", inv.Attributes["os_version"], "PF: firmware of the management card")
		pdu := sink.Find("pdu")
		require.Len(t, pdu, 1)
		require.Equal(t, "pwr-dc01-pdu-rack3-01", pdu[0].Tags["name"])
		require.InDelta(t, 160.0, pdu[0].Fields["power_watts"], 1e-9, "16 hundredths of kW")
		require.InDelta(t, 642.6, pdu[0].Fields["energy_kwh"], 1e-9)
		phase := sink.Find("pdu_phase")
		require.Len(t, phase, 1)
		require.InDelta(t, 121.0, phase[0].Fields["voltage"], 1e-9)
	})

	t.Run("windows xp", func(t *testing.T) {
		sink := poll(t, "snmpsimdata_windows-xp")
		inv := sink.Inventories[0]
		require.Equal(t, "CRAY", inv.Attributes["sys_name"])
		c := inv.Components["storage"]
		require.NotEmpty(t, c)
		require.Equal(t, `C:\ Label:  Serial Number 1848504c`, c[0]["descr"])
		require.Equal(t, 1952447.0*16384, c[0]["size_bytes"])
		for _, x := range c {
			require.NotEqual(t, `D:\`, x["descr"], "the CD drive is not a volume")
		}
		require.NotEmpty(t, sink.Find("cpu"))
		require.NotEmpty(t, inv.Components["devices"])
	})
}
