package checkup

import "github.com/kpilot/kpilot/server/tsdb"

// repeatedFilesystems returns the series keys (tsdb.SeriesKey) of an
// asset's series that describe a file system another of its series
// already describes, so that a full file system is one finding, not two.
// net-snmp's dskTable (measurement disk, tag path: the mount point of a
// snmpd.conf disk line) repeats mounts that HOST-RESOURCES'
// hrStorageTable (measurement storage, tag descr: the mount point) lists
// on the same host; the storage row stays, being there for every mount.
func repeatedFilesystems(ss []tsdb.Series) map[string]bool {
	mounts := map[string]bool{}
	for _, s := range ss {
		if s.Measurement == "storage" && s.Tags["descr"] != "" {
			mounts[s.Tags["descr"]] = true
		}
	}
	out := map[string]bool{}
	for _, s := range ss {
		if s.Measurement == "disk" && mounts[s.Tags["path"]] {
			out[tsdb.SeriesKey(s.Measurement, s.Tags)] = true
		}
	}
	return out
}
