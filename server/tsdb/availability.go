package tsdb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/availability"
)

// availabilityLead is read beyond each end of a period: the state at its
// start comes from the poll before it, and a reboot shortly after its end
// may reach back into it.
const availabilityLead = time.Hour

// AvailabilityData returns an asset's reachability observations (the
// agent_poll up and outcome fields, per collector, as availability.Poll
// reads them) and its reboots around [start, stop).
func (i *Influx) AvailabilityData(ctx context.Context, ref AssetRef, start, stop time.Time) ([]availability.Observation, []availability.Reboot, error) {
	if err := checkPeriod(ref, start, stop); err != nil {
		return nil, nil, err
	}
	qs, err := i.InfluxQL(ctx, "availability of asset "+ref.ID, availabilityStatement(ref, start, stop))
	if err != nil {
		return nil, nil, err
	}
	var obs []availability.Observation
	var reboots []availability.Reboot
	for _, q := range qs {
		tcol := slices.Index(q.Columns, "time")
		if tcol < 0 {
			continue
		}
		for _, row := range q.Values {
			at, _ := row[tcol].(time.Time)
			switch q.Measurement {
			case "agent_poll":
				var up *bool
				if v, ok := column(q, row, "up").(bool); ok {
					up = &v
				}
				var outcome *int64
				if v, ok := integer(column(q, row, "outcome")); ok {
					outcome = &v
				}
				if o, ok := availability.Poll(at, q.Tags["collector"], up, outcome); ok {
					obs = append(obs, o)
				}
			case "reboot":
				rb := availability.Reboot{Boot: at}
				if v, ok := integer(column(q, row, "last_seen_up")); ok {
					rb.LastSeenUp = time.Unix(v, 0)
				}
				reboots = append(reboots, rb)
			}
		}
	}
	return obs, reboots, nil
}

// checkPeriod checks the arguments of a read of one asset's period.
func checkPeriod(ref AssetRef, start, stop time.Time) error {
	if err := ref.Validate(); err != nil {
		return err
	}
	if !start.Before(stop) {
		return errors.New("start must be before stop")
	}
	return nil
}

// column is the value of the named column in row, nil when q has none.
func column(q QLSeries, row []any, name string) any {
	if c := slices.Index(q.Columns, name); c >= 0 && c < len(row) {
		return row[c]
	}
	return nil
}

// integer reads an integer field that may have been written as a float.
func integer(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case float64:
		return int64(v), true
	}
	return 0, false
}

// availabilityStatement reads the up and outcome fields of agent_poll
// (per collector) and the last_seen_up field of reboot of ref around
// [start, stop), in one statement: a row of one measurement has the
// other's fields null.
func availabilityStatement(ref AssetRef, start, stop time.Time) string {
	return fmt.Sprintf(`SELECT "up"::field, "outcome"::field, "last_seen_up"::field FROM "agent_poll", "reboot" WHERE %s AND time >= %s AND time < %s GROUP BY "collector"`,
		assetFilter([]AssetRef{ref}), qlTime(start.Add(-availabilityLead)), qlTime(stop.Add(availabilityLead)))
}

// uptimeMeasurements are the measurements whose uptime_seconds field
// says how long the device, or a part of it, had been running: host
// (HOST-RESOURCES-MIB hrSystemUptime, the operating system), system
// (SNMPv2-MIB sysUpTime, the SNMP agent) and storage_node (a storage
// system's node, as its REST API says).
var uptimeMeasurements = []string{"host", "system", "storage_node"}

// UsageData returns what an asset's usage time is computed from around
// [start, stop): its systems' power readings (server_health powered_on,
// per system) and its uptime readings (uptime_seconds of
// uptimeMeasurements, per series). The polls come from AvailabilityData.
func (i *Influx) UsageData(ctx context.Context, ref AssetRef, start, stop time.Time) ([]availability.PowerSample, []availability.UptimeSample, error) {
	if err := checkPeriod(ref, start, stop); err != nil {
		return nil, nil, err
	}
	qs, err := i.InfluxQL(ctx, "usage of asset "+ref.ID, usageStatement(ref, start, stop))
	if err != nil {
		return nil, nil, err
	}
	var power []availability.PowerSample
	var uptime []availability.UptimeSample
	for _, q := range qs {
		tcol := slices.Index(q.Columns, "time")
		if tcol < 0 {
			continue
		}
		source := seriesName(q)
		for _, row := range q.Values {
			at, _ := row[tcol].(time.Time)
			if on, ok := column(q, row, "powered_on").(bool); ok && q.Measurement == "server_health" {
				power = append(power, availability.PowerSample{Time: at, On: on, Source: source})
			}
			if q.Measurement == "server_health" {
				continue
			}
			switch v := column(q, row, "uptime_seconds").(type) {
			case int64:
				uptime = append(uptime, availability.UptimeSample{Time: at, Seconds: float64(v), Source: source})
			case float64:
				uptime = append(uptime, availability.UptimeSample{Time: at, Seconds: v, Source: source})
			}
		}
	}
	return power, uptime, nil
}

// seriesName names a series of an answer by its measurement and its
// non-empty tags, so that each series counts on its own.
func seriesName(q QLSeries) string {
	var b strings.Builder
	b.WriteString(q.Measurement)
	for _, k := range slices.Sorted(maps.Keys(q.Tags)) {
		if q.Tags[k] != "" {
			b.WriteString("," + k + "=" + q.Tags[k])
		}
	}
	return b.String()
}

// usageStatement reads the powered_on field of server_health (per
// system) and the uptime_seconds field of uptimeMeasurements (per node)
// of ref around [start, stop).
func usageStatement(ref AssetRef, start, stop time.Time) string {
	from := make([]string, 0, 1+len(uptimeMeasurements))
	for _, m := range append([]string{"server_health"}, uptimeMeasurements...) {
		from = append(from, quoteIdent(m))
	}
	return fmt.Sprintf(`SELECT "powered_on"::field, "uptime_seconds"::field FROM %s WHERE %s AND time >= %s AND time < %s GROUP BY "system", "node"`,
		strings.Join(from, ", "), assetFilter([]AssetRef{ref}), qlTime(start.Add(-availabilityLead)), qlTime(stop.Add(availabilityLead)))
}
