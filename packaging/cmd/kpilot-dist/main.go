// kpilot-dist builds the release artifacts into a directory: the agent and
// the server as .deb and .rpm (linux/amd64, linux/arm64), the agent for
// Windows as a zip, and SHA256SUMS. `make dist` runs it. With -image it
// builds the server's container image instead (docs/install.md).
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
	var image bool
	flag.StringVar(&o.Root, "root", "..", "the repository")
	flag.StringVar(&o.Out, "out", "../dist", "where the artifacts go")
	flag.StringVar(&o.Version, "version", "", "version stamped into the binaries and packages (git describe --tags)")
	flag.StringVar(&o.Commit, "commit", "", "commit stamped into the binaries")
	flag.StringVar(&platforms, "platforms", "", "comma-separated GOOS/GOARCH list (default: linux/amd64,linux/arm64,windows/amd64)")
	flag.BoolVar(&image, "image", false, "build only the kpilot-server container image, for each linux platform of -platforms (default linux/amd64), from this machine's ca-certificates and tzdata")
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
	var arts []dist.Artifact
	var err error
	if image {
		arts, err = images(ctx, o)
	} else {
		arts, err = dist.Build(ctx, o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kpilot-dist:", err)
		os.Exit(1)
	}
	for _, a := range arts {
		fmt.Println(a.Path)
	}
}

// images builds the server image for each linux platform asked for.
func images(ctx context.Context, o dist.Options) ([]dist.Artifact, error) {
	if len(o.Platforms) == 0 {
		o.Platforms = []dist.Platform{{OS: "linux", Arch: "amd64"}}
	}
	var arts []dist.Artifact
	for _, pl := range o.Platforms {
		if pl.OS != "linux" {
			return nil, fmt.Errorf("-image: %s: the server image is for linux only", pl)
		}
		a, err := dist.Image(ctx, o, pl.Arch, dist.DebianImageSources)
		if err != nil {
			return nil, err
		}
		arts = append(arts, a)
	}
	return arts, nil
}
