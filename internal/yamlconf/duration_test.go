package yamlconf

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestDuration(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"30s", 30 * time.Second},
		{"1h30m", 90 * time.Minute},
		{"0s", 0},
		{"30d", 30 * 24 * time.Hour},
		{"0d", 0},
	} {
		var d Duration
		require.NoError(t, yaml.Unmarshal([]byte(tt.in), &d), tt.in)
		require.Equal(t, tt.want, d.D(), tt.in)
	}
	for _, bad := range []string{"30", "1.5d", "-1d", "d", "99999999d", "1w", "[1d]"} {
		var d Duration
		err := yaml.Unmarshal([]byte(bad), &d)
		require.ErrorContains(t, err, "is not a duration", bad)
	}
}

func TestDurationRoundTrip(t *testing.T) {
	for _, d := range []Duration{Duration(30 * 24 * time.Hour), Duration(90 * time.Minute), Duration(25 * time.Hour), 0} {
		out, err := yaml.Marshal(d)
		require.NoError(t, err)
		var back Duration
		require.NoError(t, yaml.Unmarshal(out, &back))
		require.Equal(t, d, back, string(out))
	}
	out, _ := yaml.Marshal(Duration(30 * 24 * time.Hour))
	require.Equal(t, "30d\n", string(out))
}
