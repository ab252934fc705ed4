package snmp

import (
	"math"
	"testing"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"
	"github.com/stretchr/testify/require"
)

func TestDecodeValues(t *testing.T) {
	tests := []struct {
		name   string
		pdu    gosnmp.SnmpPDU
		format string
		text   string
		num    float64
		isNum  bool
	}{
		{"Counter32", gosnmp.SnmpPDU{Type: gosnmp.Counter32, Value: uint(4294967295)}, "", "4294967295", 4294967295, true},
		{"Counter64", gosnmp.SnmpPDU{Type: gosnmp.Counter64, Value: uint64(1 << 63)}, "", "9223372036854775808", 1 << 63, true},
		{"Gauge32", gosnmp.SnmpPDU{Type: gosnmp.Gauge32, Value: uint(42)}, "", "42", 42, true},
		{"negative Integer", gosnmp.SnmpPDU{Type: gosnmp.Integer, Value: -3}, "", "-3", -3, true},
		{"TimeTicks", gosnmp.SnmpPDU{Type: gosnmp.TimeTicks, Value: uint32(12345)}, "", "12345", 12345, true},
		{"IpAddress", gosnmp.SnmpPDU{Type: gosnmp.IPAddress, Value: "10.1.2.3"}, "", "10.1.2.3", 0, false},
		{"OID", gosnmp.SnmpPDU{Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.4.1.9.1.1"}, "", ".1.3.6.1.4.1.9.1.1", 0, false},
		{"UTF-8 text with trailing NULs", gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: []byte("Schrank Köln\x00\x00")}, "", "Schrank Köln", 0, false},
		{"binary serial as hex", gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: []byte{0x00, 0x1b, 0xff, 0x10}}, "", "001bff10", 0, false},
		{"MAC", gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: []byte{0, 0x1b, 0x21, 0x3c, 0x4d, 0x5e}}, "mac", "00:1b:21:3c:4d:5e", 0, false},
		{"IPv4 in an OCTET STRING", gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: []byte{192, 0, 2, 1}}, "ip", "192.0.2.1", 0, false},
		{"number in text", gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: []byte("0.15")}, "number", "0.15", 0.15, true},
		{"number with unit", gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: []byte("41 C")}, "number", "41 C", 41, true},
		{"labelled number", gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: []byte("Voltage 12V Rail Loc: right-PSU: 12.42V")}, "labelled_number", "Voltage 12V Rail Loc: right-PSU: 12.42V", 12.42, true},
		{"labelled text is not a number", gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: []byte("Overall Unit Status: OK")}, "labelled_number", "Overall Unit Status: OK", 0, false},
		{"text is not a number without format", gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: []byte("41")}, "", "41", 0, false},
		{"Opaque float", gosnmp.SnmpPDU{Type: gosnmp.OpaqueFloat, Value: float32(0.5)}, "", "0.5", 0.5, true},
		{"NaN is not a number", gosnmp.SnmpPDU{Type: gosnmp.OpaqueDouble, Value: math.NaN()}, "", "NaN", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.text, toText(tt.pdu, tt.format))
			n, ok := toFloat(tt.pdu, tt.format)
			require.Equal(t, tt.isNum, ok)
			if ok {
				require.Equal(t, tt.num, n)
			}
		})
	}
}

func FuzzDecodeValue(f *testing.F) {
	f.Add(byte(gosnmp.OctetString), []byte("Linux 6.1"), "")
	f.Add(byte(gosnmp.OctetString), []byte{0xff, 0xfe, 0}, "mac")
	f.Add(byte(gosnmp.OctetString), []byte("1e400"), "number")
	f.Add(byte(gosnmp.Counter64), []byte{1, 2, 3, 4, 5, 6, 7, 8}, "")
	f.Fuzz(func(t *testing.T, typ byte, data []byte, format string) {
		var v any = data
		switch gosnmp.Asn1BER(typ) {
		case gosnmp.Counter64:
			var u uint64
			for _, b := range data {
				u = u<<8 | uint64(b)
			}
			v = u
		case gosnmp.Integer:
			v = len(data) - 50
		}
		p := gosnmp.SnmpPDU{Name: ".1.3", Type: gosnmp.Asn1BER(typ), Value: v}
		s := toText(p, format)
		if format != "" && format != "hex" && format != "mac" && format != "ip" && !utf8.ValidString(s) {
			t.Fatalf("text %q is not UTF-8", s)
		}
		if f, ok := toFloat(p, format); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
			t.Fatalf("toFloat returned %v as a number", f)
		}
		_ = enumText(map[int64]string{1: "up"}, p, format)
	})
}

func FuzzOctetText(f *testing.F) {
	for _, s := range []string{"Linux 6.1", "  padded \x00\x00", "tab\there\r\n", "bell\a", "del\x7f", "Zürich", "\x00mid", "\xff\xfe", "\x0b\x0c", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := octetText(b), octetTextGeneral(b); got != want {
			t.Fatalf("octetText(%q) = %q, the general rule says %q", b, got, want)
		}
	})
}
