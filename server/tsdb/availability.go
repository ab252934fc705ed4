package tsdb

import (
	"context"
	"errors"
	"fmt"
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
	flux := fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r.%s == %s)
  |> filter(fn: (r) => (r._measurement == "agent_poll" and r._field == "up") or (r._measurement == "reboot" and r._field == "last_seen_up"))
  |> keep(columns: ["_time", "_value", "_measurement", "collector"])
`, fluxString(i.bucket), fluxTime(start.Add(-availabilityLead)), fluxTime(stop.Add(availabilityLead)),
		AssetTag, fluxString(ref.Series))
	res, err := i.query.Query(ctx, flux)
	if err != nil {
		return nil, nil, fmt.Errorf("querying InfluxDB: %w: %w", ErrUnavailable, err)
	}
	defer res.Close()
	var obs []availability.Observation
	var reboots []availability.Reboot
	for res.Next() {
		r := res.Record()
		switch r.Measurement() {
		case "agent_poll":
			up, ok := r.Value().(bool)
			if !ok {
				continue
			}
			src, _ := r.ValueByKey("collector").(string)
			obs = append(obs, availability.Observation{Time: r.Time(), Up: up, Source: src})
		case "reboot":
			rb := availability.Reboot{Boot: r.Time()}
			switch v := r.Value().(type) {
			case int64:
				rb.LastSeenUp = time.Unix(v, 0)
			case float64:
				rb.LastSeenUp = time.Unix(int64(v), 0)
			}
			reboots = append(reboots, rb)
		}
	}
	if err := res.Err(); err != nil {
		return nil, nil, fmt.Errorf("reading InfluxDB answer: %w", err)
	}
	return obs, reboots, nil
}
