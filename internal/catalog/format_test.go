package catalog

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFormat(t *testing.T) {
	for _, tt := range []struct {
		name   string
		v      float64
		unit   Unit
		en, de string
	}{
		{"a count", 3, None, "3", "3"},
		{"a fraction", 0.3333, None, "0.33", "0,33"},
		{"a few bytes", 512, Bytes, "512 B", "512 B"},
		{"memory in GiB", 206158430208, Bytes, "192.0 GiB", "192,0 GiB"},
		{"a disk in TiB", 2e12, Bytes, "1.8 TiB", "1,8 TiB"},
		{"beyond the prefixes", math.Pow(2, 70), Bytes, "1024.0 EiB", "1024,0 EiB"},
		{"traffic", 1.5 * (1 << 20), BytesPerSecond, "1.5 MiB/s", "1,5 MiB/s"},
		{"a link", 10e9, BitsPerSecond, "10 Gbit/s", "10 Gbit/s"},
		{"operations", 12.5, PerSecond, "12.5 /s", "12,5 /s"},
		{"milliseconds", 0.35, Seconds, "350 ms", "350 ms"},
		{"seconds", 42, Seconds, "42 s", "42 s"},
		{"minutes", 750, Seconds, "12.5 min", "12,5 min"},
		{"hours", 5.3 * 3600, Seconds, "5.3 h", "5,3 h"},
		{"days", 3.5 * 86400, Seconds, "3.5 d", "3,5 d"},
		{"no time", 0, Seconds, "0 s", "0 s"},
		{"collected in hours", 30, Unit("hours"), "30 h", "30 h"},
		{"collected in days", 40.3, Unit("days"), "40.3 d", "40,3 d"},
		{"a timestamp", 1796630400, Timestamp, "2026-12-07 08:00 UTC", "2026-12-07 08:00 UTC"},
		{"never", 0, Timestamp, "–", "–"},
		{"percent", 42.5, Percent, "42.5 %", "42,5 %"},
		{"availability", 99.983, Percent, "99.98 %", "99,98 %"},
		{"a ratio", 0.875, Ratio, "87.5 %", "87,5 %"},
		{"a temperature", 21.04, Celsius, "21 °C", "21 °C"},
		{"below zero", -4.5, Celsius, "-4.5 °C", "-4,5 °C"},
		{"power", 350, Watts, "350 W", "350 W"},
		{"kilowatts", 1260, Watts, "1.3 kW", "1,3 kW"},
		{"apparent power", 3000, VoltAmperes, "3 kVA", "3 kVA"},
		{"voltage", 230.4, Volts, "230.4 V", "230,4 V"},
		{"current", 1.234, Amperes, "1.23 A", "1,23 A"},
		{"mains", 50, Hertz, "50 Hz", "50 Hz"},
		{"a processor", 2.4e9, Hertz, "2.4 GHz", "2,4 GHz"},
		{"a fan", 5400.4, RPM, "5400 rpm", "5400 rpm"},
		{"optical power", -3.26, DBm, "-3.3 dBm", "-3,3 dBm"},
		{"energy", 45e6, Joules, "12.5 kWh", "12,5 kWh"},
		{"not a number", math.NaN(), Bytes, "–", "–"},
		{"infinite", math.Inf(1), Percent, "–", "–"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.en, Format(tt.v, tt.unit, "en"))
			require.Equal(t, tt.de, Format(tt.v, tt.unit, "de-DE"))
		})
	}
}

// Every unit has its own look, not the fallback of the number and the
// unit's name.
func TestFormatKnowsEveryUnit(t *testing.T) {
	for _, u := range Units() {
		if u == None || u == RPM { // rpm is its own symbol
			continue
		}
		require.NotEqual(t, "1 "+string(u), Format(1, u, "en"), "unit %s", u)
	}
}
