// Package docker_test lints the server's container recipe: the Dockerfile
// with BuildKit's own checks (what `docker build --check` runs) and the
// compose file with the Compose specification's loader (what `docker
// compose config` runs), plus kpilot's rules for both. No Docker engine
// runs here, so the image itself is not built.
package docker_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server"
)

const root = "../.."

func TestDockerfileLint(t *testing.T) {
	dt, err := os.ReadFile("Dockerfile")
	require.NoError(t, err)
	require.Empty(t, lint(t, dt))

	// The checks run: a Dockerfile with known faults gets them named.
	bad := "FROM golang:1.26 as build\nENV A b\nCOPY $UNDEFINED /x\nfrom scratch\nCMD echo hi\n"
	require.ElementsMatch(t, []string{"FromAsCasing", "LegacyKeyValueFormat", "UndefinedVar", "ConsistentInstructionCasing", "JSONArgsRecommended"},
		lint(t, []byte(bad)))
}

// lint runs BuildKit's Dockerfile checks, the experimental ones too, and
// returns the names of the rules that warned.
func lint(t *testing.T, dt []byte) []string {
	t.Helper()
	src := llb.Local("dockerfile")
	smap := llb.NewSourceMap(&src, "Dockerfile", "Dockerfile", dt)
	var err error
	smap.Definition, err = src.Marshal(t.Context())
	require.NoError(t, err)
	res, err := dockerfile2llb.DockerfileLint(t.Context(), dt, dockerfile2llb.ConvertOpt{
		SourceMap:    smap,
		Config:       dockerui.Config{LinterConfig: &linter.Config{ExperimentalAll: true}},
		MetaResolver: offlineImages{},
	})
	require.NoError(t, err)
	require.Nil(t, res.Error, "lint stopped early")
	var rules []string
	for _, w := range res.Warnings {
		t.Logf("BuildKit check %s: %s (line %d)", w.RuleName, w.Detail, w.Location.Ranges[0].Start.Line)
		rules = append(rules, w.RuleName)
	}
	return rules
}

// The image runs as an unprivileged user, checks its own health with the
// server's healthcheck command, pins its base images, and copies only
// files that exist.
func TestDockerfilePolicy(t *testing.T) {
	f, err := os.Open("Dockerfile")
	require.NoError(t, err)
	defer f.Close()
	ast, err := parser.Parse(f)
	require.NoError(t, err)
	stages, metaArgs, err := instructions.Parse(ast.AST, linter.New(&linter.Config{}))
	require.NoError(t, err)
	require.Len(t, stages, 2, "a build stage and the runtime stage")

	args := map[string]string{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			args[kv.Key] = *kv.Value
		}
	}
	goMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	require.Contains(t, string(goMod), "\ngo "+args["GO_VERSION"]+"\n", "the image builds with go.mod's Go version")

	for _, st := range stages {
		image := strings.ReplaceAll(st.BaseName, "${GO_VERSION}", args["GO_VERSION"])
		_, tag, ok := strings.Cut(image, ":")
		require.True(t, ok, "%s: base image has a tag", image)
		require.NotEqual(t, "latest", tag, image)
	}

	final := stages[len(stages)-1]
	var user *instructions.UserCommand
	var health *instructions.HealthCheckCommand
	var entry *instructions.EntrypointCommand
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c
		case *instructions.HealthCheckCommand:
			health = c
		case *instructions.EntrypointCommand:
			entry = c
		case *instructions.CopyCommand:
			if c.From == "" {
				for _, src := range c.SourcePaths {
					require.FileExists(t, filepath.Join(root, src), "COPY source")
				}
			}
		}
	}
	require.NotNil(t, user, "USER is set")
	require.NotContains(t, []string{"root", "0", "0:0"}, user.User, "not root")
	require.NotNil(t, health, "HEALTHCHECK")
	require.Equal(t, []string{"CMD", "/usr/bin/kpilot-server", "healthcheck", "--config", "/etc/kpilot/server.yaml"}, health.Health.Test)
	require.NotNil(t, entry)
	require.Equal(t, []string{"/usr/bin/kpilot-server"}, entry.CmdLine)
}

