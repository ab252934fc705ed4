package ingest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

// reencodeBoth re-encodes samples on the fast path (with the library as
// its fallback) and on the library alone, and returns both results.
func reencodeBoth(t testing.TB, in *Ingester, ag store.Agent, now time.Time, samples string) (fast, lib reencoded) {
	t.Helper()
	run := func(libraryOnly bool) reencoded {
		x := reencoder{libraryOnly: libraryOnly}
		res := newAssetResolver(in, ag)
		out, n, rejects, err := x.reencode(t.Context(), now, res, []byte(samples), nil)
		if err != nil {
			t.Fatalf("store failure: %v", err)
		}
		return reencoded{string(out), n, rejects, x.fast, fmt.Sprint(x.assetPolls())}
	}
	return run(false), run(true)
}

type reencoded struct {
	out      string
	accepted int
	rejects  []string
	fast     int
	polls    string
}

func TestReencodeFastPathMatchesLibrary(t *testing.T) {
	in, ag := agentIngester(t)
	now := time.Now()
	at := now.Add(-time.Minute).UnixNano()
	canonical := fmt.Sprintf(`interface,asset=sw1,ifindex=1,ifname=Gi1/0/1 admin_up=true,in_bps=31.5,in_errors_rate=0,oper_status=1i,out_bps=1.725e+21 %[1]d
agent_poll,asset=sw1,collector=snmp duration_seconds=0.25,up=true %[1]d
inventory_text,asset=nas1,volume=vol1 firmware="DSM 7.2.1-69057 Update 5",label="Ä, ö = ü",size_bytes=123u %[1]d
storage,asset=nas1 used_percent=-0.5,free=.5,big=9223372036854775807i,neg=-9223372036854775808i %[1]d
`, at)
	cases := map[string]struct {
		samples  string
		fast     int // lines the fast path must take
		accepted int
	}{
		"canonical":                        {canonical, 4, 4},
		"escaped tag values":               {fmt.Sprintf("interface,asset=sw1,ifalias=uplink\\ to\\ core\\,\\ rack\\=3 in_bps=1 %d\n", at), 0, 1},
		"tag value with a quote":           {fmt.Sprintf("m,asset=sw1,t=a\"b v=1 %d\nm,asset=sw1 v=2 %d\n", at, at), 0, 2},
		"string with escapes":              {fmt.Sprintf("m,asset=sw1 s=\"say \\\"hi\\\" \\\\ there\" %d\n", at), 0, 1},
		"string across lines":              {fmt.Sprintf("m,asset=sw1 s=\"two\nlines\" %d\nm,asset=sw1 v=1 %d\n", at, at), 0, 2},
		"comments and blank":               {fmt.Sprintf("# a comment\n\nm,asset=sw1 v=1 %d\n\n", at), 1, 1},
		"carriage returns":                 {fmt.Sprintf("m,asset=sw1 v=1 %d\r\nm,asset=sw1 v=2 %d\r\n", at, at), 0, 2},
		"two spaces":                       {fmt.Sprintf("m,asset=sw1  v=1  %d\n", at), 0, 1},
		"unsorted tags":                    {fmt.Sprintf("m,z=1,asset=sw1,b=2 v=1 %d\n", at), 1, 1},
		"duplicate tags":                   {fmt.Sprintf("m,asset=sw1,b=1,b=2 v=1 %d\n", at), 0, 0},
		"tenant tag smuggled":              {fmt.Sprintf("m,asset=sw1,org_id=other v=1 %d\nm,asset=sw1,ou_id=x v=1 %d\n", at, at), 0, 0},
		"no asset":                         {fmt.Sprintf("m v=1 %d\n", at), 0, 0},
		"bad names":                        {fmt.Sprintf("M,asset=sw1 v=1 %d\nm,asset=sw1,Tag=1 v=1 %d\nm,asset=sw1 V=1 %d\n", at, at, at), 0, 0},
		"no timestamp":                     {"m,asset=sw1 v=1\n", 0, 0},
		"future timestamp":                 {fmt.Sprintf("m,asset=sw1 v=1 %d\n", now.Add(2*time.Hour).UnixNano()), 0, 0},
		"timestamps at the edges":          {"m,asset=sw1 v=1 -9223372036854775808\nm,asset=sw1 v=1 9223372036854775808\nm,asset=sw1 v=1 -0\nm,asset=sw1 v=1 0012\n", 3, 3},
		"bad numbers":                      {fmt.Sprintf("m,asset=sw1 v=0x10 %[1]d\nm,asset=sw1 v=1e400 %[1]d\nm,asset=sw1 v=18446744073709551615u %[1]d\nm,asset=sw1 v=1.2.3 %[1]d\nm,asset=sw1 v=-1u %[1]d\nm,asset=sw1 v=1e99 %[1]d\n", at), 1, 1},
		"plain number forms":               {fmt.Sprintf("m,asset=sw1 a=-0i,b=.5,c=1.,d=1e5,e=-1.5E-07,f=123456789012345678i,g=1234567890123456789i,h=1e+99,j=1e100,k=-9223372036854775808i %[1]d\nm,asset=sw1 a=9223372036854775808i %[1]d\nm,asset=sw1 a=1e %[1]d\nm,asset=sw1 a=- %[1]d\nm,asset=sw1 a=-i %[1]d\n", at), 1, 1},
		"timestamps near the future bound": {fmt.Sprintf("m,asset=sw1 v=1 %d\nm,asset=sw1 v=1 %d\n", now.Add(maxFuture).UnixNano(), now.Add(maxFuture).UnixNano()+1), 1, 1},
		"mixed field forms":                {fmt.Sprintf("m,asset=sw1 a=1.5,b=2u,c=3i,d=t,e=\"x\",f=true,g=7u %[1]d\nm,asset=sw1 a=1u,b=2 %[1]d\n", at), 2, 2},
		"bool spellings":                   {fmt.Sprintf("m,asset=sw1 a=t,b=F,c=True,d=FALSE %[1]d\nm,asset=sw1 a=yes %[1]d\n", at), 1, 1},
		"control characters":               {fmt.Sprintf("m,asset=sw1,t=a\x01b v=1 %d\nm,asset=sw1 s=\"a\x01b\" %d\n", at, at), 1, 1},
		"invalid utf-8":                    {fmt.Sprintf("m,asset=sw1,t=a\xffb v=1 %d\nm,asset=sw1 s=\"a\xffb\" %d\n", at, at), 0, 0},
		"non-ascii tag":                    {fmt.Sprintf("m,asset=sw1,site=Zürich v=1 %d\n", at), 1, 1},
		"empty tag value":                  {fmt.Sprintf("m,asset=sw1,t= v=1 %d\n", at), 0, 0},
		"no fields":                        {fmt.Sprintf("m,asset=sw1 %d\n", at), 0, 0},
		"trailing comma":                   {fmt.Sprintf("m,asset=sw1 v=1, %d\nm,asset=sw1, v=1 %d\n", at, at), 0, 0},
		"manual asset key":                 {fmt.Sprintf("m,asset=manual:x v=1 %d\n", at), 0, 0},
		"no final newline":                 {fmt.Sprintf("m,asset=sw1 v=1 %d", at), 1, 1},
		"field keys like the last line's":  {fmt.Sprintf("m,asset=sw1 in_bps=1,out=2 %[1]d\nm,asset=sw1 in_bps_x=1,out=2 %[1]d\nm,asset=sw1 in_bps=1,OUT=2 %[1]d\nm,asset=sw1 in_bps %[1]d\nm,asset=sw1 in_bps=3,out=4 %[1]d\n", at), 3, 3},
		"line injection in tag":            {fmt.Sprintf("m,asset=sw1,t=a\\\nevil,asset_id=x v=1 %d\n", at), 0, 0},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			fast, lib := reencodeBoth(t, in, ag, now, c.samples)
			require.Equal(t, lib.out, fast.out, "re-encoded lines")
			require.Equal(t, lib.rejects, fast.rejects, "rejections")
			require.Equal(t, lib.polls, fast.polls, "polls")
			require.Equal(t, c.accepted, fast.accepted, "accepted; rejections %v", fast.rejects)
			require.Equal(t, lib.accepted, fast.accepted)
			require.Equal(t, c.fast, fast.fast, "lines on the fast path")
			require.Zero(t, lib.fast)
			require.Equal(t, fast.accepted, strings.Count(fast.out, ",asset=1."), "every point carries the asset's series id")
			require.NotContains(t, fast.out, " 0012\n", "timestamps are written in canonical form")
			require.NotContains(t, fast.out, " -0\n")
		})
	}
}

