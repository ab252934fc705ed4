package visibility_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
	"github.com/kpilot/kpilot/server/visibility/visibilitytest"
)

// TestList: a partner's list holds exactly the assets its set allows, with
// the name of every customer they belong to; a customer's own viewer at a
// sub-OU lists only that OU's assets.
func TestList(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	w := visibilitytest.NewPartnerWorld(t, st, 3, 4)
	l := visibility.NewLoader(st)

	set, err := l.Set(ctx, w.Principal)
	require.NoError(t, err)
	got, err := visibility.List(ctx, st, w.Principal, set)
	require.NoError(t, err)
	require.ElementsMatch(t, ids(w.Assets), ids(got.Assets))
	for _, as := range got.Assets {
		o, err := st.Organization(ctx, as.OrgID)
		require.NoError(t, err)
		require.Equal(t, o.Name, got.OrgNames[as.OrgID], "the customer of asset %s is named", as.ID)
	}
	require.Equal(t, w.Partner.Name, got.OrgNames[w.Partner.ID], "the caller's own organization is named")

	// A viewer of the first customer at a new sub-OU sees nothing of the
	// assets at the root, and the one asset of its OU.
	cust, err := st.Organization(ctx, w.Assets[0].OrgID)
	require.NoError(t, err)
	branch := store.OU{OrgID: cust.ID, ParentID: cust.RootOU, Name: "Branch"}
	require.NoError(t, st.CreateOU(ctx, &branch))
	mine := store.Asset{OrgID: cust.ID, OUID: branch.ID, Name: "branch server", Category: "server"}
	require.NoError(t, st.CreateAsset(ctx, &mine, nil))
	viewer := visibility.Principal{UserID: "u", OrgID: cust.ID, OrgKind: store.Customer, OUID: branch.ID, Role: store.Viewer}
	set, err = l.Set(ctx, viewer)
	require.NoError(t, err)
	got, err = visibility.List(ctx, st, viewer, set)
	require.NoError(t, err)
	require.Equal(t, []string{mine.ID}, ids(got.Assets))
}
