package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

func TestAssetStatus(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	for _, tt := range []struct {
		name string
		as   store.Asset
		want string
	}{
		{"never polled", store.Asset{}, "unknown"},
		{"answered", store.Asset{LastPollAt: now.Add(-time.Minute), LastPollUp: true}, "up"},
		{"did not answer", store.Asset{LastPollAt: now.Add(-time.Minute)}, "down"},
		{"last poll long ago", store.Asset{LastPollAt: now.Add(-store.StaleAfter - time.Second), LastPollUp: true}, "stale"},
		{"last poll just in time", store.Asset{LastPollAt: now.Add(-store.StaleAfter), LastPollUp: true}, "up"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.as.Status(now))
		})
	}
}
