// Package docker_test checks the compose file with the Compose
// specification's loader (what `docker compose config` runs), plus
// kpilot's rules for it. The image it runs is built, and run with podman,
// by packaging/dist (TestServerImage).
package docker_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/packaging/dist"
	"github.com/kpilot/kpilot/server"
)

const root = "../.."

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
	require.Nil(t, srv.Build, "the image is built by kpilot-dist -image, without a base image to pull")
	require.Equal(t, dist.ImageRepository+":dev", srv.Image, "the image kpilot-dist -image tags, at KPILOT_VERSION")
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

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
