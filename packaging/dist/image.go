package dist

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ImageRepository is the name the server image is tagged with in the
// archive Image writes; docs/install.md retags it for a registry.
const ImageRepository = "kpilot/server"

// ImageUID is the uid and gid the server runs as in its image: the
// conventional "nonroot" id of distroless images, so volumes prepared for
// those fit.
const ImageUID = 65532

// ImageSources are the build machine's files the image carries besides the
// binary. Both come from Debian packages (ca-certificates, tzdata), so a
// security update on the build machine reaches the next image.
type ImageSources struct {
	CACerts  string // a PEM bundle; /etc/ssl/certs/ca-certificates.crt in the image
	ZoneInfo string // a zoneinfo tree; /usr/share/zoneinfo in the image
}

// DebianImageSources are where Debian's packages put them.
var DebianImageSources = ImageSources{
	CACerts:  "/etc/ssl/certs/ca-certificates.crt",
	ZoneInfo: "/usr/share/zoneinfo",
}

// Image builds the kpilot-server container image for linux/arch without a
// base image, so nothing is pulled: the static binary, the CA bundle and
// the time zone data of src, /etc/passwd and /etc/group naming the
// unprivileged user, the config of packaging/docker/server.yaml and the
// data directory. It writes a docker-archive tarball (what `docker load`,
// `podman load` and `skopeo copy docker-archive:` read), tagged
// ImageRepository:<version>, into o.Out. The image is reproducible: every
// timestamp is the Unix epoch.
func Image(ctx context.Context, o Options, arch string, src ImageSources) (Artifact, error) {
	if o.Go == "" {
		o.Go = "go"
	}
	if o.Version == "" {
		return Artifact{}, errors.New("dist: no version to stamp")
	}
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return Artifact{}, err
	}
	o.Root = root
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return Artifact{}, err
	}
	work, err := os.MkdirTemp(o.Out, ".image-")
	if err != nil {
		return Artifact{}, err
	}
	defer os.RemoveAll(work)
	pl := Platform{"linux", arch}
	if err := o.compile(ctx, "kpilot-server", pl, work); err != nil {
		return Artifact{}, err
	}

	// Two layers: the operating-system files change with Debian's updates,
	// the program with every release; a registry then keeps one copy of
	// the first across releases.
	system, err := systemLayer(src)
	if err != nil {
		return Artifact{}, fmt.Errorf("image system layer: %w", err)
	}
	program, err := programLayer(filepath.Join(work, "kpilot-server"), filepath.Join(root, "packaging", "docker", "server.yaml"))
	if err != nil {
		return Artifact{}, fmt.Errorf("image program layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, system, program)
	if err != nil {
		return Artifact{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return Artifact{}, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = arch, "linux"
	cf.Config = imageConfig(o.Version, o.Commit)
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return Artifact{}, err
	}
	if img, err = mutate.CreatedAt(img, v1.Time{Time: time.Unix(0, 0).UTC()}); err != nil {
		return Artifact{}, err
	}

	tag, err := name.NewTag(ImageRepository + ":" + ImageTag(o.Version))
	if err != nil {
		return Artifact{}, err
	}
	out := filepath.Join(o.Out, fmt.Sprintf("kpilot-server_%s_image_%s.tar", ImageTag(o.Version), arch))
	if err := tarball.WriteToFile(out, tag, img); err != nil {
		return Artifact{}, fmt.Errorf("writing image %s: %w", out, err)
	}
	return Artifact{Path: out, Package: "kpilot-server", Format: "image", Platform: pl}, nil
}

// ImageTag is the image tag for a version: a version is a tag already
// ("v1.4.0-3-gdeadbee"), except for characters a tag may not hold.
func ImageTag(version string) string {
	t := regexp.MustCompile(`[^A-Za-z0-9_.-]`).ReplaceAllString(version, "-")
	if len(t) > 128 {
		t = t[:128]
	}
	return t
}

// imageConfig is what the Dockerfile's LABEL, USER, HEALTHCHECK,
// ENTRYPOINT and CMD said.
func imageConfig(version, commit string) v1.Config {
	return v1.Config{
		User:       fmt.Sprintf("%d:%d", ImageUID, ImageUID),
		Entrypoint: []string{"/usr/bin/kpilot-server"},
		Cmd:        []string{"run", "--config", "/etc/kpilot/server.yaml", "--log-format", "json"},
		Env:        []string{"PATH=/usr/bin"},
		WorkingDir: "/",
		ExposedPorts: map[string]struct{}{
			"8080/tcp": {}, // the portal and the API
			"9464/tcp": {}, // the server's own /metrics
		},
		Volumes: map[string]struct{}{"/var/lib/kpilot-server": {}},
		Labels: map[string]string{
			"org.opencontainers.image.title":       "kpilot-server",
			"org.opencontainers.image.description": "Shares IT asset KPIs with exactly the right customers and partners",
			"org.opencontainers.image.source":      "https://github.com/kpilot/kpilot",
			"org.opencontainers.image.licenses":    "Apache-2.0",
			"org.opencontainers.image.version":     version,
			"org.opencontainers.image.revision":    commit,
		},
		// The binary asks its own /healthz: the image has no shell and no curl.
		Healthcheck: &v1.HealthConfig{
			Test:        []string{"CMD", "/usr/bin/kpilot-server", "healthcheck", "--config", "/etc/kpilot/server.yaml"},
			Interval:    30 * time.Second,
			Timeout:     5 * time.Second,
			StartPeriod: 30 * time.Second,
			Retries:     3,
		},
	}
}

// layerWriter writes a layer's tar with fixed times and owners.
type layerWriter struct {
	buf bytes.Buffer
	tw  *tar.Writer
}

func newLayerWriter() *layerWriter {
	w := &layerWriter{}
	w.tw = tar.NewWriter(&w.buf)
	return w
}

func (w *layerWriter) dir(name string, mode int64, uid int) error {
	return w.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: uid, Gid: uid,
		ModTime: time.Unix(0, 0), Format: tar.FormatPAX})
}

