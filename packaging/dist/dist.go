// Package dist builds kpilot's release artifacts: the agent and the server
// as .deb and .rpm for Linux (through nfpm, from the recipes in
// packaging/nfpm), the agent for Windows as a zip, and a SHA256SUMS file
// over everything it built. `make dist` runs it through cmd/kpilot-dist.
package dist

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager
)

// Platform is a GOOS/GOARCH pair.
type Platform struct{ OS, Arch string }

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// Platforms are what a release is built for.
var Platforms = []Platform{{"linux", "amd64"}, {"linux", "arm64"}, {"windows", "amd64"}}

// Options say what to build and where.
type Options struct {
	Root      string     // the repository (with go.mod, cmd/, packaging/)
	Out       string     // where artifacts go; created
	Version   string     // stamped into the binaries: a tag (v1.2.0) or git describe output
	Commit    string     // stamped into the binaries
	Platforms []Platform // default: Platforms
	Packages  []string   // kpilot-agent, kpilot-server (default: both)
	Go        string     // the go command (default "go")
	Log       *slog.Logger
}

// Artifact is one file Build made.
type Artifact struct {
	Path     string // in Options.Out
	Package  string // kpilot-agent or kpilot-server
	Format   string // deb, rpm or zip
	Platform Platform
}

// pkg is one program and how its Linux package lays it out. The fields
// fill the script templates in packaging/scripts.
type pkg struct {
	Name     string
	Config   string // its config file (a conffile)
	StateDir string
	State    string // what StateDir holds, for the purge comment
	Next     string // printed after a first install
	Windows  bool   // also shipped for Windows as a zip
}

var packages = []pkg{
	{
		Name: "kpilot-agent", Config: "/etc/kpilot/agent.yaml", StateDir: "/var/lib/kpilot",
		State: "the spool of data not yet sent and the enrollment credential", Windows: true,
		Next: `kpilot-agent is installed but not started. Next:
  1. set server.url and the collectors in /etc/kpilot/agent.yaml
  2. sudo -u kpilot kpilot-agent enroll --config /etc/kpilot/agent.yaml --token <token from the portal>
  3. kpilot-agent validate --config /etc/kpilot/agent.yaml
  4. systemctl enable --now kpilot-agent`,
	},
	{
		Name: "kpilot-server", Config: "/etc/kpilot/server.yaml", StateDir: "/var/lib/kpilot-server",
		State: "the SQLite database and the mail outbox",
		Next: `kpilot-server is installed but not started. Next:
  1. set influxdb, public_url and mail in /etc/kpilot/server.yaml
  2. sudo -u kpilot kpilot-server bootstrap --config /etc/kpilot/server.yaml --org "Your org" --admin you@example.com
  3. systemctl enable --now kpilot-server`,
	},
}

// Build cross-compiles the programs for every platform and packages them.
// It stops at the first failure and names the artifact that failed.
func Build(ctx context.Context, o Options) ([]Artifact, error) {
	if o.Go == "" {
		o.Go = "go"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if len(o.Platforms) == 0 {
		o.Platforms = Platforms
	}
	if o.Version == "" {
		return nil, errors.New("dist: no version to stamp")
	}
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return nil, err
	}
	out, err := filepath.Abs(o.Out)
	if err != nil {
		return nil, err
	}
	o.Root, o.Out = root, out
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp(out, ".build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	var arts []Artifact
	for _, pl := range o.Platforms {
		bin := filepath.Join(work, pl.OS+"_"+pl.Arch)
		for _, p := range packages {
			if pl.OS == "windows" && !p.Windows || len(o.Packages) > 0 && !slices.Contains(o.Packages, p.Name) {
				continue
			}
			if err := o.compile(ctx, p.Name, pl, bin); err != nil {
				return nil, err
			}
			switch pl.OS {
			case "linux":
				for _, format := range []string{"deb", "rpm"} {
					a, err := o.linuxPackage(p, format, pl, bin, work)
					if err != nil {
						return nil, fmt.Errorf("%s %s for %s: %w", p.Name, format, pl, err)
					}
					arts = append(arts, a)
				}
			case "windows":
				a, err := o.windowsZip(p, pl, bin)
				if err != nil {
					return nil, fmt.Errorf("%s zip for %s: %w", p.Name, pl, err)
				}
				arts = append(arts, a)
			default:
				return nil, fmt.Errorf("dist: no package format for %s", pl)
			}
			o.Log.Info("built", "package", p.Name, "platform", pl.String(), "artifacts", len(arts))
		}
	}
	if err := writeChecksums(filepath.Join(out, "SHA256SUMS"), arts); err != nil {
		return nil, err
	}
	return arts, nil
}

// buildTags are the tags releases are built with, as the Makefile's TAGS:
// gosnmp_nodebug compiles gosnmp's per-packet debug logging out (kpilot
// never installs a gosnmp logger), about 10% of the SNMP collector's CPU.
const buildTags = "gosnmp_nodebug"

// compile builds cmd/<name> for the platform with the version stamped in,
// statically (CGO_ENABLED=0: the SQLite driver is pure Go).
func (o Options) compile(ctx context.Context, name string, pl Platform, dir string) error {
	exe := name
	if pl.OS == "windows" {
		exe += ".exe"
	}
	const module = "github.com/kpilot/kpilot"
	ldflags := fmt.Sprintf("-s -w -X %s/internal/buildinfo.Version=%s -X %s/internal/buildinfo.Commit=%s",
		module, o.Version, module, o.Commit)
	cmd := exec.CommandContext(ctx, o.Go, "build", "-trimpath", "-tags", buildTags, "-ldflags", ldflags,
		"-o", filepath.Join(dir, exe), "./cmd/"+name)
	cmd.Dir = o.Root
	cmd.Env = append(os.Environ(), "GOOS="+pl.OS, "GOARCH="+pl.Arch, "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s for %s: %w\n%s", name, pl, err, msg)
	}
	return nil
}

