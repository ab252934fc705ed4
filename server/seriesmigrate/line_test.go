package seriesmigrate

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLineOfOnePoint(t *testing.T) {
	at := time.Unix(1700000000, 123456789).UTC()
	legacy := map[string]string{"asset_id": "0b7c1f5e-0000-4000-8000-000000000001", "org_id": "o", "ou_id": "u"}
	with := func(tags map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range legacy {
			out[k] = v
		}
		for k, v := range tags {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name        string
		measurement string
		tags        map[string]string
		cols        []string
		row         []any
		types       fieldTypes
		want        string
		wantErr     string
	}{
		{
			name: "legacy tags replaced by asset, in key order", measurement: "backup_job",
			tags: with(map[string]string{"job": "Nightly", "backup_server": "b1", "zone": "z"}),
			cols: []string{"time", "status"}, row: []any{at, int64(2)}, types: fieldTypes{"status": typeInteger},
			want: "backup_job,asset=3.17,backup_server=b1,job=Nightly,zone=z status=2i 1700000000123456789\n",
		},
		{
			name: "tag values and names with space, comma, equals", measurement: "memory",
			tags: with(map[string]string{"descr": "Physical memory, bank=1", "odd key": "x"}),
			cols: []string{"time", "used_percent"}, row: []any{at, 50.5}, types: fieldTypes{"used_percent": typeFloat},
			want: `memory,asset=3.17,descr=Physical\ memory\,\ bank\=1,odd\ key=x used_percent=50.5 1700000000123456789` + "\n",
		},
		{
			name: "measurement with comma and space", measurement: "a b,c",
			tags: legacy, cols: []string{"time", "v"}, row: []any{at, true}, types: fieldTypes{"v": typeBoolean},
			want: `a\ b\,c,asset=3.17 v=true 1700000000123456789` + "\n",
		},
		{
			name: "float field read back as a JSON integer stays float", measurement: "cpu",
			tags: with(map[string]string{"index": "1"}), cols: []string{"time", "load_percent"},
			row: []any{at, int64(50)}, types: fieldTypes{"load_percent": typeFloat},
			want: "cpu,asset=3.17,index=1 load_percent=50 1700000000123456789\n",
		},
		{
			name: "every type, nulls left out, string escaped as InfluxDB reads it", measurement: "m",
			tags: with(map[string]string{"empty": ""}), cols: []string{"time", "b", "f", "i", "n", "s"},
			row:   []any{at, false, -1.25e-7, int64(-9007199254740993), nil, "say \"hi\"\\\nbye"},
			types: fieldTypes{"b": typeBoolean, "f": typeFloat, "i": typeInteger, "n": typeFloat, "s": typeString},
			want:  "m,asset=3.17 b=false,f=-1.25e-07,i=-9007199254740993i,s=\"say \\\"hi\\\"\\\\\nbye\" 1700000000123456789\n",
		},
		{
			name: "old points without legacy tags of their own asset tag", measurement: "m",
			tags: with(map[string]string{"asset": "agent-side"}), cols: []string{"time", "v"},
			row: []any{at, "x"}, types: fieldTypes{"v": typeString},
			want: "m,asset=3.17 v=\"x\" 1700000000123456789\n",
		},
		{
			name: "fractional value of an integer field", measurement: "m", tags: legacy,
			cols: []string{"time", "v"}, row: []any{at, 1.5}, types: fieldTypes{"v": typeInteger},
			wantErr: "integer field holds 1.5",
		},
		{
			name: "string in a float field", measurement: "m", tags: legacy,
			cols: []string{"time", "v"}, row: []any{at, "x"}, types: fieldTypes{"v": typeFloat},
			wantErr: `does not fit the field's type "float"`,
		},
		{
			name: "tag value line protocol cannot carry", measurement: "m",
			tags: with(map[string]string{"t": "a\nb"}), cols: []string{"time", "v"}, row: []any{at, 1.0},
			wantErr: "cannot be written in line protocol",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			line, err := appendSeriesKey(nil, tc.measurement, tc.tags, "3.17")
			if err == nil {
				line, _, err = appendFields(line, tc.cols, tc.row, tc.types)
			}
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			ns, err := timeAt(tc.row, columnIndex(tc.cols, "time"))
			require.NoError(t, err)
			line = append(append(line, ' '), []byte(timeLiteral(ns)+"\n")...)
			require.Equal(t, tc.want, string(line))
		})
	}
}

func TestNextSpan(t *testing.T) {
	tests := []struct {
		name   string
		span   time.Duration
		got    int
		target int
		want   time.Duration
	}{
		{name: "empty chunk widens fourfold", span: time.Hour, got: 0, target: 100, want: 4 * time.Hour},
		{name: "on target keeps", span: time.Hour, got: 100, target: 100, want: time.Hour},
		{name: "twice the target halves", span: time.Hour, got: 200, target: 100, want: 30 * time.Minute},
		{name: "far over target shrinks at most fourfold", span: time.Hour, got: 100000, target: 100, want: 15 * time.Minute},
		{name: "never below a second", span: time.Second, got: 1000, target: 1, want: time.Second},
		{name: "never above a year", span: 300 * 24 * time.Hour, got: 0, target: 1, want: maxSpan},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, nextSpan(tc.span, tc.got, tc.target))
		})
	}
}

func TestQuoting(t *testing.T) {
	require.Equal(t, `"a\"b\\c"`, quoteIdent(`a"b\c`))
	require.Equal(t, `'it\'s \\ x'`, quoteString(`it's \ x`))
}
