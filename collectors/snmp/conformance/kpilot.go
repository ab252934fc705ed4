package conformance

import (
	"maps"
	"slices"
	"strings"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/internal/kpi"
)

// notSensors are measurements whose fields are no sensor readings: the
// agent's own, interface traffic, host counters, and the memory,
// processor, storage and printer figures LibreNMS keeps in other modules.
var notSensors = map[string]bool{
	"agent_poll": true, "interface": true, "system": true, "host": true, "reboot": true, "usage": true,
	"load": true, "cpu": true, "cpu_time": true, "memory": true, "ucd_memory": true, "storage": true,
	"printer_supply": true,
}

// notReadings are parts of field names that mark a limit or a rating
// rather than a reading (temperature.threshold_celsius,
// power_supply.capacity_watts).
var notReadings = []string{"threshold", "upper_", "lower_", "capacity", "max_", "min_", "_max", "_min", "limit", "nominal", "rated", "average"}

// Read turns the samples and inventory of one poll into values in
// LibreNMS's classes and units, by the catalog's definition of each
// field:
//   - sensors by unit: celsius temperature, rpm fanspeed, volts voltage,
//     amperes current, watts power, hertz frequency, dbm dbm, joules
//     power_consumed (in kWh), a runtime in seconds runtime (in minutes),
//     a percent humidity, charge or load when the name says so, else
//     percent; a field named power_factor power_factor, a unitless
//     gauge named count count; a state field state, valued by the
//     severity the catalog gives its value;
//   - memory pools from measurements named *memory*: size_bytes or
//     total_bytes, used_bytes;
//   - processors: cpu.load_percent and any percent field whose name
//     says cpu (not idle);
//   - volumes from every other measurement with size_bytes or
//     total_bytes, and used_bytes;
//   - identity from the inventory's model, serial and os_version.
//
// A value's description is the row's descr (or name) tag, else its other
// tags with the measurement and field.
func Read(samples []kpi.Sample, inv kpi.Inventory, cat *catalog.Catalog) []Value {
	var out []Value
	for _, s := range samples {
		for _, f := range slices.Sorted(maps.Keys(s.Fields)) {
			num, ok := number(s.Fields[f])
			if !ok {
				continue
			}
			d, ok := cat.Lookup(s.Measurement, f)
			if !ok {
				continue
			}
			descr := describe(s, f)
			add := func(class string, n float64) { out = append(out, Value{Class: class, Descr: descr, Num: n}) }
			m := s.Measurement
			switch {
			case strings.Contains(m, "memory"):
				switch f {
				case "size_bytes", "total_bytes":
					add(ClassMempoolTotal, num)
				case "used_bytes":
					add(ClassMempoolUsed, num)
				}
				continue
			case m == "cpu" && f == "load_percent",
				d.Unit == catalog.Percent && strings.Contains(f, "cpu") && !strings.Contains(f, "idle"):
				add(ClassProcessor, num)
				continue
			case f == "size_bytes" || f == "total_bytes":
				add(ClassStorageSize, num)
				continue
			case f == "used_bytes":
				add(ClassStorageUsed, num)
				continue
			case notSensors[m] || d.Kind == catalog.Info || notReading(f):
				continue
			case d.Kind == catalog.Counter:
				// LibreNMS files running totals of things (pages printed,
				// intrusions detected, cache hits) as count sensors with
				// their current value: the counter's raw reading.
				if d.Unit == catalog.None {
					add("count", num)
				}
				continue
			}
			if d.Kind == catalog.State {
				sev := catalog.Unknown
				if st, ok := d.States[int64(num)]; ok {
					sev = st.Severity
				}
				out = append(out, Value{Class: ClassState, Descr: descr, Num: num, Text: string(sev)})
				continue
			}
			if class, n, ok := sensorClass(m, f, d.Unit, num); ok {
				add(class, n)
				if class == "runtime" {
					// LibreNMS files some remaining times (MGE's "Remaining
					// time") as delay sensors, in seconds: the same reading.
					add("delay", num)
				}
			}
		}
	}
	for class, attr := range map[string]string{ClassModel: "model", ClassSerial: "serial", ClassVersion: "os_version"} {
		if t, _ := inv.Attributes[attr].(string); strings.TrimSpace(t) != "" {
			out = append(out, Value{Class: class, Descr: class, Text: t})
		}
	}
	return out
}

// sensorClass maps a gauge to a LibreNMS sensor class and its unit.
func sensorClass(measurement, field string, unit catalog.Unit, v float64) (string, float64, bool) {
	name := measurement + "." + field
	switch {
	case strings.Contains(field, "power_factor"):
		return "power_factor", v, true
	case unit == catalog.Celsius:
		return "temperature", v, true
	case unit == catalog.RPM:
		return "fanspeed", v, true
	case unit == catalog.Volts:
		return "voltage", v, true
	case unit == catalog.Amperes:
		return "current", v, true
	case unit == catalog.Watts:
		return "power", v, true
	case unit == catalog.Hertz:
		return "frequency", v, true
	case unit == catalog.DBm:
		return "dbm", v, true
	case unit == catalog.Joules:
		return "power_consumed", v / 3.6e6, true
	case unit == catalog.Seconds && (strings.Contains(field, "runtime") || strings.Contains(field, "on_battery")):
		// LibreNMS's runtime class holds a UPS's time on battery too
		// (UPS-MIB upsSecondsOnBattery as "Time on battery").
		return "runtime", v / 60, true
	case unit == catalog.Percent && strings.Contains(name, "humidity"):
		return "humidity", v, true
	case unit == catalog.Percent && strings.Contains(field, "charge"):
		return "charge", v, true
	case unit == catalog.Percent && strings.Contains(field, "load"):
		return "load", v, true
	case unit == catalog.Percent && !strings.HasSuffix(field, "used_percent"):
		return "percent", v, true
	case unit == catalog.None && strings.Contains(name, "count"),
		unit == catalog.PerSecond:
		// A rate the device computes (sessions per second averaged over
		// a minute) is one of LibreNMS's count sensors.
		return "count", v, true
	}
	return "", 0, false
}

func notReading(field string) bool {
	for _, s := range notReadings {
		if strings.Contains(field, s) {
			return true
		}
	}
	return false
}

// describe names the row a value comes from as a device would.
func describe(s kpi.Sample, field string) string {
	for _, k := range []string{"descr", "name"} {
		if d := s.Tags[k]; d != "" {
			return d
		}
	}
	parts := []string{}
	for _, k := range slices.Sorted(maps.Keys(s.Tags)) {
		if k != "site" && k != "index" && k != "source" {
			parts = append(parts, s.Tags[k])
		}
	}
	parts = append(parts, strings.ReplaceAll(s.Measurement, "_", " "), strings.ReplaceAll(field, "_", " "))
	return strings.Join(parts, " ")
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case uint64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint32:
		return float64(n), true
	case bool:
		if n {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}
