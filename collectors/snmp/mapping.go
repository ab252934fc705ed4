package snmp

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"

	"github.com/kpilot/kpilot/internal/kpi"
)

// Numeric OIDs, so that nothing needs MIB files at run time.
const (
	oidSysDescr    = ".1.3.6.1.2.1.1.1.0"
	oidSysObjectID = ".1.3.6.1.2.1.1.2.0"
	oidSysUpTime   = ".1.3.6.1.2.1.1.3.0"
	oidSysContact  = ".1.3.6.1.2.1.1.4.0"
	oidSysName     = ".1.3.6.1.2.1.1.5.0"
	oidSysLocation = ".1.3.6.1.2.1.1.6.0"

	oidIfEntry  = ".1.3.6.1.2.1.2.2.1"    // IF-MIB::ifEntry
	oidIfXEntry = ".1.3.6.1.2.1.31.1.1.1" // IF-MIB::ifXEntry
)

var systemOIDs = []string{oidSysDescr, oidSysObjectID, oidSysUpTime, oidSysContact, oidSysName, oidSysLocation}

// mapSystem turns the system group into the uptime sample and the inventory
// attributes. A missing sysUpTime is not an error: some agents hide it.
func mapSystem(asset string, now time.Time, pdus []gosnmp.SnmpPDU) (*kpi.Sample, map[string]any) {
	attrs := map[string]any{}
	var sample *kpi.Sample
	for _, p := range pdus {
		if isMissing(p) {
			continue
		}
		switch p.Name {
		case oidSysUpTime:
			ticks, ok := toUint64(p)
			if !ok {
				continue
			}
			sample = &kpi.Sample{Asset: asset, Measurement: "system", Time: now,
				Fields: map[string]any{"uptime_seconds": float64(ticks) / 100}}
		case oidSysDescr:
			attrs["sys_descr"] = octetText(p.Value)
		case oidSysObjectID:
			attrs["sys_object_id"] = fmt.Sprint(p.Value)
		case oidSysContact:
			attrs["sys_contact"] = octetText(p.Value)
		case oidSysName:
			attrs["sys_name"] = octetText(p.Value)
		case oidSysLocation:
			attrs["sys_location"] = octetText(p.Value)
		}
	}
	return sample, attrs
}

// ifColumns names the IF-MIB columns read from ifEntry (.2.2.1.N) and
// ifXEntry (.31.1.1.1.N).
var ifColumns = map[string]string{
	oidIfEntry + ".2": "descr", oidIfEntry + ".3": "type", oidIfEntry + ".4": "mtu",
	oidIfEntry + ".5": "speed", oidIfEntry + ".6": "mac",
	oidIfEntry + ".7": "admin_status", oidIfEntry + ".8": "oper_status",
	oidIfEntry + ".10": "in_octets32", oidIfEntry + ".11": "in_ucast_pkts32",
	oidIfEntry + ".13": "in_discards", oidIfEntry + ".14": "in_errors",
	oidIfEntry + ".16": "out_octets32", oidIfEntry + ".17": "out_ucast_pkts32",
	oidIfEntry + ".19": "out_discards", oidIfEntry + ".20": "out_errors",
	oidIfXEntry + ".1": "name", oidIfXEntry + ".6": "in_octets64",
	oidIfXEntry + ".7": "in_ucast_pkts64", oidIfXEntry + ".10": "out_octets64",
	oidIfXEntry + ".11": "out_ucast_pkts64", oidIfXEntry + ".15": "high_speed",
	oidIfXEntry + ".18": "alias",
}

type ifRow struct {
	index int
	text  map[string]string
	num   map[string]uint64
}

// mapInterfaces groups walked IF-MIB cells by ifIndex and turns every row
// into one "interface" sample and one inventory component. The 64-bit
// counters of ifXTable win over the 32-bit ones of ifTable when both exist.
func mapInterfaces(asset string, now time.Time, pdus []gosnmp.SnmpPDU) ([]kpi.Sample, []map[string]any, []error) {
	rows := map[int]*ifRow{}
	var order []int
	var errs []error
	for _, p := range pdus {
		if isMissing(p) {
			continue
		}
		dot := strings.LastIndexByte(p.Name, '.')
		col, ok := ifColumns[p.Name[:max(dot, 0)]]
		if !ok {
			continue
		}
		idx, err := strconv.Atoi(p.Name[dot+1:])
		if err != nil || idx <= 0 {
			errs = append(errs, fmt.Errorf("interface OID %s: index is not a positive number", p.Name))
			continue
		}
		r := rows[idx]
		if r == nil {
			r = &ifRow{index: idx, text: map[string]string{}, num: map[string]uint64{}}
			rows[idx] = r
			order = append(order, idx)
		}
		switch col {
		case "descr", "name", "alias":
			r.text[col] = octetText(p.Value)
		case "mac":
			r.text[col] = macText(p.Value)
		default:
			if v, ok := toUint64(p); ok {
				r.num[col] = v
			} else {
				errs = append(errs, fmt.Errorf("interface %d: %s: unexpected type %s", idx, col, p.Type))
			}
		}
	}
	var samples []kpi.Sample
	var comps []map[string]any
	for _, idx := range order {
		s, c := rows[idx].sample(asset, now)
		samples = append(samples, s)
		comps = append(comps, c)
	}
	return samples, comps, errs
}

