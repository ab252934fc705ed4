// Package buildinfo holds the version stamped into kpilot binaries at link
// time with -ldflags "-X github.com/kpilot/kpilot/internal/buildinfo.Version=…".
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version and Commit are set by the linker; they are never written at run
// time. "dev" marks a binary built without the Makefile.
var (
	Version = "dev"
	Commit  = ""
)

// String is the one-line version text printed by --version, for example
// "kpilot-agent 0.1.0 (commit abc123, go1.26.8 linux/amd64)".
func String(program string) string {
	commit := Commit
	if commit == "" {
		commit = vcsRevision()
	}
	if commit == "" {
		commit = "unknown"
	}
	return fmt.Sprintf("%s %s (commit %s, %s %s/%s)", program, Version, commit,
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func vcsRevision() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return s.Value[:12]
		}
	}
	return ""
}
