package dist

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPackageVersion(t *testing.T) {
	for _, c := range []struct{ describe, version, pre, meta, full string }{
		{"v1.2.0", "1.2.0", "", "", "1.2.0"},
		{"1.2.0", "1.2.0", "", "", "1.2.0"},
		{"v1.2.0-rc.1", "1.2.0", "rc.1", "", "1.2.0~rc.1"},
		{"v1.2.0-dirty", "1.2.0", "", "dirty", "1.2.0+dirty"},
		{"v1.2.0-4-gabc1234", "1.2.0", "", "git4.gabc1234", "1.2.0+git4.gabc1234"},
		{"v1.2.0-rc.1-4-gabc1234-dirty", "1.2.0", "rc.1", "git4.gabc1234.dirty", "1.2.0~rc.1+git4.gabc1234.dirty"},
		{"abc1234", "0.0.0", "dev.abc1234", "", "0.0.0~dev.abc1234"},
		{"abc1234-dirty", "0.0.0", "dev.abc1234.dirty", "", "0.0.0~dev.abc1234.dirty"},
		{"", "0.0.0", "dev.unknown", "", "0.0.0~dev.unknown"},
	} {
		v, pre, meta := PackageVersion(c.describe)
		require.Equal(t, []string{c.version, c.pre, c.meta}, []string{v, pre, meta}, c.describe)
		require.Equal(t, c.full, fullVersion(c.describe), c.describe)
	}
}

// dpkg must order the versions the way they were made: a pre-release
// before its release, commits after a tag after the tag, and an untagged
// build before every release.
func TestPackageVersionsSortInDpkg(t *testing.T) {
	requireTool(t, "dpkg")
	order := []string{"abc1234", "v1.2.0-rc.1", "v1.2.0", "v1.2.0-4-gabc1234", "v1.2.1"}
	for i := 1; i < len(order); i++ {
		older, newer := fullVersion(order[i-1]), fullVersion(order[i])
		out, err := command("dpkg", "--compare-versions", older, "lt", newer)
		require.NoError(t, err, "dpkg: %s < %s: %s", older, newer, out)
	}
}
