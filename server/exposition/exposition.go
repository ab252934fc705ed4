// Package exposition renders the latest KPIs of the assets a caller sees
// in the Prometheus exposition formats, for a customer's or partner's
// Prometheus that scrapes the server (GET /api/v1/metrics). A KPI the
// catalog defines becomes a family named and typed by its definition
// (FamilyOf): counters as counters ending in _total, base units in the
// name, the catalog's description as HELP and its unit as the OpenMetrics
// UNIT. A numeric field without a definition stays a gauge
// kpilot_<measurement>_<field> with a generic HELP, so a user's own field
// never vanishes. Every metric is labelled with the asset, its
// organization and the series' own tags; kpilot_asset_info carries the
// asset's facts.
package exposition

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"

	"github.com/kpilot/kpilot/internal/catalog"
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

// Catalogs returns the KPI catalog of an organization's assets. The
// assets a caller sees may belong to several organizations, each with
// its own definitions; nil (the func or its result) defines nothing.
type Catalogs func(orgID string) *catalog.Catalog

// CatalogsFor looks up the catalog of each organization of assets once,
// with lookup (which may fail: the store keeps the agents' definitions),
// and returns them as Catalogs. A nil lookup defines nothing.
func CatalogsFor(ctx context.Context, assets []Asset, lookup func(ctx context.Context, orgID string) (*catalog.Catalog, error)) (Catalogs, error) {
	cats := map[string]*catalog.Catalog{}
	for _, as := range assets {
		if _, ok := cats[as.OrgID]; ok || lookup == nil {
			continue
		}
		c, err := lookup(ctx, as.OrgID)
		if err != nil {
			return nil, fmt.Errorf("KPI catalog of organization %s: %w", as.OrgID, err)
		}
		cats[as.OrgID] = c
	}
	return func(orgID string) *catalog.Catalog { return cats[orgID] }, nil
}

// families collects the metric families, each metric once per label set.
type families struct {
	fams map[string]*dto.MetricFamily
	seen map[string]bool // family name and label values
}

// add adds one metric to the family fam names, making the family if it
// is new. A metric whose family exists with another type, or whose label
// set the family has already, is left out: the first wins, and defined
// KPIs come first.
func (fs *families) add(fam Family, labels map[string]string, v float64) {
	f := fs.fams[fam.Name]
	if f == nil {
		f = &dto.MetricFamily{Name: proto.String(fam.Name), Help: proto.String(fam.Help), Type: fam.Type.Enum()}
		if fam.Unit != "" {
			f.Unit = proto.String(fam.Unit)
		}
		fs.fams[fam.Name] = f
	}
	if f.GetType() != fam.Type {
		return
	}
	m := &dto.Metric{}
	key := fam.Name
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(k), Value: proto.String(labels[k])})
		key += "\x00" + k + "\x00" + labels[k]
	}
	if fs.seen[key] {
		return
	}
	fs.seen[key] = true
	if fam.Type == dto.MetricType_COUNTER {
		m.Counter = &dto.Counter{Value: proto.Float64(v)}
	} else {
		m.Gauge = &dto.Gauge{Value: proto.Float64(v)}
	}
	f.Metric = append(f.Metric, m)
}

// metric is one value to export.
type metric struct {
	fam    Family
	labels map[string]string
	value  float64
}

// Families returns the metric families of assets, sorted by name. latest
// holds each asset's newest series by asset id; catalogs gives each
// asset's definitions (may be nil). Series the access does not show
// (service data for a reseller), empty ones, non-numeric fields, info
// KPIs and counters' derived rates are left out.
func Families(assets []Asset, latest map[string][]tsdb.Series, catalogs Catalogs) []*dto.MetricFamily {
	fs := &families{fams: map[string]*dto.MetricFamily{}, seen: map[string]bool{}}
	info := Family{Name: "kpilot_asset_info", Type: dto.MetricType_GAUGE, Help: "An asset the token may see, with its facts; always 1."}
	last := Family{Name: "kpilot_asset_last_sample_timestamp_seconds", Type: dto.MetricType_GAUGE, Unit: "seconds",
		Help: "Time of the asset's newest sample within the lookback."}
	byOrg := map[string]*catalog.Catalog{}
	var defined, undefined []metric
	for _, as := range assets {
		cat, ok := byOrg[as.OrgID]
		if !ok && catalogs != nil {
			cat = catalogs(as.OrgID)
			byOrg[as.OrgID] = cat
		}
		base := map[string]string{"asset_id": as.ID, "asset": as.Name, "customer_id": as.OrgID, "customer": as.Customer}
		facts := maps.Clone(base)
		facts["category"], facts["manufacturer"], facts["model"], facts["serial"] = as.Category, as.Manufacturer, as.Product, as.Serial
		facts["access"] = as.Access.Class.String()
		fs.add(info, facts, 1)
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
			if d, ok := cat.Lookup(s.Measurement, s.Field); ok {
				if fam, ok := FamilyOf(d); ok {
					defined = append(defined, metric{fam, labels, v * fam.Scale})
				}
				continue
			}
			undefined = append(undefined, metric{Family{Name: "kpilot_" + s.Measurement + "_" + s.Field, Type: dto.MetricType_GAUGE,
				Help: fmt.Sprintf("Latest %s.%s of the asset (kpilot KPI).", s.Measurement, s.Field)}, labels, v})
		}
		if !newest.IsZero() {
			fs.add(last, base, float64(newest.UnixMilli())/1000)
		}
	}
	for _, m := range append(defined, undefined...) {
		fs.add(m.fam, m.labels, m.value)
	}
	out := make([]*dto.MetricFamily, 0, len(fs.fams))
	for _, name := range slices.Sorted(maps.Keys(fs.fams)) {
		out = append(out, fs.fams[name])
	}
	return out
}

// Formats are the formats GET /api/v1/metrics answers in, for
// expfmt.NegotiateAccept: the Prometheus text format unless the scraper
// asks for protobuf or OpenMetrics (which has the UNIT lines).
func Formats() []expfmt.Format {
	return []expfmt.Format{expfmt.FmtText, expfmt.FmtOpenMetrics_1_0_0, expfmt.FmtOpenMetrics_0_0_1,
		expfmt.FmtProtoDelim, expfmt.FmtProtoText, expfmt.FmtProtoCompact}
}

// Write encodes fams to w in format (negotiated with Formats).
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
