package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/problem"
)

func TestAsHTTPError(t *testing.T) {
	cause := errors.New("sql: connection refused")
	tests := []struct {
		name      string
		err       error
		wantCode  int
		wantMsg   string
		wantRetry time.Duration
	}{
		{"HTTPError as it is", &HTTPError{Code: http.StatusConflict, Msg: "taken"}, http.StatusConflict, "taken", 0},
		{"problem kind to status", problem.Invalidf("name %q: too long", "x"), http.StatusBadRequest, `name "x": too long`, 0},
		{"wrapped problem", fmt.Errorf("adding partner: %w", problem.ErrNotFound), http.StatusNotFound, "not found", 0},
		{"problem keeps Retry-After", &problem.Error{Kind: problem.Unavailable, Msg: "store is unavailable; retry later", Err: cause, RetryAfter: 10 * time.Second},
			http.StatusServiceUnavailable, "store is unavailable; retry later", 10 * time.Second},
		{"anything else is internal", cause, http.StatusInternalServerError, "internal error", 0},
		{"a problem without a kind is internal", &problem.Error{Msg: "secret detail"}, http.StatusInternalServerError, "internal error", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			he := asHTTPError(tt.err)
			require.Equal(t, tt.wantCode, he.Code)
			require.Equal(t, tt.wantMsg, he.Msg)
			require.Equal(t, tt.wantRetry, he.RetryAfter)
		})
	}
}

func TestLimitParam(t *testing.T) {
	tests := []struct {
		name, query string
		want        int
		wantErr     string
	}{
		{"absent takes the default", "", 50, ""},
		{"in range", "limit=500", 500, ""},
		{"zero", "limit=0", 0, `limit "0": a number from 1 to 500`},
		{"over the most", "limit=501", 0, `limit "501": a number from 1 to 500`},
		{"not a number", "limit=x", 0, `limit "x": a number from 1 to 500`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			require.NoError(t, err)
			got, err := limitParam(q, 50, 500)
			if tt.wantErr != "" {
				he := asHTTPError(err)
				require.Equal(t, http.StatusBadRequest, he.Code)
				require.Equal(t, tt.wantErr, he.Msg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
