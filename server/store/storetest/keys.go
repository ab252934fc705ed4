package storetest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// keyTests cover store.Keys: OU keys and system keys.
var keyTests = []test{
	{"KeysAreStableRotatableAndFound", testKeys},
}

func testKeys(t *testing.T, s store.Store) {
	o := newOrg(t, s, "Acme")
	ctx := t.Context()
	k1, err := s.OUKey(ctx, o.RootOU)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(k1, "kpou_"))
	require.GreaterOrEqual(t, len(k1), 40, "at least 128 random bits")
	k2, err := s.OUKey(ctx, o.RootOU)
	require.NoError(t, err)
	require.Equal(t, k1, k2, "reading twice returns the same key")
	got, err := s.OUByKey(ctx, k1)
	require.NoError(t, err)
	require.Equal(t, o.RootOU, got.ID)
	require.Equal(t, o.ID, got.OrgID)

	k3, err := s.RotateOUKey(ctx, o.RootOU)
	require.NoError(t, err)
	require.NotEqual(t, k1, k3)
	_, err = s.OUByKey(ctx, k1)
	require.ErrorIs(t, err, store.ErrNotFound, "a rotated key stops working")
	_, err = s.OUByKey(ctx, k3[:len(k3)-1]+"x")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.OUKey(ctx, "no-such-ou")
	require.ErrorIs(t, err, store.ErrNotFound)

	a := asset(t, s, o.ID, o.RootOU, "srv1")
	sk, err := s.SystemKey(ctx, a.ID)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(sk, "kpsk_"))
	found, err := s.AssetBySystemKey(ctx, sk)
	require.NoError(t, err)
	require.Equal(t, a.ID, found.ID)
	sk2, err := s.RotateSystemKey(ctx, a.ID)
	require.NoError(t, err)
	_, err = s.AssetBySystemKey(ctx, sk)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.AssetBySystemKey(ctx, sk2)
	require.NoError(t, err)
	_, err = s.AssetBySystemKey(ctx, k3)
	require.ErrorIs(t, err, store.ErrNotFound, "an OU key is not a system key")
}
