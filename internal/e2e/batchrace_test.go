package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/wire"
)

// TestIntegrationReplicasStoreARacedBatchOnce sends the same batch to two
// kpilot-server processes on one PostgreSQL database at the same moment,
// 20 times. Each batch id is claimed by one replica before it writes: of
// each pair one answer is "stored" and the other "duplicate" (or 429, to
// be retried), the replicas together store each batch once, and InfluxDB
// holds every point.
func TestIntegrationReplicasStoreARacedBatchOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts PostgreSQL, influxd and two servers")
	}
	const pairs, points = 20, 50
	pg := devenv.PostgreSQL(t)
	influx := devenv.Influx(t)
	dsn, err := pg.CreateDatabase(t.Context(), "kpilot_batch_race")
	require.NoError(t, err)
	t.Setenv("KPILOT_DATABASE_DSN", dsn)
	bin := buildServer(t)
	dir := t.TempDir()
	a := newReplica(t, "a", bin, influx, filepath.Join(dir, "a"))
	b := newReplica(t, "b", bin, influx, filepath.Join(dir, "b"))
	pw := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pw, []byte("correct-horse-battery\n"), 0o600))
	out := run(t, bin, "bootstrap", "--config", a.cfg, "--org", "Acme GmbH", "--admin", "admin@acme.example", "--password-file", pw)
	a.start(t)
	b.start(t)
	a.ready(t)
	b.ready(t)
	token := strings.TrimSpace(run(t, bin, "enroll-token", "--config", a.cfg, "--org", field(t, out, "organization_id")))
	cred := enrollOverHTTP(t, a.base, token)

	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	answers := map[string]int{}
	for i := range pairs {
		var lines strings.Builder
		for p := range points {
			fmt.Fprintf(&lines, "race,asset=sw1,pair=p%d v=%d %d\n", i, p, start.Add(time.Duration(i*points+p)*time.Second).UnixNano())
		}
		body, err := (&wire.Batch{Version: wire.Version, ID: uuid.NewString(), Samples: lines.String()}).Marshal()
		require.NoError(t, err)
		var (
			wg   sync.WaitGroup
			got  [2]string
			fire = make(chan struct{})
		)
		for j, r := range []*replica{a, b} {
			wg.Go(func() {
				<-fire
				got[j] = postBatch(t, r.base, cred, body)
			})
		}
		close(fire)
		wg.Wait()
		pair := got[0] + "+" + got[1]
		answers[pair]++
		require.Contains(t, []string{"stored+duplicate", "duplicate+stored", "stored+429", "429+stored"}, pair,
			"pair %d: one replica stores the batch, the other does not", i)
	}
	t.Logf("answers (a+b): %v", answers)

	stored := a.metric(t, "kpilot_server_ingest_samples_total", `result="stored"`) +
		b.metric(t, "kpilot_server_ingest_samples_total", `result="stored"`)
	require.Equal(t, float64(pairs*points), stored, "each batch's points were written by one replica")
	require.Equal(t, float64(pairs), a.metric(t, "kpilot_server_ingest_batches_total", `result="stored"`)+
		b.metric(t, "kpilot_server_ingest_batches_total", `result="stored"`))
	require.Equal(t, pairs*points, countPoints(t, influx, "race"), "InfluxDB holds every point once")
}

// enrollOverHTTP enrolls an agent with an enrollment token as
// kpilot-agent enroll does and returns its credential.
func enrollOverHTTP(t *testing.T, base, token string) string {
	t.Helper()
	req, _ := json.Marshal(map[string]string{"token": token, "name": "racer"})
	resp, err := http.Post(base+"/api/v1/agents/enroll", "application/json", bytes.NewReader(req))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	var out struct{ Credential string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.NotEmpty(t, out.Credential)
	return out.Credential
}

// postBatch sends a batch as an agent and returns the answer's "status"
// on 200, else the status code.
func postBatch(t *testing.T, base, cred string, body []byte) string {
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/ingest", bytes.NewReader(body))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Content-Type", wire.ContentType)
	req.Header.Set("Content-Encoding", wire.Gzip)
	req.Header.Set("Authorization", "Bearer "+cred)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprint(resp.StatusCode)
	}
	var out struct{ Status string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return err.Error()
	}
	return out.Status
}

// countPoints counts the points of a measurement in InfluxDB.
func countPoints(t *testing.T, influx *devenv.Influxd, measurement string) int {
	t.Helper()
	resp, err := http.PostForm(influx.URL+"/query", url.Values{"db": {influx.Database},
		"q": {fmt.Sprintf(`SELECT count("v") FROM %q`, measurement)}})
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		Results []struct{ Series []struct{ Values [][]any } }
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	if len(out.Results) == 0 || len(out.Results[0].Series) == 0 {
		return 0
	}
	return int(out.Results[0].Series[0].Values[0][1].(float64))
}
