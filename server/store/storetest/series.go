package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

var seriesTests = []test{
	{"SeriesIDsAreCompactAndUnique", testSeriesIDs},
	{"SeriesIDsOfConcurrentCreations", testSeriesIDsConcurrent},
}

// testSeriesIDs: every asset gets "<organization number>.<asset number>",
// numbered per organization whichever way it was created, and reads
// return it.
func testSeriesIDs(t *testing.T, s store.Store) {
	a, b := newOrg(t, s, "A"), newOrg(t, s, "B")
	agentA := enrolled(t, s, a, a.RootOU, "agent-a")
	agentB := enrolled(t, s, b, b.RootOU, "agent-b")

	a1, err := s.EnsureAsset(t.Context(), agentA, "switch-1", nil, 0)
	require.NoError(t, err)
	manual := store.Asset{OrgID: a.ID, OUID: a.RootOU, Name: "Entered by hand"}
	require.NoError(t, s.CreateAsset(t.Context(), &manual, nil))
	b1, err := s.EnsureAsset(t.Context(), agentB, "switch-1", nil, 0)
	require.NoError(t, err)
	a3, err := s.EnsureAsset(t.Context(), agentA, "switch-2", []string{"serial:X1"}, 0)
	require.NoError(t, err)

	orgA, _, ok := strings.Cut(a1.SeriesID, ".")
	require.True(t, ok, "series id %q has the form org.asset", a1.SeriesID)
	orgB, _, _ := strings.Cut(b1.SeriesID, ".")
	require.NotEqual(t, orgA, orgB, "organizations have different numbers")
	require.Equal(t, orgA+".1", a1.SeriesID)
	require.Equal(t, orgA+".2", manual.SeriesID, "CreateAsset numbers like EnsureAsset")
	require.Equal(t, orgA+".3", a3.SeriesID)
	require.Equal(t, orgB+".1", b1.SeriesID, "assets are numbered within their organization")

	again, err := s.EnsureAsset(t.Context(), agentA, "switch-1", nil, 0)
	require.NoError(t, err)
	require.Equal(t, a1.SeriesID, again.SeriesID, "a known asset keeps its number")
	got, err := s.Asset(t.Context(), a3.ID)
	require.NoError(t, err)
	require.Equal(t, a3.SeriesID, got.SeriesID)
	list, err := s.Assets(t.Context(), a.ID)
	require.NoError(t, err)
	for _, as := range list {
		require.NotEmpty(t, as.SeriesID, "asset %s", as.Name)
	}
	byIDs, err := s.AssetsByIDs(t.Context(), []string{b1.ID})
	require.NoError(t, err)
	require.Equal(t, b1.SeriesID, byIDs[0].SeriesID)
}

// testSeriesIDsConcurrent: assets created at the same time, in one
// organization and in several, all get different numbers.
func testSeriesIDsConcurrent(t *testing.T, s store.Store) {
	orgs := []store.Organization{newOrg(t, s, "A"), newOrg(t, s, "B")}
	agents := []store.Agent{enrolled(t, s, orgs[0], orgs[0].RootOU, "a"), enrolled(t, s, orgs[1], orgs[1].RootOU, "b")}
	const n = 12
	ids := make(chan string, 2*n)
	var wg sync.WaitGroup
	for i := range 2 * n {
		wg.Go(func() {
			as, err := s.EnsureAsset(t.Context(), agents[i%2], fmt.Sprintf("dev-%d", i), nil, 0)
			if err != nil {
				t.Error(err)
				return
			}
			ids <- as.SeriesID
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		require.False(t, seen[id], "series id %s handed out twice", id)
		seen[id] = true
	}
	require.Len(t, seen, 2*n)
}
