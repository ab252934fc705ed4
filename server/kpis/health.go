package kpis

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
	"github.com/kpilot/kpilot/server/visibility"
)

// healthOrder ranks an asset's overall health, best first: a state that
// says nothing (unknown) is better than none only, and an OK state
// outweighs it (an empty PSU slot does not make a healthy server
// "unknown").
var healthOrder = []catalog.Severity{"", catalog.Unknown, catalog.OK, catalog.Warning, catalog.Critical}

// Health returns the overall health of one asset's newest values: the
// worst severity c gives the current value of any state it counts as
// health (catalog.Definition.IsHealth), critical before warning before
// ok before unknown; "" when no such state has a value c names.
func Health(c *catalog.Catalog, latest []tsdb.Series) catalog.Severity {
	var worst catalog.Severity
	for _, s := range latest {
		d, ok := c.Lookup(s.Measurement, s.Field)
		if !ok || !d.IsHealth() {
			continue
		}
		v, ok := newest(s.Points)
		if !ok {
			continue
		}
		if st, ok := d.StateOf(v); ok && slices.Index(healthOrder, st.Severity) > slices.Index(healthOrder, worst) {
			worst = st.Severity
		}
	}
	return worst
}

// newest is the newest numeric value of points.
func newest(ps []tsdb.Point) (float64, bool) {
	var best tsdb.Point
	var v float64
	found := false
	for _, p := range ps {
		f, ok := kpi.Numeric(p.Value)
		if ok && !math.IsNaN(f) && (!found || p.Time.After(best.Time)) {
			best, v, found = p, f, true
		}
	}
	return v, found
}

// LatestReader reads an asset's newest values, as *tsdb.Influx does.
type LatestReader interface {
	Latest(ctx context.Context, ref tsdb.AssetRef, lookback time.Duration) ([]tsdb.Series, error)
}

// HealthLookback is how old a state may be and still tell an asset's
// health, as the API's latest values.
const HealthLookback = 24 * time.Hour

// AssetHealth returns the overall health (Health) of as from the values
// a caller with access acc may read of it: a reseller's leaves out
// service data. It is "" when InfluxDB or the catalog cannot be read
// (logged): the asset is shown without its health rather than not at all.
func (s *Service) AssetHealth(ctx context.Context, ts LatestReader, as store.Asset, acc visibility.Access) catalog.Severity {
	c, err := s.For(ctx, as.OrgID)
	if err != nil {
		s.log.Warn("reading the KPI catalog for an asset's health", "asset", as.ID, "err", err)
		return ""
	}
	latest, err := ts.Latest(ctx, tsdb.Ref(as), HealthLookback)
	if err != nil {
		s.log.Warn("reading an asset's latest values for its health", "asset", as.ID, "err", err)
		return ""
	}
	return Health(c, slices.DeleteFunc(latest, func(x tsdb.Series) bool { return !acc.SeesIn(c, x.Measurement, x.Field) }))
}
