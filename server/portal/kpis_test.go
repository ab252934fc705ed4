package portal

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/catalog"
)

// An axis shows values in the unit catalog.Format would write the
// largest of them in.
func TestAxisScale(t *testing.T) {
	for _, tt := range []struct {
		name   string
		unit   catalog.Unit
		big    float64
		div    float64
		symbol string
	}{
		{"bytes in GiB", catalog.Bytes, 200 << 30, 1 << 30, "GiB"},
		{"small bytes", catalog.Bytes, 800, 1, "B"},
		{"byte rate in MiB/s", catalog.BytesPerSecond, 5 << 20, 1 << 20, "MiB/s"},
		{"bit rate in Gbit/s", catalog.BitsPerSecond, 2.5e9, 1e9, "Gbit/s"},
		{"watts in kW", catalog.Watts, 1500, 1000, "kW"},
		{"energy in kWh", catalog.Joules, 7.2e6, 3.6e6, "kWh"},
		{"seconds as minutes", catalog.Seconds, 600, 60, "min"},
		{"seconds as days", catalog.Seconds, 10 * 86400, 86400, "d"},
		{"short seconds as ms", catalog.Seconds, 0.25, 0.001, "ms"},
		{"hours as days", catalog.Hours, 72, 24, "d"},
		{"hours as hours", catalog.Hours, 5, 1, "h"},
		{"ratio as percent", catalog.Ratio, 0.5, 0.01, "%"},
		{"percent", catalog.Percent, 340, 1, "%"},
		{"celsius", catalog.Celsius, 40, 1, "°C"},
		{"plain number", catalog.None, 12345, 1, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			div, symbol := axisScale(tt.unit, tt.big)
			require.InDelta(t, tt.div, div, tt.div*1e-9)
			require.Equal(t, tt.symbol, symbol)
		})
	}
}

func seriesOf(m, f string, def *definition, values ...any) series {
	s := series{Measurement: m, Field: f, Definition: def}
	at := time.Unix(1_800_000_000, 0)
	for i, v := range values {
		s.Points = append(s.Points, struct {
			Time  time.Time `json:"time"`
			Value any       `json:"value"`
		}{at.Add(time.Duration(i) * time.Minute), v})
	}
	return s
}

// The rows of the latest values: names and values as the catalog says,
// states by name, counters charted as their rate (the agent's, else the
// page's), states and facts not charted.
func TestChartable(t *testing.T) {
	counter := &definition{Name: catalog.Text{EN: "Sent", DE: "Gesendet"}, Unit: catalog.Bytes, Kind: catalog.Counter}
	state := &definition{Name: catalog.Text{EN: "Power", DE: "Versorgung"}, Kind: catalog.State,
		States: map[int64]catalog.StateValue{1: {Name: catalog.Text{EN: "On", DE: "Ein"}, Severity: catalog.OK}}}
	latest := []series{
		seriesOf("agent_poll", "duration_seconds", nil, 0.5),
		seriesOf("dev", "temp", &definition{Name: catalog.Text{EN: "Temperature", DE: "Temperatur"}, Unit: catalog.Celsius, Kind: catalog.Gauge}, 41.26),
		seriesOf("dev", "tx", counter, 1e9),
		seriesOf("dev", "rx", counter, 2e9),
		seriesOf("dev", "rx_per_second", &definition{Name: catalog.Text{EN: "Received per second"}, Unit: catalog.BytesPerSecond, Kind: catalog.Gauge}, 2048.0),
		seriesOf("dev", "power", state, 1.0),
		seriesOf("dev", "firmware", &definition{Name: catalog.Text{EN: "Firmware"}, Kind: catalog.Info}, "1.2.3"),
		seriesOf("dev", "boot_time", &definition{Name: catalog.Text{EN: "Booted"}, Unit: catalog.Timestamp, Kind: catalog.Gauge}, 1.8e9),
		seriesOf("dev", "used_percent", nil, 12.5),
		seriesOf("dev", "label", nil, "undefined text"),
	}
	perSecond := func(n string) string { return n + " /s" }
	got := map[string]kpiField{}
	var order []string
	for _, f := range chartable(latest, "de", "server", perSecond) {
		got[f.Key] = f
		order = append(order, f.Key)
	}
	require.Equal(t, []string{"dev.used_percent", "dev.boot_time", "dev.firmware", "dev.power", "dev.rx", "dev.rx_per_second", "dev.temp", "dev.tx"}, order,
		"percentages first; agent_poll and undefined texts left out")
	for _, tt := range []struct {
		key, title, latest string
		chart, rate        bool
	}{
		{"dev.temp", "Temperatur", "41,3 °C", true, false},
		{"dev.rx", "Gesendet", "1,9 GiB", false, false}, // drawn as the agent's rx_per_second
		{"dev.tx", "Gesendet", "953,7 MiB", true, true},
		{"dev.power", "Versorgung", "Ein", false, false},
		{"dev.firmware", "Firmware", "1.2.3", false, false},
		{"dev.boot_time", "Booted", "2027-01-15 08:00 UTC", false, false},
		{"dev.used_percent", "dev.used_percent", "12,5", true, false},
	} {
		t.Run(tt.key, func(t *testing.T) {
			f := got[tt.key]
			require.Equal(t, tt.title, f.Title)
			require.Equal(t, tt.latest, f.Latest)
			require.Equal(t, tt.chart, f.Chart)
			require.Equal(t, tt.rate, f.Rate)
		})
	}
	require.Equal(t, "Gesendet /s", got["dev.tx"].ChartTitle)
	require.Equal(t, catalog.BytesPerSecond, got["dev.tx"].Unit, "a counter's rate is in its unit per second")
}

// A counter drawn as its rate: the difference between windows per
// second, nothing across a reset, and not the window still running.
func TestCounterRateChart(t *testing.T) {
	f := kpiField{Rate: true, ChartTitle: "Sent /s", Unit: catalog.BytesPerSecond}
	s := seriesOf("dev", "tx", nil, 0.0, 600.0, 1200.0, 100.0, 700.0, 900.0)
	at := time.Unix(1_800_000_000, 0)
	c := toChart("c", f, []series{s}, at.Add(4*time.Minute))
	require.Equal(t, "Sent /s (B/s)", c.Title)
	require.Equal(t, "B/s", c.Unit)
	var vals []float64
	for _, v := range c.Values[0] {
		require.NotNil(t, v)
		vals = append(vals, *v)
	}
	require.Equal(t, []float64{10, 10, 10}, vals, "minute 3 is a reset; minute 5 has not ended")
}