func (o Options) linuxPackage(p pkg, format string, pl Platform, bin, work string) (Artifact, error) {
	recipe := filepath.Join(o.Root, "packaging", "nfpm", p.Name+".yaml")
	version, prerelease, metadata := PackageVersion(o.Version)
	env := map[string]string{"ROOT": o.Root, "BIN": bin, "ARCH": pl.Arch, "VERSION": version}
	cfg, err := nfpm.ParseFileWithEnvMapping(recipe, func(k string) string { return env[k] })
	if err != nil {
		return Artifact{}, fmt.Errorf("%s: %w", recipe, err)
	}
	info, err := cfg.Get(format)
	if err != nil {
		return Artifact{}, err
	}
	info.Prerelease, info.VersionMetadata = prerelease, metadata
	info.VersionSchema = "none"
	info.MTime = time.Unix(0, 0).UTC() // reproducible: the same input gives the same package
	scripts, err := renderScripts(o.Root, work, p)
	if err != nil {
		return Artifact{}, err
	}
	info.Scripts.PreInstall = scripts["preinstall"]
	info.Scripts.PostInstall = scripts["postinstall"]
	info.Scripts.PreRemove = scripts["preremove"]
	info.Scripts.PostRemove = scripts["postremove"]
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, format); err != nil {
		return Artifact{}, err
	}
	packager, err := nfpm.Get(format)
	if err != nil {
		return Artifact{}, err
	}
	path := filepath.Join(o.Out, packager.ConventionalFileName(info))
	f, err := os.Create(path)
	if err != nil {
		return Artifact{}, err
	}
	if err := packager.Package(info, f); err != nil {
		f.Close()
		os.Remove(path)
		return Artifact{}, err
	}
	if err := f.Close(); err != nil {
		return Artifact{}, err
	}
	return Artifact{Path: path, Package: p.Name, Format: format, Platform: pl}, nil
}

// renderScripts fills packaging/scripts/*.sh for one package and returns
// the rendered files by name (preinstall, postinstall, ...).
func renderScripts(root, work string, p pkg) (map[string]string, error) {
	dir := filepath.Join(work, "scripts", p.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	srcs, err := filepath.Glob(filepath.Join(root, "packaging", "scripts", "*.sh"))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, src := range srcs {
		t, err := template.New(filepath.Base(src)).Option("missingkey=error").ParseFiles(src)
		if err != nil {
			return nil, err
		}
		dst := filepath.Join(dir, filepath.Base(src))
		f, err := os.Create(dst)
		if err != nil {
			return nil, err
		}
		err = t.Execute(f, p)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("rendering %s: %w", src, err)
		}
		out[strings.TrimSuffix(filepath.Base(src), ".sh")] = dst
	}
	return out, nil
}

// windowsZip packs the agent with its config template and a README. The
// binary installs itself as a Windows service (kpilot-agent install).
func (o Options) windowsZip(p pkg, pl Platform, bin string) (Artifact, error) {
	path := filepath.Join(o.Out, fmt.Sprintf("%s_%s_%s_%s.zip", p.Name, fullVersion(o.Version), pl.OS, pl.Arch))
	f, err := os.Create(path)
	if err != nil {
		return Artifact{}, err
	}
	zw := zip.NewWriter(f)
	files := []struct{ name, src string }{
		{p.Name + ".exe", filepath.Join(bin, p.Name+".exe")},
		{"agent.yaml", filepath.Join(o.Root, "packaging", "etc", "agent.yaml")},
		{"agent.example.yaml", filepath.Join(o.Root, "configs", "agent.example.yaml")},
		{"README.txt", filepath.Join(o.Root, "packaging", "windows", "README.txt")},
		{"install.ps1", filepath.Join(o.Root, "packaging", "windows", "install.ps1")},
		{"LICENSE.txt", filepath.Join(o.Root, "LICENSE")},
	}
	for _, fl := range files {
		if err := addToZip(zw, fl.name, fl.src); err != nil {
			f.Close()
			return Artifact{}, err
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return Artifact{}, err
	}
	if err := f.Close(); err != nil {
		return Artifact{}, err
	}
	return Artifact{Path: path, Package: p.Name, Format: "zip", Platform: pl}, nil
}

// zipTime is every zip entry's time, so that the same input gives the same
// zip. A zip (DOS) time cannot be before 1980.
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

func addToZip(zw *zip.Writer, name, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: zipTime})
	if err != nil {
		return err
	}
	_, err = io.Copy(w, in)
	return err
}

// writeChecksums writes "<sha256>  <file>" lines, as sha256sum -c reads them.
func writeChecksums(path string, arts []Artifact) error {
	arts = slices.Clone(arts)
	slices.SortFunc(arts, func(a, b Artifact) int { return strings.Compare(a.Path, b.Path) })
	var lines []string
	for _, a := range arts {
		sum, err := fileSHA256(a.Path)
		if err != nil {
			return err
		}
		lines = append(lines, sum+"  "+filepath.Base(a.Path))
	}
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
