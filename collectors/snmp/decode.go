package snmp

import (
	"bytes"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"
)

// isMissing reports the per-varbind exceptions of SNMPv2: the agent has no
// such object or instance, or the walk ran past the end of its MIB view.
func isMissing(p gosnmp.SnmpPDU) bool {
	switch p.Type {
	case gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView, gosnmp.Null:
		return true
	}
	return false
}

// toUint64 decodes the unsigned SNMP types (and non-negative Integer32).
func toUint64(p gosnmp.SnmpPDU) (uint64, bool) {
	switch v := p.Value.(type) {
	case uint:
		return uint64(v), true
	case uint32:
		return uint64(v), true
	case uint64:
		return v, true
	case int:
		if v >= 0 {
			return uint64(v), true
		}
	case int64:
		if v >= 0 {
			return uint64(v), true
		}
	}
	return 0, false
}

// toFloat decodes any numeric value. format "number" also reads numbers
// written as text ("23.5", "0.15 0.10 0.05" keeps the first), which UCD
// and several vendor MIBs use.
func toFloat(p gosnmp.SnmpPDU, format string) (float64, bool) {
	switch v := p.Value.(type) {
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case uint:
		return float64(v), true
	case uint32:
		return float64(v), true
	case uint64:
		return float64(v), true
	case float32:
		return finite(float64(v))
	case float64:
		return finite(v)
	case []byte:
		return textNumber(string(v), format)
	case string:
		return textNumber(v, format)
	}
	return 0, false
}

func finite(f float64) (float64, bool) {
	return f, !math.IsNaN(f) && !math.IsInf(f, 0)
}

// textNumber reads a number written as text: format "number" at the
// start, "labelled_number" after the text's last ": " (FCMGMT-MIB sensor
// messages such as "CPU Temperature-Ctlr B: 61 C 141.80F").
func textNumber(s, format string) (float64, bool) {
	switch format {
	case "number":
		return parseNumber(s)
	case "labelled_number":
		if i := strings.LastIndex(s, ": "); i >= 0 {
			return parseNumber(s[i+2:])
		}
	}
	return 0, false
}

// parseNumber reads the leading decimal number of s, ignoring a unit after
// it ("41 C", "12.5%").
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(strings.TrimRight(s, "\x00"))
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || s[end] == '.' || s[end] == '-' || s[end] == '+' ||
		(end > 0 && (s[end] == 'e' || s[end] == 'E'))) {
		end++
	}
	if end == 0 || end > 40 {
		return 0, false
	}
	f, err := strconv.ParseFloat(s[:end], 64)
	if err != nil {
		return 0, false
	}
	return finite(f)
}

// toText decodes a value as text in the given format.
func toText(p gosnmp.SnmpPDU, format string) string {
	switch v := p.Value.(type) {
	case []byte:
		switch format {
		case "hex":
			return fmt.Sprintf("%x", v)
		case "mac":
			return macText(v)
		case "ip":
			if len(v) == 4 || len(v) == 16 {
				return net.IP(v).String()
			}
			return octetText(v)
		}
		return octetText(v)
	case string: // ObjectIdentifier and IPAddress
		return v
	case nil:
		return ""
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

// octetText decodes an OCTET STRING as text: UTF-8 when it is printable,
// hex otherwise (serials and MACs stored as raw bytes), with the trailing
// NULs and spaces many printer and UPS agents add removed.
func octetText(b []byte) string {
	// Most strings are printable ASCII: checked byte by byte and converted
	// once. Others take the general path.
	end := len(b)
	for end > 0 && b[end-1] == 0 {
		end--
	}
	ascii := true
	for _, c := range b[:end] {
		if c >= 0x7f || c < 0x20 && (c < '\t' || c > '\r') {
			ascii = false
			break
		}
	}
	if ascii {
		return string(bytes.TrimSpace(b[:end]))
	}
	return octetTextGeneral(b)
}

// octetTextGeneral is octetText for any bytes (FuzzOctetText holds the
// fast path to it).
func octetTextGeneral(b []byte) string {
	s := strings.TrimRight(string(b), "\x00")
	if utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool {
		return !unicode.IsPrint(r) && !unicode.IsSpace(r)
	}) < 0 {
		return strings.TrimSpace(s)
	}
	return fmt.Sprintf("%x", b)
}

// macText formats a 6-byte physical address as aa:bb:cc:dd:ee:ff; other
// lengths as hex.
func macText(b []byte) string {
	switch len(b) {
	case 0:
		return ""
	case 6:
		return net.HardwareAddr(b).String()
	}
	return fmt.Sprintf("%x", b)
}

// clampInt stores counters as InfluxDB integers (int64). A Counter64 above
// 2^63-1 cannot occur before a device has moved 8 EiB; it is clamped rather
// than wrapped into a negative number.
func clampInt(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}