func (r *ifRow) sample(asset string, now time.Time) (kpi.Sample, map[string]any) {
	name := r.text["name"]
	if name == "" {
		name = r.text["descr"]
	}
	fields := map[string]any{}
	pick := func(field, hc, c32 string) {
		if v, ok := r.num[hc]; ok {
			fields[field] = clampInt(v)
		} else if v, ok := r.num[c32]; ok {
			fields[field] = clampInt(v)
		}
	}
	pick("in_octets", "in_octets64", "in_octets32")
	pick("out_octets", "out_octets64", "out_octets32")
	pick("in_ucast_pkts", "in_ucast_pkts64", "in_ucast_pkts32")
	pick("out_ucast_pkts", "out_ucast_pkts64", "out_ucast_pkts32")
	for _, k := range []string{"in_errors", "out_errors", "in_discards", "out_discards", "admin_status", "oper_status"} {
		if v, ok := r.num[k]; ok {
			fields[k] = clampInt(v)
		}
	}
	// ifSpeed saturates at 4294967295 bit/s; ifHighSpeed (Mbit/s) is exact
	// for fast links.
	if hs, ok := r.num["high_speed"]; ok && hs > 0 {
		fields["speed_bps"] = clampInt(hs * 1_000_000)
	} else if s, ok := r.num["speed"]; ok {
		fields["speed_bps"] = clampInt(s)
	}
	s := kpi.Sample{Asset: asset, Measurement: "interface", Time: now, Fields: fields,
		Tags: map[string]string{"ifindex": strconv.Itoa(r.index), "ifname": name}}
	comp := map[string]any{"index": r.index, "name": name}
	for _, k := range []string{"descr", "alias", "mac"} {
		if v := r.text[k]; v != "" {
			comp[k] = v
		}
	}
	if v, ok := r.num["type"]; ok {
		comp["type"] = v
	}
	if v, ok := r.num["mtu"]; ok {
		comp["mtu"] = v
	}
	if v, ok := fields["speed_bps"]; ok {
		comp["speed_bps"] = v
	}
	return s, comp
}

// isMissing reports the per-varbind exceptions of SNMPv2: the agent has no
// such object or instance, or the walk ran past the end of its MIB view.
func isMissing(p gosnmp.SnmpPDU) bool {
	switch p.Type {
	case gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView, gosnmp.Null:
		return true
	}
	return false
}

// toUint64 decodes the numeric SNMP types.
func toUint64(p gosnmp.SnmpPDU) (uint64, bool) {
	switch p.Type {
	case gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Uinteger32, gosnmp.Counter64, gosnmp.Integer:
		b := gosnmp.ToBigInt(p.Value)
		if b.Sign() < 0 || !b.IsUint64() {
			return 0, false
		}
		return b.Uint64(), true
	}
	return 0, false
}

// clampInt stores counters as InfluxDB integers (int64). A Counter64 above
// 2^63-1 cannot occur before a device has moved 8 EiB; it is clamped rather
// than wrapped into a negative number.
func clampInt(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

// octetText decodes an OCTET STRING as text: UTF-8 when it is valid, hex
// otherwise, with trailing NULs (common in printer and UPS agents) removed.
func octetText(v any) string {
	b, ok := v.([]byte)
	if !ok {
		return fmt.Sprint(v)
	}
	b = []byte(strings.TrimRight(string(b), "\x00"))
	if utf8.Valid(b) {
		return strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%x", b)
}

// macText formats a 6-byte physical address as aa:bb:cc:dd:ee:ff.
func macText(v any) string {
	b, ok := v.([]byte)
	if !ok || len(b) == 0 {
		return ""
	}
	if len(b) == 6 {
		return net.HardwareAddr(b).String()
	}
	return fmt.Sprintf("%x", b)
}
