package dist

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/wire"
)

// TestServerImage builds the server image from nothing but this machine's
// files, checks what it holds, then runs it with podman, as the docs say,
// against a real influxd: it answers /readyz and its own health check,
// stores an agent's batch in InfluxDB, and runs as uid 65532 on a
// read-only root filesystem.
func TestServerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server and runs it in a container")
	}
	out := t.TempDir()
	a, err := Image(t.Context(), Options{Root: filepath.Join("..", ".."), Out: out, Version: testVersion, Commit: "deadbee",
		Log: slog.New(slog.DiscardHandler)}, runtime.GOARCH, DebianImageSources)
	require.NoError(t, err)
	require.Equal(t, "kpilot-server_"+testVersion+"_image_"+runtime.GOARCH+".tar", filepath.Base(a.Path))
	checkImageContents(t, a.Path)
	runImage(t, a.Path)
}

// checkImageContents reads the archive as a registry would get it.
func checkImageContents(t *testing.T, archive string) {
	img, err := tarball.ImageFromPath(archive, nil)
	require.NoError(t, err)
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	require.Equal(t, "linux", cf.OS)
	require.Equal(t, runtime.GOARCH, cf.Architecture)
	require.Equal(t, "65532:65532", cf.Config.User, "not root")
	require.Equal(t, []string{"/usr/bin/kpilot-server"}, cf.Config.Entrypoint)
	require.NotNil(t, cf.Config.Healthcheck)
	require.Equal(t, []string{"CMD", "/usr/bin/kpilot-server", "healthcheck", "--config", "/etc/kpilot/server.yaml"}, cf.Config.Healthcheck.Test)
	require.Equal(t, testVersion, cf.Config.Labels["org.opencontainers.image.version"])
	require.Equal(t, "deadbee", cf.Config.Labels["org.opencontainers.image.revision"])
	require.Equal(t, "kpilot-server", cf.Config.Labels["org.opencontainers.image.title"])
	require.Contains(t, cf.Config.Volumes, "/var/lib/kpilot-server")
	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 2, "the system files and the program")

	files := map[string]*tar.Header{}
	content := map[string][]byte{}
	tr := tar.NewReader(mutate.Extract(img))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		files[strings.TrimSuffix(h.Name, "/")] = h // directories with or without the slash
		switch h.Name {
		case "usr/bin/kpilot-server", "etc/passwd", "etc/ssl/certs/ca-certificates.crt", "etc/kpilot/server.yaml":
			content[h.Name], err = io.ReadAll(tr)
			require.NoError(t, err)
		}
	}

	bin, err := elf.NewFile(bytes.NewReader(content["usr/bin/kpilot-server"]))
	require.NoError(t, err)
	for _, p := range bin.Progs {
		require.NotEqual(t, elf.PT_INTERP, p.Type, "static: no dynamic loader in a scratch image")
	}
	require.Contains(t, string(content["etc/passwd"]), "kpilot:x:65532:65532:")
	certs, err := os.ReadFile(DebianImageSources.CACerts)
	require.NoError(t, err)
	require.Equal(t, certs, content["etc/ssl/certs/ca-certificates.crt"], "Debian's CA bundle")
	conf, err := os.ReadFile("../docker/server.yaml")
	require.NoError(t, err)
	require.Equal(t, conf, content["etc/kpilot/server.yaml"])
	require.Contains(t, files, "usr/share/zoneinfo/Europe/Berlin")
	require.NotContains(t, files, "usr/share/zoneinfo/right/Europe/Berlin", "leap-second zones are left out")
	data := files["var/lib/kpilot-server"]
	require.NotNil(t, data)
	require.Equal(t, 65532, data.Uid, "the data directory belongs to the server's user")
	require.Equal(t, int64(0o1777), files["tmp"].Mode&0o7777)
}

// podman runs podman on its own storage under the test's temp dir, so the
// test neither sees nor leaves images on the machine.
type podman struct {
	t    *testing.T
	args []string
}

func newPodman(t *testing.T) *podman {
	requireTool(t, "podman")
	dir := t.TempDir()
	p := &podman{t: t, args: []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run")}}
	// crun (podman's default) refuses this sandbox's cgroup v1 hierarchy
	// ("cgroups in hybrid mode not supported"); runc takes it. make deps
	// installs runc; where crun works either does.
	if _, err := exec.LookPath("runc"); err == nil {
		p.args = append(p.args, "--runtime", "runc")
	}
	t.Cleanup(func() {
		// Unmounts and removes the storage before the temp dir goes.
		if out, err := p.cmd(context.Background(), "system", "reset", "--force").CombinedOutput(); err != nil {
			t.Logf("podman system reset: %v\n%s", err, out)
		}
	})
	return p
}

func (p *podman) cmd(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "podman", append(slices.Clone(p.args), args...)...)
}

// run runs podman and returns its standard output; it fails the test with
// the standard error when podman does.
func (p *podman) run(args ...string) string {
	p.t.Helper()
	var stdout, stderr bytes.Buffer
	c := p.cmd(p.t.Context(), args...)
	c.Stdout, c.Stderr = &stdout, &stderr
	require.NoError(p.t, c.Run(), "podman %s\n%s", strings.Join(args, " "), stderr.String())
	return stdout.String()
}

