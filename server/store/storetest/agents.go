package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// agentTests cover store.Agents: enrollment and batch ids.
var agentTests = []test{
	{"EnrollmentTokenIsSingleUse", testEnrollmentSingleUse},
	{"EnrollmentTokenExpires", testEnrollmentExpires},
	{"BatchIDs", testBatchIDs},
}

func testEnrollmentSingleUse(t *testing.T, s store.Store) {
	o := newOrg(t, s, "A")
	now := time.Now()
	require.NoError(t, s.CreateEnrollmentToken(t.Context(), store.EnrollmentToken{TokenHash: "tok", OrgID: o.ID,
		OUID: o.RootOU, CreatedBy: "test", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))

	const racers = 8
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Go(func() {
			a := store.Agent{Name: "a", Hostname: "h", Version: "v", TokenHash: "agent-" + string(rune('a'+i))}
			errs[i] = s.EnrollAgent(t.Context(), "tok", now, &a)
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, store.ErrNotFound)
		}
	}
	require.Equal(t, 1, ok, "exactly one agent may enroll with a token")
}

func testEnrollmentExpires(t *testing.T, s store.Store) {
	o := newOrg(t, s, "A")
	now := time.Now()
	require.NoError(t, s.CreateEnrollmentToken(t.Context(), store.EnrollmentToken{TokenHash: "tok", OrgID: o.ID,
		OUID: o.RootOU, CreatedBy: "test", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	a := store.Agent{Name: "a", TokenHash: "cred"}
	require.ErrorIs(t, s.EnrollAgent(t.Context(), "tok", now.Add(61*time.Minute), &a), store.ErrNotFound)

	other := newOrg(t, s, "B")
	err := s.CreateEnrollmentToken(t.Context(), store.EnrollmentToken{TokenHash: "tok2", OrgID: o.ID,
		OUID: other.RootOU, CreatedBy: "test", CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	require.ErrorIs(t, err, store.ErrNotFound, "a token for an OU of another organization must be refused")
}

func testBatchIDs(t *testing.T, s store.Store) {
	seen, err := s.BatchSeen(t.Context(), "agent", "b1")
	require.NoError(t, err)
	require.False(t, seen)
	require.NoError(t, s.RecordBatch(t.Context(), "agent", "b1", time.Now()))
	require.NoError(t, s.RecordBatch(t.Context(), "agent", "b1", time.Now()))
	seen, err = s.BatchSeen(t.Context(), "agent", "b1")
	require.NoError(t, err)
	require.True(t, seen)
	seen, err = s.BatchSeen(t.Context(), "other-agent", "b1")
	require.NoError(t, err)
	require.False(t, seen, "batch ids are per agent")
}
