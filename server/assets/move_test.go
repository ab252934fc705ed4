package assets_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/assets"
	"github.com/kpilot/kpilot/server/store"
)

func TestCommonOU(t *testing.T) {
	//	root ─ a ─ a1
	//	     └ b
	ous := []store.OU{{ID: "root"}, {ID: "a", ParentID: "root"}, {ID: "a1", ParentID: "a"}, {ID: "b", ParentID: "root"}}
	for _, tt := range []struct {
		name, a, b, want string
	}{
		{"siblings meet at their parent", "a", "b", "root"},
		{"a child and its parent", "a1", "a", "a"},
		{"a parent and its child", "a", "a1", "a"},
		{"cousins", "a1", "b", "root"},
		{"one OU", "b", "b", "b"},
		{"an unknown OU shares none", "a1", "x", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, assets.CommonOU(ous, tt.a, tt.b))
		})
	}
	cycle := []store.OU{{ID: "p", ParentID: "q"}, {ID: "q", ParentID: "p"}, {ID: "z"}}
	require.Equal(t, "", assets.CommonOU(cycle, "p", "z"), "a cycle in bad data ends")
}
