package visibility_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// Acme: root ─┬─ north ── north-branch
//
//	└─ south
//
// Other: other-root
var ous = []store.OU{
	{ID: "root", OrgID: "acme"},
	{ID: "north", OrgID: "acme", ParentID: "root"},
	{ID: "north-branch", OrgID: "acme", ParentID: "north"},
	{ID: "south", OrgID: "acme", ParentID: "root"},
	{ID: "other-root", OrgID: "other"},
	// A corrupt row that claims an Acme parent from another tenant.
	{ID: "intruder", OrgID: "other", ParentID: "north"},
}

var assets = []store.Asset{
	{ID: "a-root", OrgID: "acme", OUID: "root"},
	{ID: "a-north", OrgID: "acme", OUID: "north"},
	{ID: "a-branch", OrgID: "acme", OUID: "north-branch"},
	{ID: "a-south", OrgID: "acme", OUID: "south"},
	{ID: "b-other", OrgID: "other", OUID: "other-root"},
	{ID: "b-intruder", OrgID: "other", OUID: "intruder"},
	// An asset row whose OU id is Acme's but whose tenant is not.
	{ID: "b-mislabelled", OrgID: "other", OUID: "north"},
}

func ids(as []store.Asset) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name string
		p    visibility.Principal
		want []string
	}{
		{"root member sees the whole tree", visibility.Principal{OrgID: "acme", OUID: "root", Role: store.Viewer},
			[]string{"a-root", "a-north", "a-branch", "a-south"}},
		{"branch member sees its OU and below", visibility.Principal{OrgID: "acme", OUID: "north", Role: store.Admin},
			[]string{"a-north", "a-branch"}},
		{"leaf member sees only its leaf", visibility.Principal{OrgID: "acme", OUID: "north-branch"},
			[]string{"a-branch"}},
		{"other tenant sees none of Acme", visibility.Principal{OrgID: "other", OUID: "other-root"},
			[]string{"b-other"}},
		{"membership OU of another tenant sees nothing", visibility.Principal{OrgID: "other", OUID: "north"},
			[]string{}},
		{"anonymous sees nothing", visibility.Principal{}, []string{}},
		{"unknown OU sees nothing", visibility.Principal{OrgID: "acme", OUID: "gone"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ids(visibility.Resolve(tt.p, ous).Filter(assets))
			require.Equal(t, tt.want, got)
		})
	}
}

func TestSubtreeSurvivesCycle(t *testing.T) {
	cyclic := []store.OU{{ID: "x", OrgID: "o", ParentID: "y"}, {ID: "y", OrgID: "o", ParentID: "x"}}
	got := visibility.Subtree("o", "x", cyclic)
	require.Equal(t, map[string]bool{"x": true, "y": true}, got)
}
