package exposition_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/exposition"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
	"github.com/kpilot/kpilot/server/visibility"
)

// TestFamilies: t0 is 1,796,630,400 s after the epoch; a reseller's newest
// sample is the CPU's at t0, a service partner's the health event a second
// later.
func TestFamilies(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	series := []tsdb.Series{
		{Measurement: "cpu", Field: "usage_percent", Points: []tsdb.Point{{Time: t0.Add(-time.Minute), Value: 1.0}, {Time: t0, Value: 42.5}}},
		{Measurement: "cpu", Field: "note", Points: []tsdb.Point{{Time: t0, Value: "busy"}}},
		{Measurement: "interface", Field: "in_bps", Tags: map[string]string{"ifname": "eth0", "asset": "clash"},
			Points: []tsdb.Point{{Time: t0.Add(-time.Second), Value: int64(1000)}}},
		{Measurement: "health_event", Field: "code", Points: []tsdb.Point{{Time: t0.Add(time.Second), Value: int64(3)}}},
		{Measurement: "disk", Field: "free_bytes"}, // no points
	}
	asset := store.Asset{ID: "a1", OrgID: "acme", Name: "ESX", Category: "server", Manufacturer: "Dell", Product: "R650", Serial: "S1"}
	tests := []struct {
		name  string
		class visibility.Class
		want  string
	}{
		{"a reseller gets KPIs but no service data", visibility.Reseller, `# HELP kpilot_asset_info An asset the token may see, with its facts; always 1.
# TYPE kpilot_asset_info gauge
kpilot_asset_info{access="reseller",asset="ESX",asset_id="a1",category="server",customer="Acme",customer_id="acme",manufacturer="Dell",model="R650",serial="S1"} 1
# HELP kpilot_asset_last_sample_timestamp_seconds Time of the asset's newest sample within the lookback.
# TYPE kpilot_asset_last_sample_timestamp_seconds gauge
kpilot_asset_last_sample_timestamp_seconds{asset="ESX",asset_id="a1",customer="Acme",customer_id="acme"} 1.7966304e+09
# HELP kpilot_cpu_usage_percent Latest cpu.usage_percent of the asset (kpilot KPI).
# TYPE kpilot_cpu_usage_percent gauge
kpilot_cpu_usage_percent{asset="ESX",asset_id="a1",customer="Acme",customer_id="acme"} 42.5
# HELP kpilot_interface_in_bps Latest interface.in_bps of the asset (kpilot KPI).
# TYPE kpilot_interface_in_bps gauge
kpilot_interface_in_bps{asset="ESX",asset_id="a1",customer="Acme",customer_id="acme",ifname="eth0",tag_asset="clash"} 1000
`},
		{"a service partner also gets health events", visibility.Service, `# HELP kpilot_asset_info An asset the token may see, with its facts; always 1.
# TYPE kpilot_asset_info gauge
kpilot_asset_info{access="service",asset="ESX",asset_id="a1",category="server",customer="Acme",customer_id="acme",manufacturer="Dell",model="R650",serial="S1"} 1
# HELP kpilot_asset_last_sample_timestamp_seconds Time of the asset's newest sample within the lookback.
# TYPE kpilot_asset_last_sample_timestamp_seconds gauge
kpilot_asset_last_sample_timestamp_seconds{asset="ESX",asset_id="a1",customer="Acme",customer_id="acme"} 1.796630401e+09
# HELP kpilot_cpu_usage_percent Latest cpu.usage_percent of the asset (kpilot KPI).
# TYPE kpilot_cpu_usage_percent gauge
kpilot_cpu_usage_percent{asset="ESX",asset_id="a1",customer="Acme",customer_id="acme"} 42.5
# HELP kpilot_health_event_code Latest health_event.code of the asset (kpilot KPI).
# TYPE kpilot_health_event_code gauge
kpilot_health_event_code{asset="ESX",asset_id="a1",customer="Acme",customer_id="acme"} 3
# HELP kpilot_interface_in_bps Latest interface.in_bps of the asset (kpilot KPI).
# TYPE kpilot_interface_in_bps gauge
kpilot_interface_in_bps{asset="ESX",asset_id="a1",customer="Acme",customer_id="acme",ifname="eth0",tag_asset="clash"} 1000
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assets := []exposition.Asset{{Asset: asset, Customer: "Acme", Access: visibility.Access{Class: tt.class}}}
			var buf bytes.Buffer
			fams := exposition.Families(assets, map[string][]tsdb.Series{"a1": series}, nil)
			require.NoError(t, exposition.Write(&buf, expfmt.NewFormat(expfmt.TypeTextPlain), fams))
			require.Equal(t, tt.want, buf.String())
		})
	}
}

func TestFamiliesWithoutSamples(t *testing.T) {
	assets := []exposition.Asset{{Asset: store.Asset{ID: "a1", OrgID: "acme"}, Access: visibility.Access{Class: visibility.Owner}}}
	fams := exposition.Families(assets, nil, nil)
	require.Len(t, fams, 1, "only kpilot_asset_info, no last-sample time")
	require.Equal(t, "kpilot_asset_info", fams[0].GetName())
}
