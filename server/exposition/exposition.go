// Package exposition renders the latest KPIs of the assets a caller sees
// in the Prometheus exposition formats, for a customer's or partner's
// Prometheus that scrapes the server (GET /api/v1/metrics). Each numeric
// field of an asset's newest series becomes a gauge
// kpilot_<measurement>_<field> labelled with the asset, its organization
// and the series' own tags; kpilot_asset_info carries the asset's facts.
package exposition

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"

	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
	"github.com/kpilot/kpilot/server/visibility"
)

// Asset is one asset the caller sees, with what it may see of it.
type Asset struct {
	store.Asset
	Customer string // the name of the asset's organization
	Access   visibility.Access
}

// Families returns the metric families of assets, sorted by name. latest
// holds each asset's newest series by asset id; series the access does
// not show (service data for a reseller), empty ones and non-numeric
// fields are left out.
func Families(assets []Asset, latest map[string][]tsdb.Series) []*dto.MetricFamily {
	fams := map[string]*dto.MetricFamily{}
	add := func(name, help string, labels map[string]string, v float64) {
		f := fams[name]
		if f == nil {
			f = &dto.MetricFamily{Name: proto.String(name), Help: proto.String(help), Type: dto.MetricType_GAUGE.Enum()}
			fams[name] = f
		}
		m := &dto.Metric{Gauge: &dto.Gauge{Value: proto.Float64(v)}}
		for _, k := range slices.Sorted(maps.Keys(labels)) {
			m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(k), Value: proto.String(labels[k])})
		}
		f.Metric = append(f.Metric, m)
	}
	for _, as := range assets {
		base := map[string]string{"asset_id": as.ID, "asset": as.Name, "customer_id": as.OrgID, "customer": as.Customer}
		info := maps.Clone(base)
		info["category"], info["manufacturer"], info["model"], info["serial"] = as.Category, as.Manufacturer, as.Product, as.Serial
		info["access"] = as.Access.Class.String()
		add("kpilot_asset_info", "An asset the token may see, with its facts; always 1.", info, 1)
		var newest time.Time
		for _, s := range latest[as.ID] {
			if !as.Access.Sees(s.Measurement, s.Field) || len(s.Points) == 0 {
				continue
			}
			p := s.Points[len(s.Points)-1]
			v, ok := kpi.Numeric(p.Value)
			if !ok || math.IsNaN(v) {
				continue // strings are not metrics
			}
			if p.Time.After(newest) {
				newest = p.Time
			}
			labels := maps.Clone(base)
			for k, tv := range s.Tags {
				if _, taken := labels[k]; taken {
					k = "tag_" + k
				}
				labels[k] = tv
			}
			add("kpilot_"+s.Measurement+"_"+s.Field,
				fmt.Sprintf("Latest %s.%s of the asset (kpilot KPI).", s.Measurement, s.Field), labels, v)
		}
		if !newest.IsZero() {
			add("kpilot_asset_last_sample_timestamp_seconds", "Time of the asset's newest sample within the lookback.",
				base, float64(newest.UnixMilli())/1000)
		}
	}
	out := make([]*dto.MetricFamily, 0, len(fams))
	for _, name := range slices.Sorted(maps.Keys(fams)) {
		out = append(out, fams[name])
	}
	return out
}

// Write encodes fams to w in format (see expfmt.Negotiate).
func Write(w io.Writer, format expfmt.Format, fams []*dto.MetricFamily) error {
	enc := expfmt.NewEncoder(w, format)
	for _, f := range fams {
		if err := enc.Encode(f); err != nil {
			return fmt.Errorf("writing metrics: %w", err)
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		if err := c.Close(); err != nil {
			return fmt.Errorf("writing metrics: %w", err)
		}
	}
	return nil
}