func loadCompose(t *testing.T, envFiles ...string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"compose.yaml"},
		cli.WithWorkingDirectory("."), cli.WithEnvFiles(envFiles...), cli.WithDotEnv, cli.WithName("kpilot"))
	require.NoError(t, err)
	return opts.LoadProject(context.Background())
}

func TestComposeFile(t *testing.T) {
	p, err := loadCompose(t, "env.example")
	require.NoError(t, err, "the compose file follows the Compose specification")
	require.ElementsMatch(t, []string{"influxdb", "kpilot-server"}, p.ServiceNames())

	db := p.Services["influxdb"]
	require.Regexp(t, `^influxdb:2\.\d+\.\d+$`, db.Image, "InfluxDB 2, pinned")
	require.Empty(t, db.Ports, "InfluxDB is not published")
	require.NotNil(t, db.HealthCheck)

	srv := p.Services["kpilot-server"]
	require.NotNil(t, srv.Build)
	require.Equal(t, filepath.Join(must(filepath.Abs(root))), srv.Build.Context)
	require.FileExists(t, filepath.Join(srv.Build.Context, srv.Build.Dockerfile))
	require.Equal(t, types.ServiceConditionHealthy, srv.DependsOn["influxdb"].Condition, "starts once InfluxDB answers")
	require.NotNil(t, srv.HealthCheck)
	require.True(t, srv.ReadOnly)
	require.Equal(t, []string{"ALL"}, srv.CapDrop)
	for _, port := range srv.Ports {
		require.Equal(t, "127.0.0.1", port.HostIP, "published on loopback only, for a TLS proxy in front")
	}
	require.Equal(t, db.Environment["DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"], srv.Environment["KPILOT_INFLUXDB_TOKEN"],
		"the server writes with the token InfluxDB was set up with")

	// The config the server runs with is valid with that environment, and
	// points at the InfluxDB that compose sets up.
	var conf string
	for _, v := range srv.Volumes {
		if v.Target == "/etc/kpilot/server.yaml" {
			conf = v.Source
			require.True(t, v.ReadOnly)
		}
	}
	require.FileExists(t, conf)
	t.Setenv("KPILOT_INFLUXDB_TOKEN", *srv.Environment["KPILOT_INFLUXDB_TOKEN"])
	cfg, err := server.LoadConfig(conf)
	require.NoError(t, err)
	require.Equal(t, "http://influxdb:8086", cfg.InfluxDB.URL)
	require.Equal(t, *db.Environment["DOCKER_INFLUXDB_INIT_ORG"], cfg.InfluxDB.Org)
	require.Equal(t, *db.Environment["DOCKER_INFLUXDB_INIT_BUCKET"], cfg.InfluxDB.Bucket)
	require.Equal(t, *srv.Environment["KPILOT_INFLUXDB_TOKEN"], cfg.InfluxDB.Token.Reveal())
	require.True(t, slices.ContainsFunc(srv.Volumes, func(v types.ServiceVolumeConfig) bool { return v.Target == cfg.DataDir }),
		"data_dir is on a volume")
	_, metricsPort, err := net.SplitHostPort(cfg.MetricsListen)
	require.NoError(t, err, "the server serves /metrics on its own listener")
	require.True(t, slices.ContainsFunc(srv.Ports, func(p types.ServicePortConfig) bool { return fmt.Sprint(p.Target) == metricsPort }),
		"the metrics listener is published (on loopback)")
}

// Without the secrets, compose refuses to start and says which is missing.
func TestComposeNeedsSecrets(t *testing.T) {
	_, err := loadCompose(t)
	require.ErrorContains(t, err, "INFLUXDB_ADMIN_PASSWORD")
}

// offlineImages answers BuildKit's questions about base images without a
// registry (tests never leave 127.0.0.1): a Linux image with an empty
// config. The checks that read image configs then see no ENV or USER of
// the base; every other check runs as in docker build --check.
type offlineImages struct{}

func (offlineImages) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	cfg := []byte(`{"architecture":"amd64","os":"linux","config":{}}`)
	return ref, digest.FromBytes(cfg), cfg, nil
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
