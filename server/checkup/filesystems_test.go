package checkup_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/server/checkup"
	"github.com/kpilot/kpilot/server/store"
)

// TestFullFilesystemIsOneFinding: a Linux host polled with the
// host-resources and ucd-snmp profiles reports its root file system twice,
// as storage (hrStorageTable, descr=/) and as disk (net-snmp's dskTable,
// path=/). A full root is one finding, under the default rules and under
// the catalog's thresholds alone; a disk no storage row names still counts.
func TestFullFilesystemIsOneFinding(t *testing.T) {
	h := newHistory(t)
	ctx := t.Context()
	linux := store.Asset{OrgID: h.org.ID, OUID: h.org.RootOU, Name: "linux", Category: "server"}
	require.NoError(t, h.st.CreateAsset(ctx, &linux, nil))
	h.assets["linux"] = linux
	at := h.now.Add(-10 * time.Minute)
	lp := fmt.Sprintf("storage,asset=%[1]s,descr=/ size_bytes=1000i,used_bytes=970i,used_percent=97 %[2]d\n"+
		"disk,asset=%[1]s,path=/,device=/dev/sda1 total_bytes=1000i,used_bytes=970i,available_bytes=30i,used_percent=97i %[2]d\n"+
		"disk,asset=%[1]s,path=/srv,device=/dev/sdb1 total_bytes=1000i,used_bytes=960i,available_bytes=40i,used_percent=96i %[2]d\n",
		linux.SeriesID, at.UnixNano())
	require.NoError(t, h.ts.Write(ctx, []byte(lp)))
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	catalogs := checkup.WithCatalogs(func(context.Context, string) (*catalog.Catalog, error) { return cat, nil })

	linuxFindings := func() []string {
		var out []string
		for k, f := range h.open(t) {
			if f.AssetID == linux.ID {
				out = append(out, k)
			}
		}
		return out
	}
	for _, c := range []struct {
		name  string
		rules checkup.RuleSet
		want  []string
	}{
		{"default rules", checkup.DefaultRules(), []string{"storage-used linux disk,device=/dev/sdb1,path=/srv", "storage-used linux storage,descr=/"}},
		{"catalog thresholds only", checkup.RuleSet{}, []string{"kpi-thresholds linux disk,device=/dev/sdb1,path=/srv used_percent", "kpi-thresholds linux storage,descr=/ used_percent"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := checkup.NewRunner(h.st, h.ts, c.rules, discard, nil, checkup.WithClock(func() time.Time { return h.now }), catalogs)
			_, err := r.Evaluate(ctx, h.org.ID)
			require.NoError(t, err)
			require.ElementsMatch(t, c.want, linuxFindings(), "one finding per file system")
		})
	}
}
