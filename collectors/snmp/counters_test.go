package snmp

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors/collectortest"
)

// countField says where a profile stores one of LibreNMS's count sensors
// and by how much ours is larger: the ZFS ARC sizes FREENAS-MIB and
// TRUENAS-MIB give in KiB are bytes here, LibreNMS keeps the KiB.
type countField struct {
	powerField
	per float64 // ours = LibreNMS's × per (0: 1)
}

// TestRecordedCounters polls recordings of NAS, printers, a Check Point
// management server and an ArubaOS controller, each with only the
// profile under test, and compares every count sensor LibreNMS found
// under the profile's OIDs with ours, by row index: running totals (ARC
// hits, pages printed) by their raw value, sizes in bytes, rates per
// second. Where the device names the rows (Sharp's counter table) or the
// profile does (Konica, HP), the name must be LibreNMS's too.
func TestRecordedCounters(t *testing.T) {
	shared := sharedRecordings(t)
	const (
		zfs   = ".1.3.6.1.4.1.50536.1."
		sharp = ".1.3.6.1.4.1.2385.1.1.19.2.1."
		km    = ".1.3.6.1.4.1.18334.1.1.1.5.7.2."
		hp    = ".1.3.6.1.4.1.11.2.3.9.4.2.1."
		prt   = ".1.3.6.1.2.1.43.10.2.1."
		cp    = ".1.3.6.1.4.1.2620.1.7.14."
		wlsx  = ".1.3.6.1.4.1.14823.2.2.1.4.1.4."
	)
	f := func(m, field string, per float64, kv ...string) countField {
		var tags map[string]string
		for i := 0; i+1 < len(kv); i += 2 {
			if tags == nil {
				tags = map[string]string{}
			}
			tags[kv[i]] = kv[i+1]
		}
		return countField{powerField{m, field, tags}, per}
	}
	printed := func(descr string) countField { return f("printer_usage", "count", 1, "descr", descr) }
	// FREENAS-MIB (CORE) and TRUENAS-MIB (SCALE) put the same scalars
	// under different branches: arc, l2arc, zilstat.
	nas := func(arc, l2, zil string) map[string]countField {
		return map[string]countField{
			zfs + arc + ".1.0":  f("zfs_arc", "current_size_bytes", 1024),
			zfs + arc + ".2.0":  f("zfs_arc", "metadata_bytes", 1024),
			zfs + arc + ".3.0":  f("zfs_arc", "data_bytes", 1024),
			zfs + arc + ".4.0":  f("zfs_arc", "hits", 1),
			zfs + arc + ".5.0":  f("zfs_arc", "misses", 1),
			zfs + arc + ".6.0":  f("zfs_arc", "target_size_bytes", 1024),
			zfs + arc + ".7.0":  f("zfs_arc", "mru_target_size_bytes", 1024),
			zfs + arc + ".8.0":  f("zfs_arc", "miss_percent", 1),
			zfs + arc + ".9.0":  f("zfs_arc", "hit_ratio_percent", 1),
			zfs + arc + ".10.0": {}, // zfsArcCacheMissRatio: 100 - the hit ratio, not read
			zfs + l2 + ".1.0":   f("zfs_l2arc", "hits", 1),
			zfs + l2 + ".2.0":   f("zfs_l2arc", "misses", 1),
			zfs + l2 + ".3.0":   {}, // zfsL2ArcRead, zfsL2ArcWrite: KiB read and written, not read
			zfs + l2 + ".4.0":   {},
			zfs + l2 + ".5.0":   f("zfs_l2arc", "current_size_bytes", 1024),
			zfs + zil + ".1.0":  f("zfs_zil", "ops_1s_count", 1),
			zfs + zil + ".2.0":  f("zfs_zil", "ops_5s_count", 1),
			zfs + zil + ".3.0":  f("zfs_zil", "ops_10s_count", 1),
		}
	}
	marker := map[string]countField{
		prt + "4": f("printer_marker", "life_count", 1),
		prt + "5": f("printer_marker", "power_on_count", 1),
	}
	tests := []struct {
		recording, profile, oidPrefix string
		fields                        map[string]countField
		named                         bool // the descr tag is LibreNMS's description
		want                          int  // count sensors LibreNMS has under oidPrefix that the profile reads
	}{
		{"truenas-scale_24.04.2.2", "truenas-arc", zfs, nas("3", "4", "5"), false, 14},
		{"truenas_11-3", "freenas-arc", zfs, nas("4", "5", "6"), false, 14},
		{"sharp_mxm266nv", "sharp-printer", sharp, map[string]countField{sharp + "3": printed("")}, true, 13},
		{"konica_c250i", "konica-printer", km, map[string]countField{
			km + "1.3.0":     printed("Total print duplex"),
			km + "1.5.0":     printed("Total scans"),
			km + "2.1.5.1.1": printed("Total copy black"),
			km + "2.1.5.2.1": printed("Total copy color"),
			km + "2.1.5.1.2": printed("Total print black"),
			km + "2.1.5.2.2": printed("Total print color"),
		}, true, 6},
		{"jetdirect_m130nw", "hp-printer", hp, map[string]countField{
			hp + "4.1.2.5.0":  printed("Total page cnt"),
			hp + "4.1.2.6.0":  printed("Total Mono cnt"),
			hp + "4.1.2.7.0":  printed("Total Color cnt"),
			hp + "4.1.2.22.0": printed("Total Duplex cnt"),
			hp + "4.1.2.34.0": printed("Total Jam cnt"),
			hp + "2.2.1.74.0": printed("Lifetime scanned"),
		}, true, 5},
		{"sharp_mxm266nv", "printer-mib", prt, marker, false, 2},
		{"konica_c250i", "printer-mib", prt, marker, false, 2},
		{"jetdirect_m130nw", "printer-mib", prt, marker, false, 2},
		{"utax", "printer-mib", prt, marker, false, 2},
		{"gaia_logserver", "checkpoint-logserver", cp, map[string]countField{
			cp + "1.0": f("checkpoint_log_server", "receive_rate", 1),
			cp + "2.0": f("checkpoint_log_server", "receive_rate_peak", 1),
		}, false, 2},
		{"arubaos_vmc", "arubaos-users", wlsx, map[string]countField{wlsx + "2.0": f("arubaos_users", "vpn_count", 1)}, false, 1},
	}
	pollRecordedProfiles(t, shared, len(tests), func(i int) (string, string) { return tests[i].recording, tests[i].profile },
		func(t *testing.T, i int, sink *collectortest.Sink, exp recordedExpected) {
			tt := tests[i]
			plain := map[string]powerField{}
			for oid := range tt.fields {
				plain[oid] = tt.fields[oid].powerField
			}
			n := 0
			for _, e := range exp.Sensors.Discovery.Sensors {
				if e.Class != "count" || !strings.HasPrefix(e.OID, tt.oidPrefix) {
					continue
				}
				_, idx, ok := powerColumn(plain, e.OID)
				require.True(t, ok, "%q: no column for %s", e.Descr, e.OID)
				where := tt.fields[strings.TrimSuffix(strings.TrimSuffix(e.OID, idx), ".")]
				if where.measurement == "" {
					continue
				}
				n++
				if where.tags["descr"] == "" {
					where.tags = nil // a row of a table the device names
				}
				x, ok := findTaggedSample(sink, where.powerField, idx)
				require.True(t, ok, "%q (%s.%s index %q) not found", e.Descr, where.measurement, where.field, idx)
				got, ok := asFloat(x.Fields[where.field])
				require.True(t, ok, "%q: %s.%s", e.Descr, where.measurement, where.field)
				require.InDelta(t, e.Current*where.per, got, math.Max(0.01, math.Abs(e.Current*where.per)*1e-3),
					"%q (%s.%s index %q)", e.Descr, where.measurement, where.field, idx)
				if tt.named {
					require.Equal(t, e.Descr, x.Tags["descr"], "%s.%s index %q", where.measurement, where.field, idx)
				}
			}
			require.Equal(t, tt.want, n, "count sensors LibreNMS has in what the profile reads")
		})
}
