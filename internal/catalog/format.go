package catalog

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Format writes v, a value in unit, as a person reads it, in lang ("de…"
// German, anything else English): bytes in KiB, MiB, GiB or TiB (powers
// of 1024), bits per second in kbit/s, Mbit/s, Gbit/s (powers of 1000),
// seconds as ms, s, min, h or d, a timestamp as its date and time in UTC,
// a ratio as a percentage, energy in Wh or kWh, and the other units with
// their symbols. German uses a decimal comma. NaN, infinities and a
// timestamp not after 1970 (a device's "never") are "–". The reports use
// it, and so will the portal: one look for a value everywhere.
func Format(v float64, unit Unit, lang string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	f := formatter{de: strings.HasPrefix(lang, "de")}
	switch unit {
	case None:
		return f.num(v, 2)
	case Bytes:
		return f.binary(v, "B")
	case BytesPerSecond:
		return f.binary(v, "B") + "/s"
	case BitsPerSecond:
		return f.decimal(v, "bit/s", 1)
	case PerSecond:
		return f.num(v, 2) + " /s"
	case Seconds:
		return f.duration(v)
	case "hours": // values collected in hours or days, as durations too
		return f.duration(v * 3600)
	case "days":
		return f.duration(v * 86400)
	case Timestamp:
		if v <= 0 {
			return "–"
		}
		sec, frac := math.Modf(v)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC().Format("2006-01-02 15:04 UTC")
	case Percent:
		return f.num(v, 2) + " %"
	case Ratio:
		return f.num(100*v, 2) + " %"
	case Celsius:
		return f.num(v, 1) + " °C"
	case Watts:
		return f.decimal(v, "W", 1)
	case VoltAmperes:
		return f.decimal(v, "VA", 1)
	case Volts:
		return f.decimal(v, "V", 1)
	case Amperes:
		return f.num(v, 2) + " A"
	case Hertz:
		return f.decimal(v, "Hz", 2)
	case RPM:
		return f.num(v, 0) + " rpm"
	case DBm:
		return f.num(v, 1) + " dBm"
	case Joules:
		return f.decimal(v/3600, "Wh", 1)
	}
	return f.num(v, 2) + " " + string(unit)
}

type formatter struct{ de bool }

// num writes v with at most digits decimals, without trailing zeros.
func (f formatter) num(v float64, digits int) string {
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return f.local(s)
}

// fixed writes v with exactly digits decimals.
func (f formatter) fixed(v float64, digits int) string {
	return f.local(strconv.FormatFloat(v, 'f', digits, 64))
}

func (f formatter) local(s string) string {
	if s == "-0" {
		s = "0"
	}
	if f.de {
		return strings.Replace(s, ".", ",", 1)
	}
	return s
}

var binaryPrefixes = []string{"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}

// binary writes a count of bytes with a power-of-1024 prefix and one
// decimal ("2.0 GiB"); less than 1 KiB in whole bytes.
func (f formatter) binary(v float64, symbol string) string {
	if math.Abs(v) < 1024 {
		return f.num(v, 0) + " " + symbol
	}
	i := -1
	for math.Abs(v) >= 1024 && i < len(binaryPrefixes)-1 {
		v /= 1024
		i++
	}
	return f.fixed(v, 1) + " " + binaryPrefixes[i] + symbol
}

var decimalPrefixes = []string{"k", "M", "G", "T", "P"}

// decimal writes v with a power-of-1000 prefix ("1.5 kW", "10 Gbit/s").
func (f formatter) decimal(v float64, symbol string, digits int) string {
	i := -1
	for math.Abs(v) >= 1000 && i < len(decimalPrefixes)-1 {
		v /= 1000
		i++
	}
	prefix := ""
	if i >= 0 {
		prefix = decimalPrefixes[i]
	}
	return f.num(v, digits) + " " + prefix + symbol
}

// duration writes seconds in the largest unit that keeps the number
// readable: "350 ms", "42 s", "12.5 min", "5.2 h", "3.5 d".
func (f formatter) duration(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0 s"
	case a < 1:
		return f.num(v*1000, 0) + " ms"
	case a < 60:
		return f.num(v, 1) + " s"
	case a < 3600:
		return f.num(v/60, 1) + " min"
	case a < 48*3600:
		return f.num(v/3600, 1) + " h"
	}
	return f.num(v/86400, 1) + " d"
}
