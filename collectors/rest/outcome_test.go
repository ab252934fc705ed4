package rest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/internal/mockoon"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// TestOutcomes polls the recorded NetApp ONTAP answers through a front
// that behaves as the array does when something is wrong: it refuses
// other credentials with 401, or cuts every answer short. Each failure has
// its class.
func TestOutcomes(t *testing.T) {
	env, err := mockoon.Load(filepath.Join("testdata/mockoon", "netapp-ontap.json"))
	require.NoError(t, err)
	tests := []struct {
		name     string
		password string
		truncate bool
		want     collectors.Outcome
		msg      string
	}{
		{"ok", "monitor-secret", false, collectors.OutcomeOK, ""},
		{"wrong password", "not-the-password", false, collectors.OutcomeCredentialsRejected, "HTTP 401 Unauthorized (check the credentials)"},
		{"malformed JSON", "monitor-secret", true, collectors.OutcomeProtocolError, "the answer is truncated JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mock := mockoon.NewServer(env, "")
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if u, p, ok := r.BasicAuth(); !ok || u != "monitor" || p != "monitor-secret" {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusUnauthorized)
					w.Write([]byte(`{"error": {"message": "not authorized for that command", "code": "6"}}`))
					return
				}
				if !tt.truncate {
					mock.ServeHTTP(w, r)
					return
				}
				rec := httptest.NewRecorder()
				mock.ServeHTTP(rec, r)
				w.Header().Set("Content-Type", "application/json")
				w.Write(rec.Body.Bytes()[:rec.Body.Len()/2])
			}))
			defer srv.Close()
			c := loadCase(t, "testdata/cases/netapp-ontap/config.yaml", srv.URL)
			c.Password = yamlconf.Secret(tt.password)
			col := newCollector(t, c, nil)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			err := col.Collect(ctx, &collectors.Recorder{})
			require.Equal(t, tt.want, collectors.Classify(err), "%v", err)
			if tt.msg != "" {
				require.ErrorContains(t, err, tt.msg)
			}
		})
	}
}
