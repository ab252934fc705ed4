package snmp

import (
	"math"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/stretchr/testify/require"
)

func pdu(name string, typ gosnmp.Asn1BER, v any) gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: name, Type: typ, Value: v}
}

func TestMapSystem(t *testing.T) {
	now := time.Unix(1700000000, 0)
	s, attrs := mapSystem("a", now, []gosnmp.SnmpPDU{
		pdu(oidSysDescr, gosnmp.OctetString, []byte("Linux box\x00\x00")),
		pdu(oidSysObjectID, gosnmp.ObjectIdentifier, ".1.3.6.1.4.1.8072.3.2.10"),
		pdu(oidSysUpTime, gosnmp.TimeTicks, uint32(12345)),
		pdu(oidSysName, gosnmp.NoSuchObject, nil),
	})
	require.NotNil(t, s)
	require.InDelta(t, 123.45, s.Fields["uptime_seconds"], 1e-9)
	require.Equal(t, now, s.Time)
	require.Equal(t, map[string]any{"sys_descr": "Linux box", "sys_object_id": ".1.3.6.1.4.1.8072.3.2.10"}, attrs)
}

func TestMapSystemWithoutUptime(t *testing.T) {
	s, _ := mapSystem("a", time.Now(), []gosnmp.SnmpPDU{pdu(oidSysUpTime, gosnmp.NoSuchInstance, nil)})
	require.Nil(t, s)
}

func TestMapInterfaces(t *testing.T) {
	now := time.Now()
	pdus := []gosnmp.SnmpPDU{
		pdu(oidIfEntry+".2.1", gosnmp.OctetString, []byte("lo")),
		pdu(oidIfEntry+".2.2", gosnmp.OctetString, []byte("eth0")),
		pdu(oidIfEntry+".5.2", gosnmp.Gauge32, uint(4294967295)),
		pdu(oidIfEntry+".6.2", gosnmp.OctetString, []byte{0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e}),
		pdu(oidIfEntry+".8.2", gosnmp.Integer, 1),
		pdu(oidIfEntry+".10.1", gosnmp.Counter32, uint(100)),
		pdu(oidIfEntry+".10.2", gosnmp.Counter32, uint(7)), // 32-bit, overridden by HC below
		pdu(oidIfXEntry+".1.2", gosnmp.OctetString, []byte("enp1s0")),
		pdu(oidIfXEntry+".6.2", gosnmp.Counter64, uint64(5_000_000_000)),
		pdu(oidIfXEntry+".15.2", gosnmp.Gauge32, uint(10000)),
		pdu(oidIfXEntry+".10.2", gosnmp.Counter64, uint64(math.MaxUint64)),
		pdu(oidIfEntry+".14.x", gosnmp.Counter32, uint(1)), // bad index
		pdu(oidIfEntry+".13.1", gosnmp.EndOfMibView, nil),
	}
	samples, comps, errs := mapInterfaces("sw", now, pdus)
	require.Len(t, errs, 1)
	require.Len(t, samples, 2)

	lo, eth := samples[0], samples[1]
	require.Equal(t, map[string]string{"ifindex": "1", "ifname": "lo"}, lo.Tags)
	require.Equal(t, int64(100), lo.Fields["in_octets"], "32-bit counter used when no 64-bit one exists")

	require.Equal(t, "enp1s0", eth.Tags["ifname"], "ifName wins over ifDescr")
	require.Equal(t, int64(5_000_000_000), eth.Fields["in_octets"], "64-bit counter wins")
	require.Equal(t, int64(math.MaxInt64), eth.Fields["out_octets"], "counters above int64 are clamped, not wrapped")
	require.Equal(t, int64(10_000_000_000), eth.Fields["speed_bps"], "ifHighSpeed beats the saturated ifSpeed")
	require.Equal(t, int64(1), eth.Fields["oper_status"])
	require.Equal(t, "00:1a:2b:3c:4d:5e", comps[1]["mac"])
	require.Equal(t, "eth0", comps[1]["descr"])
}

func TestOctetText(t *testing.T) {
	require.Equal(t, "héllo", octetText([]byte("héllo ")))
	require.Equal(t, "ff00fe", octetText([]byte{0xff, 0x00, 0xfe}), "binary is shown as hex")
}