func runImage(t *testing.T, archive string) {
	pm := newPodman(t)
	influx := devenv.Influx(t)
	pm.run("load", "--quiet", "--input", archive)
	image := "localhost/" + ImageRepository + ":" + ImageTag(testVersion)

	port, err := devenv.FreePort("tcp")
	require.NoError(t, err)
	metricsPort, err := devenv.FreePort("tcp")
	require.NoError(t, err)
	dir := t.TempDir()
	conf := filepath.Join(dir, "server.yaml")
	require.NoError(t, devenv.RewriteConfig("../docker/server.yaml", conf,
		"listen: 0.0.0.0:8080", fmt.Sprintf("listen: 127.0.0.1:%d", port),
		"metrics_listen: 0.0.0.0:9464", fmt.Sprintf("metrics_listen: 127.0.0.1:%d", metricsPort),
		"http://influxdb:8086", influx.URL,
		"bucket: kpilot ", "bucket: "+influx.Bucket+" ",
		"database: kpilot\n", "database: "+influx.Database+"\n"))
	require.NoError(t, os.Chmod(conf, 0o644)) // readable by the container's user
	data := filepath.Join(dir, "data")
	require.NoError(t, os.Mkdir(data, 0o700))
	require.NoError(t, os.Chown(data, ImageUID, ImageUID))

	// What docs/install.md runs, with the host's network for the test's
	// influxd on 127.0.0.1. The explicit limits: podman's defaults (a
	// million open files and processes) are above this sandbox's hard
	// limits, which a container may not raise.
	flags := []string{"--read-only", "--network", "host",
		"--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
		"--volume", conf + ":/etc/kpilot/server.yaml:ro", "--volume", data + ":/var/lib/kpilot-server",
		"--env", "KPILOT_INFLUXDB_TOKEN=unused-influxd-1.8-has-no-auth"}
	once := func(args ...string) string {
		return pm.run(append(append([]string{"run", "--rm"}, flags...), append([]string{image}, args...)...)...)
	}
	boot := once("bootstrap", "--config", "/etc/kpilot/server.yaml", "--org", "Image Lab", "--admin", "admin@lab.example")
	var org string
	for line := range strings.Lines(boot) {
		if v, ok := strings.CutPrefix(line, "organization_id: "); ok {
			org = strings.TrimSpace(v)
		}
	}
	require.NotEmpty(t, org, boot)
	token := strings.TrimSpace(once("enroll-token", "--config", "/etc/kpilot/server.yaml", "--org", org))

	name := "kpilot-image-test-" + uuid.NewString()[:8]
	pm.run(append(append([]string{"run", "--detach", "--name", name}, flags...), image)...)
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := pm.cmd(context.Background(), "logs", name).CombinedOutput()
			t.Logf("server logs:\n%s", logs)
		}
		pm.cmd(context.Background(), "rm", "--force", "--time", "5", name).Run()
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitReady(t, base+"/readyz")
	pm.run("healthcheck", "run", name) // exits 0: the image's HEALTHCHECK passes

	// The process: uid 65532, root filesystem mounted read-only.
	pid := strings.TrimSpace(pm.run("inspect", "--format", "{{.State.Pid}}", name))
	status, err := os.ReadFile("/proc/" + pid + "/status")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^Uid:\t65532\t65532\t65532\t65532$`, string(status))
	require.Regexp(t, `(?m)^Gid:\t65532\t65532\t65532\t65532$`, string(status))
	mounts, err := os.ReadFile("/proc/" + pid + "/mountinfo")
	require.NoError(t, err)
	require.True(t, rootReadOnly(string(mounts)), "root filesystem is read-only:\n%s", mounts)

	// An agent enrolls and its batch lands in InfluxDB.
	body, _ := json.Marshal(map[string]string{"token": token, "name": "image-test"})
	resp, err := http.Post(base+"/api/v1/agents/enroll", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	var enrolled struct{ Credential string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&enrolled))
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	batch, err := (&wire.Batch{Version: wire.Version, ID: uuid.NewString(),
		Samples: fmt.Sprintf("imagetest,asset=sw1 v=42 %d\n", at.UnixNano())}).Marshal()
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/ingest", bytes.NewReader(batch))
	require.NoError(t, err)
	req.Header.Set("Content-Type", wire.ContentType)
	req.Header.Set("Content-Encoding", wire.Gzip)
	req.Header.Set("Authorization", "Bearer "+enrolled.Credential)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", answer)
	require.Equal(t, 42.0, influxValue(t, influx, `SELECT last("v") FROM "imagetest"`))
}

// rootReadOnly reports whether the mount at / in a mountinfo is read-only.
func rootReadOnly(mountinfo string) bool {
	ro := false
	for line := range strings.Lines(mountinfo) {
		f := strings.Fields(line)
		if len(f) > 5 && f[4] == "/" {
			ro = strings.Split(f[5], ",")[0] == "ro" // the last mount at / is the one seen
		}
	}
	return ro
}

func waitReady(t *testing.T, u string) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		resp, err := http.Get(u)
		if err != nil {
			last = err.Error()
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
		last = resp.Status
	}
	t.Fatalf("%s never answered 200: %s", u, last)
}

// influxValue runs an InfluxQL query returning one value.
func influxValue(t *testing.T, influx *devenv.Influxd, q string) float64 {
	t.Helper()
	resp, err := http.PostForm(influx.URL+"/query", url.Values{"db": {influx.Database}, "q": {q}})
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		Results []struct{ Series []struct{ Values [][]any } }
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Len(t, out.Results, 1)
	require.Len(t, out.Results[0].Series, 1, "no points stored")
	v, ok := out.Results[0].Series[0].Values[0][1].(float64)
	require.True(t, ok)
	return v
}
