package report

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// row returns the cells of the row whose column key has value want.
func row(t *testing.T, tb Table, key string, want any) map[string]any {
	t.Helper()
	col := -1
	for i, c := range tb.Columns {
		if c.Key == key {
			col = i
		}
	}
	require.GreaterOrEqual(t, col, 0, "no column %s", key)
	for _, r := range tb.Rows {
		if r[col] == want {
			out := map[string]any{}
			for i, c := range tb.Columns {
				out[c.Key] = r[i]
			}
			return out
		}
	}
	t.Fatalf("no row with %s %v", key, want)
	return nil
}

func TestInventory(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	now := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	nas := f.assets["nas"]
	esx := store.Asset{OrgID: nas.OrgID, OUID: f.orgs["acme"].RootOU, Name: "Acme host", Category: "server",
		Product: "PowerEdge R650", Version: "ESXi 8.0"}
	require.NoError(t, f.store.CreateAsset(ctx, &esx, nil))
	_, err := f.store.PutInventory(ctx, nas.ID, now, []byte(`{"asset":"nas","attributes":{"model":"DS920+",
		"firmware_version":"7.2.1","bios_version":"B1","cpu_count":4,"memory_bytes":8589934592}}`), nil)
	require.NoError(t, err)
	_, err = f.store.PutInventory(ctx, esx.ID, now, []byte(`{"asset":"esx","attributes":{"model":"ignored","os_version":"ignored","cpu_count":-1}}`), nil)
	require.NoError(t, err)
	require.NoError(t, f.store.SetAssetPolls(ctx, []store.AssetPoll{{AssetID: esx.ID, At: now.Add(-time.Minute), Up: true}}))

	sc, err := f.scope(t, f.principal("acme", ""), Filter{})
	require.NoError(t, err)
	tb, err := Inventory(ctx, f.store, sc, now)
	require.NoError(t, err)
	require.Equal(t, "Inventory report", tb.Title)
	require.Equal(t, "All assets you may see", tb.Scope)
	require.Equal(t, now, tb.Generated)
	require.Len(t, tb.Rows, 4)

	got := row(t, tb, "asset_id", nas.ID)
	require.Equal(t, "Acme GmbH", got["customer"])
	require.Equal(t, "Branch", got["ou"])
	require.Equal(t, "DS920+", got["model"], "the inventory's model where the store has none")
	require.Equal(t, "7.2.1", got["version"], "firmware_version before bios_version")
	require.Equal(t, int64(4), got["cpu_count"])
	require.Equal(t, int64(8589934592), got["memory_bytes"])
	require.Equal(t, "unknown", got["status"], "never polled")

	got = row(t, tb, "asset_id", esx.ID)
	require.Equal(t, "PowerEdge R650", got["model"], "the store's product first")
	require.Equal(t, "ESXi 8.0", got["version"])
	require.Nil(t, got["cpu_count"], "a negative count is no count")
	require.Nil(t, got["memory_bytes"])
	require.Equal(t, "up", got["status"])

	got = row(t, tb, "asset_id", f.assets["backup"].ID)
	require.Empty(t, got["model"], "no inventory collected")
	require.Nil(t, got["cpu_count"])
}

func TestAttributes(t *testing.T) {
	m := map[string]any{"s": "x", "n": float64(3), "neg": float64(-1), "str": "4"}
	for _, tt := range []struct {
		name string
		got  any
		want any
	}{
		{"a string", attrString(m, "s"), "x"},
		{"not a string", attrString(m, "n"), ""},
		{"missing string", attrString(nil, "s"), ""},
		{"a whole number", attrInt(m, "n"), int64(3)},
		{"a negative number", attrInt(m, "neg"), nil},
		{"a number as text", attrInt(m, "str"), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.got)
		})
	}
}