func (w *layerWriter) file(name string, mode int64, data []byte) error {
	if err := w.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)),
		ModTime: time.Unix(0, 0), Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err := w.tw.Write(data)
	return err
}

func (w *layerWriter) symlink(name, target string) error {
	return w.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777,
		ModTime: time.Unix(0, 0), Format: tar.FormatPAX})
}

func (w *layerWriter) layer() (v1.Layer, error) {
	if err := w.tw.Close(); err != nil {
		return nil, err
	}
	data := w.buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
}

// systemLayer holds what a distroless base image would: users, CA
// certificates, time zones, a /tmp.
func systemLayer(src ImageSources) (v1.Layer, error) {
	w := newLayerWriter()
	for _, d := range []string{"etc", "etc/ssl", "etc/ssl/certs", "usr", "usr/share", "var", "var/lib"} {
		if err := w.dir(d, 0o755, 0); err != nil {
			return nil, err
		}
	}
	if err := w.dir("tmp", 0o1777, 0); err != nil {
		return nil, err
	}
	// Numeric ids resolve to names for anything that asks (os/user, ps);
	// neither user can log in.
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nkpilot:x:%d:%d:kpilot-server:/var/lib/kpilot-server:/sbin/nologin\n", ImageUID, ImageUID)
	if err := w.file("etc/passwd", 0o644, []byte(passwd)); err != nil {
		return nil, err
	}
	if err := w.file("etc/group", 0o644, fmt.Appendf(nil, "root:x:0:\nkpilot:x:%d:\n", ImageUID)); err != nil {
		return nil, err
	}
	certs, err := os.ReadFile(src.CACerts)
	if err != nil {
		return nil, fmt.Errorf("CA certificates (Debian's ca-certificates package): %w", err)
	}
	if err := w.file("etc/ssl/certs/ca-certificates.crt", 0o644, certs); err != nil {
		return nil, err
	}
	if err := addZoneInfo(w, src.ZoneInfo); err != nil {
		return nil, fmt.Errorf("time zone data (Debian's tzdata package): %w", err)
	}
	return w.layer()
}

// addZoneInfo copies the zoneinfo tree, symlinks as symlinks, without
// right/ (the leap-second variants, half the tree, which Go never reads).
func addZoneInfo(w *layerWriter, dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "UTC")); err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := path.Join("usr/share/zoneinfo", filepath.ToSlash(rel))
		switch {
		case rel == "right":
			return filepath.SkipDir
		case d.IsDir():
			return w.dir(name, 0o755, 0)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return w.symlink(name, target)
		case d.Type().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return w.file(name, 0o644, data)
		}
		return nil
	})
}

// programLayer holds the binary, its default config and its data
// directory, owned by the server's user (a named volume copies the
// owner from here).
func programLayer(bin, config string) (v1.Layer, error) {
	w := newLayerWriter()
	exe, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	conf, err := os.ReadFile(config)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"etc", "etc/kpilot", "usr", "usr/bin", "var", "var/lib"} {
		if err := w.dir(d, 0o755, 0); err != nil {
			return nil, err
		}
	}
	if err := w.file("usr/bin/kpilot-server", 0o755, exe); err != nil {
		return nil, err
	}
	if err := w.file("etc/kpilot/server.yaml", 0o644, conf); err != nil {
		return nil, err
	}
	if err := w.dir("var/lib/kpilot-server", 0o700, ImageUID); err != nil {
		return nil, err
	}
	return w.layer()
}
