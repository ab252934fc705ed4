package api_test

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/internal/devenv"
	"github.com/kpilot/kpilot/internal/wire"
	"github.com/kpilot/kpilot/server/api"
	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/ingest"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/store/sqlstore"
	"github.com/kpilot/kpilot/server/tsdb"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

type env struct {
	t      *testing.T
	url    string
	store  store.Store
	influx *devenv.Influxd
	org    store.Organization
	cred   string // agent credential, enrolled into branch
	branch store.OU
	reg    *prometheus.Registry
}

func limits() api.Limits {
	return api.Limits{Ingest: ingest.Limits{MaxBytes: 64 << 10, MaxDecompressedBytes: 256 << 10},
		SessionTTL: time.Hour, EnrollmentTokenTTL: time.Hour}
}

// newEnv runs the API on httptest with a real SQLite store; influxURL is a
// real influxd unless a test wants an unreachable one.
func newEnv(t *testing.T, influx *devenv.Influxd, influxURL string) *env {
	t.Helper()
	return newEnvWith(t, influx, influxURL, nil)
}

// newEnvWith is newEnv with changed limits.
func newEnvWith(t *testing.T, influx *devenv.Influxd, influxURL string, change func(*api.Limits)) *env {
	t.Helper()
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "k.db"), discard)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, store: st, influx: influx, reg: prometheus.NewRegistry()}
	e.org = store.Organization{Name: "Acme", Kind: store.Customer}
	require.NoError(t, st.CreateOrganization(t.Context(), &e.org))
	e.branch = store.OU{OrgID: e.org.ID, ParentID: e.org.RootOU, Name: "Branch"}
	require.NoError(t, st.CreateOU(t.Context(), &e.branch))
	e.cred = e.enroll(e.branch.ID)

	bucket := "kpilot/autogen"
	if influx != nil {
		bucket = influx.Bucket
	}
	ts := tsdb.New(tsdb.Options{URL: influxURL, Bucket: bucket, Timeout: 2 * time.Second})
	t.Cleanup(ts.Close)
	mux := http.NewServeMux()
	l := limits()
	if change != nil {
		change(&l)
	}
	api.New(st, ts, l, discard, e.reg).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

