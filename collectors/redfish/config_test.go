package redfish

import (
	"strings"
	"testing"

	"github.com/kpilot/kpilot/collectors"
)

func TestConfigErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Username = "" }, "username: missing"},
		{func(c *Config) { c.Password = "" }, "password: missing"},
		{func(c *Config) { c.Auth = "digest" }, `auth "digest": must be session or basic`},
		{func(c *Config) { c.MaxConcurrentRequests = 0 }, "max_concurrent_requests 0"},
		{func(c *Config) { c.CAFile = "/nonexistent/ca.pem" }, "ca_file: open /nonexistent/ca.pem"},
		{func(c *Config) { c.CAFile, c.InsecureSkipVerify = "/etc/hostname", true }, "choose one"},
		{func(c *Config) { c.Targets[0].Address = "ftp://bmc" }, "targets[0]: address: \"ftp://bmc\": scheme must be https or http"},
		{func(c *Config) { c.Targets[0].Address = "https://bmc/redfish/v1/Systems" }, "without a path"},
		{func(c *Config) { c.MaxResponseBytes = 10 }, "max_response_bytes 10"},
	}
	for _, tt := range tests {
		c := newConfig().(*Config)
		c.Type, c.Username, c.Password = "redfish", "u", "p"
		c.Targets = []collectors.Target{{Address: "bmc.example", Asset: "srv"}}
		tt.edit(c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate() = %v, want it to contain %q", err, tt.want)
		}
	}
}

func TestEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"bmc.example":                   "https://bmc.example",
		"10.0.0.5:8443":                 "https://10.0.0.5:8443",
		"http://10.0.0.5":               "http://10.0.0.5",
		"https://[::1]:443/redfish/v1/": "https://[::1]:443",
	} {
		if got, err := endpoint(in); err != nil || got != want {
			t.Errorf("endpoint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
