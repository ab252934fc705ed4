package dist

import (
	"regexp"
	"strings"
)

var (
	// v1.2.3, v1.2.3-rc.1
	tagVersion = regexp.MustCompile(`^v?(\d+\.\d+\.\d+)(?:-([0-9A-Za-z.]+))?$`)
	// git describe after a tag: v1.2.3-4-gabcdef0[-dirty]
	describeVersion = regexp.MustCompile(`^v?(\d+\.\d+\.\d+)(?:-([0-9A-Za-z.]+))?-(\d+)-g([0-9a-f]+)$`)
	notVersionChar  = regexp.MustCompile(`[^0-9A-Za-z.]+`)
)

// PackageVersion turns what `git describe --tags --always --dirty` says
// into a package version that sorts the way releases were made, in both
// dpkg and rpm: version, pre-release (after "~": before the release) and
// build metadata (after "+": after it).
//
//	v1.2.0                -> 1.2.0
//	v1.2.0-rc.1           -> 1.2.0 ~rc.1
//	v1.2.0-4-gabc1234     -> 1.2.0 +git4.gabc1234   (4 commits after v1.2.0)
//	abc1234-dirty         -> 0.0.0 ~dev.abc1234.dirty (no tag yet)
func PackageVersion(describe string) (version, prerelease, metadata string) {
	tree, dirty := strings.CutSuffix(describe, "-dirty")
	if m := describeVersion.FindStringSubmatch(tree); m != nil {
		meta := "git" + m[3] + ".g" + m[4]
		if dirty {
			meta += ".dirty"
		}
		return m[1], m[2], meta
	}
	if m := tagVersion.FindStringSubmatch(tree); m != nil {
		if dirty {
			return m[1], m[2], "dirty"
		}
		return m[1], m[2], ""
	}
	dev := strings.Trim(notVersionChar.ReplaceAllString(describe, "."), ".")
	if dev == "" {
		dev = "unknown"
	}
	return "0.0.0", "dev." + dev, ""
}

// fullVersion is PackageVersion as one string, as the .deb names it.
func fullVersion(describe string) string {
	v, pre, meta := PackageVersion(describe)
	if pre != "" {
		v += "~" + pre
	}
	if meta != "" {
		v += "+" + meta
	}
	return v
}
