package visibility_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/visibility"
)

// TestBulkSetAgreesWithOneByOne: the Loader reads a partner's customers
// in bulk from a store that can (store.ChannelSetups), customer by
// customer from one that cannot; both give every principal the same set.
func TestBulkSetAgreesWithOneByOne(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			db := openStore(t)
			w := newRandomWorld(t, db, seed)
			bulk, one := visibility.NewLoader(db), visibility.NewLoader(&countingSource{Source: db})
			for _, p := range w.principals {
				want, err := one.Set(t.Context(), p)
				require.NoError(t, err)
				got, err := bulk.Set(t.Context(), p)
				require.NoError(t, err)
				require.Equal(t, want.SharedAssetIDs(), got.SharedAssetIDs(), "principal %+v", p)
				for _, a := range w.assets {
					require.Equal(t, want.Access(a), got.Access(a), "principal %+v, asset %s", p, a.Name)
				}
			}
		})
	}
}
