package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// orgTests cover store.Organizations: organizations and their OU trees.
var orgTests = []test{
	{"OrganizationHasRootOU", testOrganizationRootOU},
	{"OUTreeRenameMoveDelete", testOUTree},
}

func testOrganizationRootOU(t *testing.T, s store.Store) {
	o := newOrg(t, s, "Acme GmbH")
	got, err := s.Organization(t.Context(), o.ID)
	require.NoError(t, err)
	require.Equal(t, o.Name, got.Name)
	require.Equal(t, store.Customer, got.Kind)
	ous, err := s.OUs(t.Context(), o.ID)
	require.NoError(t, err)
	require.Len(t, ous, 1)
	require.Equal(t, o.RootOU, ous[0].ID)
	require.Empty(t, ous[0].ParentID)

	_, err = s.Organization(t.Context(), "missing")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testOUTree(t *testing.T, s store.Store) {
	o, other := newOrg(t, s, "Acme"), newOrg(t, s, "Other")
	a := ou(t, s, o.ID, o.RootOU, "Branch A")
	b := ou(t, s, o.ID, a.ID, "Branch B")
	ctx := t.Context()

	require.NoError(t, s.RenameOU(ctx, o.ID, a.ID, "Munich"))
	require.ErrorIs(t, s.RenameOU(ctx, other.ID, a.ID, "x"), store.ErrNotFound, "another organization's OU")

	require.ErrorIs(t, s.MoveOU(ctx, o.ID, a.ID, b.ID), store.ErrInvalid, "below itself")
	require.ErrorIs(t, s.MoveOU(ctx, o.ID, a.ID, a.ID), store.ErrInvalid, "onto itself")
	require.ErrorIs(t, s.MoveOU(ctx, o.ID, o.RootOU, a.ID), store.ErrInvalid, "the root")
	require.ErrorIs(t, s.MoveOU(ctx, o.ID, b.ID, other.RootOU), store.ErrNotFound, "into another organization")
	require.NoError(t, s.MoveOU(ctx, o.ID, b.ID, o.RootOU))
	ous, err := s.OUs(ctx, o.ID)
	require.NoError(t, err)
	parents := map[string]string{}
	names := map[string]string{}
	for _, u := range ous {
		parents[u.ID], names[u.ID] = u.ParentID, u.Name
	}
	require.Equal(t, o.RootOU, parents[b.ID])
	require.Equal(t, "Munich", names[a.ID])

	asset(t, s, o.ID, a.ID, "srv1")
	require.ErrorIs(t, s.DeleteOU(ctx, o.ID, a.ID), store.ErrNotEmpty, "holds an asset")
	c := ou(t, s, o.ID, b.ID, "C")
	require.ErrorIs(t, s.DeleteOU(ctx, o.ID, b.ID), store.ErrNotEmpty, "holds an OU")
	_, err = s.OUKey(ctx, c.ID)
	require.NoError(t, err)
	require.NoError(t, s.DeleteOU(ctx, o.ID, c.ID), "an empty OU with a key goes")
	require.NoError(t, s.DeleteOU(ctx, o.ID, b.ID))
	require.ErrorIs(t, s.DeleteOU(ctx, o.ID, o.RootOU), store.ErrInvalid)
	require.ErrorIs(t, s.DeleteOU(ctx, other.ID, a.ID), store.ErrNotFound)
}
