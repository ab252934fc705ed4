package tsdb_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/tsdb"
)

func TestDropAssetSeriesRemovesOnlyThatAsset(t *testing.T) {
	w := newReadWorld(t)
	before, err := w.ts.Latest(t.Context(), assetA, 24*time.Hour)
	require.NoError(t, err)
	require.NotEmpty(t, before, "asset A has points before the drop")

	require.NoError(t, w.ts.DropAssetSeries(t.Context(), assetA))

	after, err := w.ts.Latest(t.Context(), assetA, 24*time.Hour)
	require.NoError(t, err)
	require.Empty(t, after, "got %d series of asset A after the drop, want none", len(after))
	polls, err := w.ts.LatestPolls(t.Context(), []tsdb.AssetRef{assetA}, 24*time.Hour)
	require.NoError(t, err)
	require.Nil(t, polls[assetA.ID], "its agent_poll series too")
	b, err := w.ts.Latest(t.Context(), assetB, 24*time.Hour)
	require.NoError(t, err)
	require.NotEmpty(t, b, "asset B keeps its points")

	require.ErrorContains(t, w.ts.DropAssetSeries(t.Context(), tsdb.AssetRef{ID: "x", Series: "1.1' OR 1=1"}), "invalid series id")
}
