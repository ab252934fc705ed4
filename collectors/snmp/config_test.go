package snmp

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors"
)

func TestValidate(t *testing.T) {
	target := []collectors.Target{{Address: "10.0.0.1", Asset: "sw"}}
	tests := []struct {
		name    string
		cfg     Config
		wantErr []string
	}{
		{"defaults are valid", *newConfig().(*Config), nil},
		{"bad version", Config{Version: "4", Community: "c", MaxRepetitions: 1}, []string{`version "4"`}},
		{"v1 cannot bulk", Config{Version: "1", Community: "c", MaxRepetitions: 1, Walk: "bulk"}, []string{"SNMP v1 has no GetBulk"}},
		{"v3 needs user and level", Config{Version: "3", MaxRepetitions: 1}, []string{"username: missing", `security_level ""`}},
		{"v3 auth_priv needs protocols", Config{Version: "3", Username: "u", SecurityLevel: "auth_priv", MaxRepetitions: 1},
			[]string{`auth_protocol ""`, "auth_password: missing", `priv_protocol ""`, "priv_password: missing"}},
		{"bad port", Config{Version: "2c", Community: "c", MaxRepetitions: 1,
			Common: collectors.Common{Targets: []collectors.Target{{Address: "h:99999", Asset: "a"}}}}, []string{"port must be a number"}},
		{"no targets", Config{Version: "2c", Community: "c", MaxRepetitions: 1, Common: collectors.Common{Targets: []collectors.Target{}}},
			[]string{"at least one target"}},
		{"missing asset", Config{Version: "2c", Community: "c", MaxRepetitions: 1,
			Common: collectors.Common{Targets: []collectors.Target{{Address: "h"}}}}, []string{"targets[0]: asset: missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cfg.Targets == nil {
				tt.cfg.Targets = target
			}
			err := tt.cfg.Validate()
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tt.wantErr {
				require.True(t, strings.Contains(err.Error(), w), "got %q, want it to contain %q", err, w)
			}
		})
	}
}
