package tsdb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kpilot/kpilot/server/availability"
)

// availabilityLead is read beyond each end of a period: the state at its
// start comes from the poll before it, and a reboot shortly after its end
// may reach back into it.
const availabilityLead = time.Hour

// AvailabilityData returns an asset's reachability observations (the
// agent_poll up field, per collector) and its reboots around [start, stop).
func (i *Influx) AvailabilityData(ctx context.Context, ref AssetRef, start, stop time.Time) ([]availability.Observation, []availability.Reboot, error) {
	if err := ref.Validate(); err != nil {
		return nil, nil, err
	}
	if !start.Before(stop) {
		return nil, nil, errors.New("start must be before stop")
	}
	qs, err := i.InfluxQL(ctx, "availability of asset "+ref.ID, availabilityStatement(ref, start, stop))
	if err != nil {
		return nil, nil, err
	}
	var obs []availability.Observation
	var reboots []availability.Reboot
	for _, q := range qs {
		tcol, vcol := slices.Index(q.Columns, "time"), slices.Index(q.Columns, "up")
		if q.Measurement == "reboot" {
			vcol = slices.Index(q.Columns, "last_seen_up")
		}
		if tcol < 0 || vcol < 0 {
			continue
		}
		for _, row := range q.Values {
			at, _ := row[tcol].(time.Time)
			switch q.Measurement {
			case "agent_poll":
				if up, ok := row[vcol].(bool); ok {
					obs = append(obs, availability.Observation{Time: at, Up: up, Source: q.Tags["collector"]})
				}
			case "reboot":
				rb := availability.Reboot{Boot: at}
				switch v := row[vcol].(type) {
				case int64:
					rb.LastSeenUp = time.Unix(v, 0)
				case float64:
					rb.LastSeenUp = time.Unix(int64(v), 0)
				}
				reboots = append(reboots, rb)
			}
		}
	}
	return obs, reboots, nil
}

// availabilityStatement reads the up field of agent_poll (per
// collector) and the last_seen_up field of reboot of ref around
// [start, stop), in one statement: a row of one measurement has the
// other's field null.
func availabilityStatement(ref AssetRef, start, stop time.Time) string {
	return fmt.Sprintf(`SELECT "up"::field, "last_seen_up"::field FROM "agent_poll", "reboot" WHERE %s AND time >= %s AND time < %s GROUP BY "collector"`,
		assetFilter([]AssetRef{ref}), qlTime(start.Add(-availabilityLead)), qlTime(stop.Add(availabilityLead)))
}
