package storetest

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
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
	{"BatchClaims", testBatchClaims},
	{"BatchClaimRace", testBatchClaimRace},
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

func testBatchClaims(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Now()
	claim := func(agent, batch, id string, at time.Time) store.BatchClaim {
		t.Helper()
		got, err := s.ClaimBatch(ctx, agent, batch, id, at, at.Add(time.Minute))
		require.NoError(t, err)
		return got
	}
	require.Equal(t, store.BatchClaimed, claim("agent", "b1", "c1", now))
	require.Equal(t, store.BatchPending, claim("agent", "b1", "c2", now), "an unexpired claim is not taken twice")
	require.Equal(t, store.BatchClaimed, claim("other-agent", "b1", "c3", now), "batch ids are per agent")
	seen, err := s.BatchSeen(ctx, "agent", "b1")
	require.NoError(t, err)
	require.False(t, seen, "a pending claim is not a stored batch")

	// The holder's write failed: only the holder's release frees the id.
	require.NoError(t, s.ReleaseBatch(ctx, "agent", "b1", "c2"))
	require.Equal(t, store.BatchPending, claim("agent", "b1", "c4", now), "another claim's release is ignored")
	require.NoError(t, s.ReleaseBatch(ctx, "agent", "b1", "c1"))
	require.Equal(t, store.BatchClaimed, claim("agent", "b1", "c5", now), "a released claim can be taken by the retry")

	// The holder stored it.
	require.NoError(t, s.RecordBatch(ctx, "agent", "b1", now))
	require.Equal(t, store.BatchStored, claim("agent", "b1", "c6", now))
	require.Equal(t, store.BatchStored, claim("agent", "b1", "c7", now.Add(time.Hour)), "a stored id never expires into a claim")
	require.NoError(t, s.ReleaseBatch(ctx, "agent", "b1", "c5"))
	seen, err = s.BatchSeen(ctx, "agent", "b1")
	require.NoError(t, err)
	require.True(t, seen, "a release after storing keeps the id")

	// A claim left by a replica that died expires.
	require.Equal(t, store.BatchClaimed, claim("agent", "b2", "dead", now))
	require.Equal(t, store.BatchPending, claim("agent", "b2", "c8", now.Add(59*time.Second)))
	require.Equal(t, store.BatchClaimed, claim("agent", "b2", "c9", now.Add(time.Minute)), "taken over at expiry")
	require.NoError(t, s.ReleaseBatch(ctx, "agent", "b2", "dead"))
	require.Equal(t, store.BatchPending, claim("agent", "b2", "c10", now.Add(time.Minute)), "the dead holder's late release does not free the new claim")
}

// testBatchClaimRace: many requests claim the same ids at once; each id
// goes to exactly one of them.
func testBatchClaimRace(t *testing.T, s store.Store) {
	const ids, racers = 20, 4
	now := time.Now()
	var claimed [ids]atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, ids*racers)
	for r := range racers {
		wg.Go(func() {
			for i := range ids {
				got, err := s.ClaimBatch(t.Context(), "agent", "b"+strconv.Itoa(i), fmt.Sprintf("c%d-%d", r, i), now, now.Add(time.Minute))
				if err != nil {
					errs <- err
					continue
				}
				if got == store.BatchClaimed {
					claimed[i].Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for i := range ids {
		require.Equal(t, int32(1), claimed[i].Load(), "batch %d claimed once", i)
	}
}