// FuzzReencodeFastPath holds the fast path to the library: for any batch,
// the lines written, the points accepted and the rejections are the same.
func FuzzReencodeFastPath(f *testing.F) {
	at := time.Now().Add(-time.Minute).UnixNano()
	for _, s := range []string{
		fmt.Sprintf("interface,asset=sw1,ifindex=1,ifname=Gi1/0/1 admin_up=true,in_bps=31.5,oper_status=1i %d\n", at),
		fmt.Sprintf("m,asset=sw1,t=a\\ b s=\"x\\\"y\",u=3u %d\nm,asset=sw1 v=1e5 %d\n", at, at),
		fmt.Sprintf("m,asset=sw1 s=\"two\nlines\" %d\n# c\nm,asset=sw2 v=-.5 %d\r\n", at, at),
		fmt.Sprintf("agent_poll,asset=sw1,collector=snmp up=false %d\n", at),
		"m,asset=sw1 v=1 -9223372036854775808\nm,z=1,asset=a v=t 1\n",
		// Field keys like, and unlike, the last line's.
		fmt.Sprintf("m,asset=sw1 in_bps=1,out=2 %d\nm,asset=sw1 in_bps_x=1,out=2 %d\nm,asset=sw1 in_bps=1,OUT=2 %d\nm,asset=sw1 in_bps %d\n", at, at, at, at),
	} {
		f.Add(s)
	}
	in, ag := agentIngester(f)
	now := time.Now()
	f.Fuzz(func(t *testing.T, samples string) {
		fast, lib := reencodeBoth(t, in, ag, now, samples)
		if fast.out != lib.out || fast.accepted != lib.accepted || fmt.Sprint(fast.rejects) != fmt.Sprint(lib.rejects) || fast.polls != lib.polls {
			t.Fatalf("fast path differs from the library for %q:\nfast    %q %d %q %s\nlibrary %q %d %q %s",
				samples, fast.out, fast.accepted, fast.rejects, fast.polls, lib.out, lib.accepted, lib.rejects, lib.polls)
		}
	})
}

// TestResolvingCachedAssetsAllocatesLittle: a batch of a known agent's
// many assets (as a busy agent sends them every few seconds) takes each
// from the shared asset cache for about one allocation (its key in the
// batch's map), not a copy of the whole asset as well.
func TestResolvingCachedAssetsAllocatesLittle(t *testing.T) {
	in, ag := agentIngester(t)
	now := time.Now()
	const assets = 200
	samples := benchLines(5000, assets, now.Add(-time.Minute))
	var x reencoder
	_, n, rejects, err := x.reencode(t.Context(), now, newAssetResolver(in, ag), samples, nil)
	require.NoError(t, err)
	require.Equal(t, 5000, n, "rejections: %v", rejects)
	allocs := testing.AllocsPerRun(5, func() {
		if _, _, _, err := x.reencode(t.Context(), now, newAssetResolver(in, ag), samples, x.out); err != nil {
			t.Fatal(err)
		}
	})
	require.LessOrEqual(t, allocs, float64(assets)*5/4, "allocations per batch of %d cached assets", assets)
}
