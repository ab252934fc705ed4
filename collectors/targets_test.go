package collectors

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestExpandTargets(t *testing.T) {
	c := Common{Type: "snmp", Targets: []Target{
		{Address: "192.0.2.0/30", Asset: "ups-{host}", Labels: map[string]string{"site": "a"}},
		{Hosts: []string{"10.0.0.5", "10.0.0.6:1161"}, Asset: "sw-{host}"},
		{Address: "198.51.100.7:161", Asset: "single-{host}"},
		{Address: "2001:db8::/127", Asset: "v6-{host}"},
	}}
	require.NoError(t, c.ValidateCommon())
	var got []string
	for _, x := range c.Targets {
		got = append(got, x.Address+" "+x.Asset)
	}
	require.Equal(t, []string{
		"192.0.2.1 ups-192.0.2.1", "192.0.2.2 ups-192.0.2.2", // no network or broadcast address
		"10.0.0.5 sw-10.0.0.5", "10.0.0.6:1161 sw-10.0.0.6",
		"198.51.100.7:161 single-198.51.100.7",
		"2001:db8:: v6-2001:db8::", "2001:db8::1 v6-2001:db8::1",
	}, got)
	require.Equal(t, "a", c.Targets[1].Labels["site"])
	// Validating again (New does) changes nothing.
	require.NoError(t, c.ValidateCommon())
	require.Len(t, c.Targets, 7)
}

func TestExpandTargetsErrors(t *testing.T) {
	tests := []struct {
		t    Target
		want string
	}{
		{Target{Address: "10.0.0.0/24", Asset: "same"}, "put {host} in it"},
		{Target{Address: "10.0.0.0/8", Asset: "x-{host}"}, "more than 4096 addresses"},
		{Target{Address: "10.0.0.1", Hosts: []string{"10.0.0.2"}, Asset: "x"}, "address or hosts, not both"},
		{Target{Hosts: []string{"a", "b"}, Asset: "x"}, "each of the 2 hosts"},
	}
	for _, tt := range tests {
		c := Common{Targets: []Target{tt.t}}
		require.ErrorContains(t, c.ValidateCommon(), tt.want)
	}
}