func (e *env) enroll(ou string) string {
	e.t.Helper()
	tok, hash := auth.NewToken(auth.PrefixEnrollment)
	now := time.Now()
	require.NoError(e.t, e.store.CreateEnrollmentToken(e.t.Context(), store.EnrollmentToken{TokenHash: hash,
		OrgID: e.org.ID, OUID: ou, CreatedBy: "test", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	cred, credHash := auth.NewToken(auth.PrefixAgent)
	a := store.Agent{Name: "a", TokenHash: credHash}
	require.NoError(e.t, e.store.EnrollAgent(e.t.Context(), auth.Hash(tok), now, &a))
	return cred
}

func gz(t *testing.T, body string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write([]byte(body))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// batchBody builds a batch from raw line protocol, as a hostile or buggy
// agent could send it, bypassing the agent's own checks.
func batchBody(t *testing.T, id, lines string) []byte {
	t.Helper()
	b, err := (&wire.Batch{Version: wire.Version, ID: id, Samples: lines}).Marshal()
	require.NoError(t, err)
	return b
}

type result struct {
	code   int
	header http.Header
	body   map[string]any
}

func (e *env) post(cred string, body []byte, mutate ...func(*http.Request)) result {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+"/api/v1/ingest", bytes.NewReader(body))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", wire.ContentType)
	req.Header.Set("Content-Encoding", "gzip")
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	for _, m := range mutate {
		m(req)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return result{resp.StatusCode, resp.Header, out}
}

// count returns the number of points InfluxDB holds for a measurement.
func (e *env) count(measurement, where string) int {
	e.t.Helper()
	q := fmt.Sprintf(`SELECT count("v") FROM %q %s`, measurement, where)
	resp, err := http.PostForm(e.influx.URL+"/query", url.Values{"db": {e.influx.Database}, "q": {q}})
	require.NoError(e.t, err)
	defer resp.Body.Close()
	var out struct {
		Results []struct{ Series []struct{ Values [][]any } }
	}
	require.NoError(e.t, json.NewDecoder(resp.Body).Decode(&out))
	if len(out.Results) == 0 || len(out.Results[0].Series) == 0 {
		return 0
	}
	return int(out.Results[0].Series[0].Values[0][1].(float64))
}

func ts() int64 { return time.Now().Add(-time.Minute).UnixNano() }

func TestIngest(t *testing.T) {
	influx := devenv.Influx(t)
	e := newEnv(t, influx, influx.URL)

	t.Run("stores points with tenant tags and refuses bad lines", func(t *testing.T) {
		now := ts()
		lines := strings.Join([]string{
			fmt.Sprintf(`good,asset=sw1,port=1 v=1,note="a\nb" %d`, now),
			fmt.Sprintf(`good,asset=sw1,org_id=%s v=2 %d`, uuid.NewString(), now), // tenant tag injection
			fmt.Sprintf(`good,asset=sw1,asset_id=x v=3 %d`, now),
			fmt.Sprintf(`Bad-Name,asset=sw1 v=4 %d`, now),
			`good,asset=sw1 v=5`, // no timestamp
			fmt.Sprintf(`good,asset=sw1 v=6 %d`, time.Now().Add(3*time.Hour).UnixNano()),
			fmt.Sprintf(`good v=7 %d`, now), // no asset
			`this is not line protocol`,
			fmt.Sprintf(`good,asset=sw1,port=2 v=8 %d`, now),
		}, "\n")
		r := e.post(e.cred, batchBody(t, uuid.NewString(), lines))
		require.Equal(t, http.StatusOK, r.code, "%v", r.body)
		require.Equal(t, 2.0, r.body["accepted"])
		require.Equal(t, 7.0, r.body["rejected"])

		assets, err := e.store.Assets(t.Context(), e.org.ID)
		require.NoError(t, err)
		require.Len(t, assets, 1)
		require.Equal(t, e.branch.ID, assets[0].OUID, "a new asset lands in the agent's OU")
		require.NotEmpty(t, assets[0].SeriesID)
		where := fmt.Sprintf(`WHERE "asset" = '%s'`, assets[0].SeriesID)
		require.Equal(t, 2, e.count("good", where), "both good points are stored with the asset's series id")
		require.Equal(t, 2, e.count("good", ""), "nothing else was stored, injected tags included")
	})

	t.Run("a retried batch is acknowledged without a second write", func(t *testing.T) {
		id := uuid.NewString()
		body := batchBody(t, id, fmt.Sprintf("dup,asset=sw1 v=1 %d\ndup,asset=sw1 v=2 %d", ts(), ts()+1))
		require.Equal(t, "stored", e.post(e.cred, body).body["status"])
		r := e.post(e.cred, body)
		require.Equal(t, http.StatusOK, r.code)
		require.Equal(t, "duplicate", r.body["status"])
		require.Equal(t, 2, e.count("dup", ""))
	})

	t.Run("an asset in another OU is refused", func(t *testing.T) {
		// The root agent creates "nas" in the root OU; the branch agent may
		// not write to it.
		rootCred := e.enroll(e.org.RootOU)
		require.Equal(t, http.StatusOK, e.post(rootCred, batchBody(t, uuid.NewString(), fmt.Sprintf("own,asset=nas v=1 %d", ts()))).code)
		r := e.post(e.cred, batchBody(t, uuid.NewString(), fmt.Sprintf("own,asset=nas v=2 %d", ts())))
		require.Equal(t, http.StatusUnprocessableEntity, r.code, "%v", r.body)
		require.Contains(t, r.body["error"], "outside the agent's")
		require.Equal(t, 1, e.count("own", ""))
	})

	t.Run("authentication", func(t *testing.T) {
		body := batchBody(t, uuid.NewString(), fmt.Sprintf("auth,asset=sw1 v=1 %d", ts()))
		for name, cred := range map[string]string{"none": "", "unknown": "kpa_unknown", "session token": "kps_x"} {
			r := e.post(cred, body)
			require.Equal(t, http.StatusUnauthorized, r.code, name)
		}
		require.Equal(t, 0, e.count("auth", ""))
	})

	t.Run("size limits", func(t *testing.T) {
		big := strings.Repeat(fmt.Sprintf("big,asset=sw1 v=1 %d\n", ts()), 20000) // ~600 KiB decompressed
		r := e.post(e.cred, batchBody(t, uuid.NewString(), big))
		require.Equal(t, http.StatusRequestEntityTooLarge, r.code)
		// Valid JSON that compresses badly: over the compressed limit while
		// under the decompressed one.
		noise := make([]byte, 128<<10)
		_, _ = rand.Read(noise)
		body := gz(t, `{"version":1,"id":"`+uuid.NewString()+`","samples":"`+base64.StdEncoding.EncodeToString(noise)+`"}`)
		require.Greater(t, len(body), int(limits().Ingest.MaxBytes))
		r = e.post(e.cred, body)
		require.Equal(t, http.StatusRequestEntityTooLarge, r.code)
		require.Equal(t, 0, e.count("big", ""))
	})

	t.Run("zstd batches, and the codings the server takes on every answer", func(t *testing.T) {
		b := &wire.Batch{Version: wire.Version, ID: uuid.NewString(), Samples: fmt.Sprintf("zstd,asset=sw1 v=1 %d\nzstd,asset=sw1 v=2 %d\n", ts(), ts()+1)}
		body, err := b.MarshalAs(wire.Zstd)
		require.NoError(t, err)
		zstd := func(r *http.Request) { r.Header.Set("Content-Encoding", wire.Zstd) }
		r := e.post(e.cred, body, zstd)
		require.Equal(t, http.StatusOK, r.code, "%v", r.body)
		require.Equal(t, wire.AcceptEncoding, r.header.Get("Accept-Encoding"))
		require.Equal(t, 2, e.count("zstd", ""))

		r = e.post(e.cred, body) // declared gzip
		require.Equal(t, http.StatusBadRequest, r.code)
		require.Contains(t, r.body["error"], "Content-Encoding is gzip but the body is zstd")
		r = e.post(e.cred, body, func(r *http.Request) { r.Header.Set("Content-Encoding", "br") })
		require.Equal(t, http.StatusUnsupportedMediaType, r.code)
		require.Contains(t, r.body["error"], "Content-Encoding must be zstd or gzip")
		require.Equal(t, wire.AcceptEncoding, r.header.Get("Accept-Encoding"), "a refusal says what would be taken (RFC 7694)")

		big, err := (&wire.Batch{Version: wire.Version, ID: uuid.NewString(),
			Samples: strings.Repeat(fmt.Sprintf("big,asset=sw1 v=1 %d\n", ts()), 20000)}).MarshalAs(wire.Zstd)
		require.NoError(t, err)
		require.Equal(t, http.StatusRequestEntityTooLarge, e.post(e.cred, big, zstd).code, "the decompressed limit holds for zstd")
		require.Equal(t, 2, e.count("zstd", ""))
	})

	t.Run("the agent's last seen time and version", func(t *testing.T) {
		cred := e.enroll(e.branch.ID)
		agent := func() store.Agent {
			ag, err := e.store.AgentByTokenHash(t.Context(), auth.Hash(cred))
			require.NoError(t, err)
			return ag
		}
		post := func(version string) {
			body := batchBody(t, uuid.NewString(), fmt.Sprintf("seen,asset=sw1 v=1 %d", ts()))
			r := e.post(cred, body, func(r *http.Request) { r.Header.Set("User-Agent", "kpilot-agent/"+version) })
			require.Equal(t, http.StatusOK, r.code, "%v", r.body)
		}
		post("1.0")
		first := agent()
		require.Equal(t, "1.0", first.Version)
		require.WithinDuration(t, time.Now(), first.LastSeenAt, 10*time.Second)

		post("1.0")
		require.Equal(t, first.LastSeenAt, agent().LastSeenAt, "a backlog of batches does not write last seen for each")
		post("1.1")
		require.Equal(t, "1.1", agent().Version, "a new version is written at once")

		past := time.Now().Add(-time.Minute)
		require.NoError(t, e.store.TouchAgent(t.Context(), first.ID, "", past))
		post("1.1")
		require.WithinDuration(t, time.Now(), agent().LastSeenAt, 10*time.Second, "after touchEvery it is written again")
	})

	t.Run("malformed requests", func(t *testing.T) {
		r := e.post(e.cred, []byte("{}"), func(r *http.Request) { r.Header.Del("Content-Encoding") })
		require.Equal(t, http.StatusUnsupportedMediaType, r.code)
		r = e.post(e.cred, gz(t, "{not json"))
		require.Equal(t, http.StatusBadRequest, r.code)
		require.Contains(t, r.body["error"], "malformed batch")
	})

	t.Run("metrics pass promlint", func(t *testing.T) {
		problems, err := testutil.GatherAndLint(e.reg)
		require.NoError(t, err)
		require.Empty(t, problems)
	})
}

func TestIngestInfluxDown(t *testing.T) {
	port, err := devenv.FreePort("tcp")
	require.NoError(t, err)
	e := newEnv(t, nil, fmt.Sprintf("http://127.0.0.1:%d", port))
	id := uuid.NewString()
	r := e.post(e.cred, batchBody(t, id, fmt.Sprintf("x,asset=sw1 v=1 %d", ts())))
	require.Equal(t, http.StatusServiceUnavailable, r.code)
	require.Equal(t, "10", r.header.Get("Retry-After"))
	require.NotContains(t, r.body["error"], "127.0.0.1", "internal detail stays in the log")
	seen, err := e.store.BatchSeen(t.Context(), "", id)
	require.NoError(t, err)
	require.False(t, seen, "an unstored batch must not be remembered as stored")
}
