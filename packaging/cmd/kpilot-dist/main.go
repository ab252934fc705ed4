// kpilot-dist builds the release artifacts into a directory: the agent and
// the server as .deb and .rpm (linux/amd64, linux/arm64), the agent for
// Windows as a zip, and SHA256SUMS. `make dist` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/kpilot/kpilot/packaging/dist"
)

func main() {
	var o dist.Options
	var platforms string
	flag.StringVar(&o.Root, "root", "..", "the repository")
	flag.StringVar(&o.Out, "out", "../dist", "where the artifacts go")
	flag.StringVar(&o.Version, "version", "", "version stamped into the binaries and packages (git describe --tags)")
	flag.StringVar(&o.Commit, "commit", "", "commit stamped into the binaries")
	flag.StringVar(&platforms, "platforms", "", "comma-separated GOOS/GOARCH list (default: linux/amd64,linux/arm64,windows/amd64)")
	flag.Parse()
	for p := range strings.SplitSeq(platforms, ",") {
		if p == "" {
			continue
		}
		goos, goarch, ok := strings.Cut(p, "/")
		if !ok {
			fmt.Fprintf(os.Stderr, "kpilot-dist: -platforms: %q is not GOOS/GOARCH\n", p)
			os.Exit(2)
		}
		o.Platforms = append(o.Platforms, dist.Platform{OS: goos, Arch: goarch})
	}
	o.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	arts, err := dist.Build(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kpilot-dist:", err)
		os.Exit(1)
	}
	for _, a := range arts {
		fmt.Println(a.Path)
	}
}
