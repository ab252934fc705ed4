package portal

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// The API's validation messages that name a field go to that field.
func TestFormErrorsFindTheField(t *testing.T) {
	p, err := New(nil, Options{})
	require.NoError(t, err)
	r := httptest.NewRequest("GET", "/?lang=en", nil)
	tests := []struct {
		name       string
		err        error
		wantTop    string
		wantFields map[string]string
	}{
		{"named field", &apiError{Code: 400, Msg: "name: too long"}, "Please check your input:", map[string]string{"name": "too long"}},
		{"indexed field", &apiError{Code: 404, Msg: "asset_ids[1]: no such asset"}, "Please check your input:",
			map[string]string{"asset_ids": "no such asset"}},
		{"field with its value", &apiError{Code: 400, Msg: `email "x": not an email address`}, "Please check your input:",
			map[string]string{"email": "not an email address"}},
		{"field of a nested object", &apiError{Code: 400, Msg: `asset.category "x": one of server, storage`}, "Please check your input:",
			map[string]string{"category": "one of server, storage"}},
		{"no field", &apiError{Code: 400, Msg: "name either asset_id or group_id"}, "Please check your input: name either asset_id or group_id", nil},
		{"forbidden", &apiError{Code: 403, Msg: "role: only admins"}, "You may not do this. role: only admins", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top, fields := p.formErrors(r, tt.err)
			require.Equal(t, tt.wantTop, top)
			require.Equal(t, tt.wantFields, fields)
		})
	}
}
