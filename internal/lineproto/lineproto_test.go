package lineproto_test

import (
	"testing"

	lp "github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/lineproto"
)

// The re-encoder converts the library decoder's kinds to Kind.
func TestKindsAreTheLibrarys(t *testing.T) {
	for k := lineproto.Unknown; k <= lineproto.Bool; k++ {
		require.Equal(t, lp.ValueKind(k).String(), k.String())
	}
}

func TestAppendFieldValue(t *testing.T) {
	tests := []struct {
		name    string
		kind    lineproto.Kind
		v       string
		want    string
		wantErr string
	}{
		{"float as checked", lineproto.Float, "-1.5E-07", "-1.5E-07", ""},
		{"uint as an integer", lineproto.Uint, "7", "7i", ""},
		{"int", lineproto.Int, "-42", "-42i", ""},
		{"bool spelled short", lineproto.Bool, "T", "true", ""},
		{"string, controls as they are", lineproto.String, "a\"b\\c\nd", `"a\"b\\c` + "\n" + `d"`, ""},
		{"hex float", lineproto.Float, "0x10", "", `invalid number "0x10"`},
		{"float overflow", lineproto.Float, "1e400", "", `invalid number "1e400"`},
		{"uint over int64", lineproto.Uint, "9223372036854775808", "", "which InfluxDB 1.x cannot store"},
		{"uint with leading zeros", lineproto.Uint, "000000000000000000001", "000000000000000000001i", ""},
		{"bad bool", lineproto.Bool, "yes", "", `invalid bool "yes"`},
		{"bad utf-8", lineproto.String, "\xff", "", "not valid UTF-8"},
		{"unknown kind", lineproto.Unknown, "1", "", "unknown value kind unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lineproto.AppendFieldValue([]byte("x="), tt.kind, []byte(tt.v))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Equal(t, "x=", string(got), "nothing written")
				return
			}
			require.NoError(t, err)
			require.Equal(t, "x="+tt.want, string(got))
		})
	}
}

func TestAppendLine(t *testing.T) {
	tags := []lineproto.Tag{{Key: "z", Value: "a b,c=d"}, {Key: "asset", Value: "sw1"}, {Key: "empty"}}
	fields := []lineproto.Field{{Key: "s", Kind: lineproto.String, S: "x\ny"}, {Key: "f", Kind: lineproto.Float, F: 1.5},
		{Key: "i", Kind: lineproto.Int, N: uint64(1<<64 - 3)}, {Key: "u", Kind: lineproto.Uint, N: 7}, {Key: "b", Kind: lineproto.Bool, N: 1}}
	lineproto.SortPairs(tags, fields)
	got := lineproto.AppendLine([]byte("before\n"), "m", tags, fields, 1700000000000000123)
	require.Equal(t, "before\nm,asset=sw1,z=a\\ b\\,c\\=d b=true,f=1.5,i=-3i,s=\"x\\ny\",u=7u 1700000000000000123\n", string(got))
}

// The tag value check costs no allocation, for strings and bytes alike.
func TestCheckTagValueDoesNotAllocate(t *testing.T) {
	s, b := "Zürich, Gi 1/0/1", []byte("Zürich, Gi 1/0/1")
	require.Zero(t, testing.AllocsPerRun(100, func() {
		lineproto.CheckTagValue(s)
		lineproto.CheckTagValue(b)
	}))
}
