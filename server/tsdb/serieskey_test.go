package tsdb

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSeriesKey(t *testing.T) {
	tests := []struct {
		name string
		m    string
		tags map[string]string
		want string
	}{
		{"no tags", "cpu", nil, "cpu"},
		{"tags sorted by key", "filesystem", map[string]string{"path": "/data", "device": "sda1"}, "filesystem,device=sda1,path=/data"},
		{"values as they are", "interface", map[string]string{"descr": "Intel(R) Ethernet 1"}, "interface,descr=Intel(R) Ethernet 1"},
		{"empty measurement (a subject across measurements)", "", map[string]string{"job": "nightly"}, ",job=nightly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, SeriesKey(tt.m, tt.tags))
		})
	}
}

// TestGroupKeyTellsSeriesApart: tag values with "," and "=" could make
// two series' SeriesKeys equal; their group keys differ.
func TestGroupKeyTellsSeriesApart(t *testing.T) {
	a := map[string]string{"a": "x,b=y"}
	b := map[string]string{"a": "x", "b": "y"}
	require.Equal(t, SeriesKey("m", a), SeriesKey("m", b), "the stored subject form cannot tell them apart")
	require.NotEqual(t, groupKey("m", a), groupKey("m", b))
}
