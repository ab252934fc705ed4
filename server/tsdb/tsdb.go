// Package tsdb stores and reads KPI series in InfluxDB: writes through
// influxdb-client-go/v2's blocking write API on /api/v2/write (a batch is
// acknowledged to the agent only after InfluxDB confirmed it), reads in
// InfluxQL on the v1 /query endpoint (influxql.go). InfluxDB 1.x, 2.x
// (with a DBRP mapping) and 3.x serve both. Query text is built only from
// validated ids, allow-listed names and parsed times (see query.go), never
// from raw request input.
package tsdb

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unsafe"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	ihttp "github.com/influxdata/influxdb-client-go/v2/api/http"
)

// AssetTag is the one tag the server adds to every point: the asset's
// series id (store.Asset.SeriesID, "<organization number>.<asset
// number>"), in place of the agent's own asset tag. Every read filters on
// it.
const AssetTag = "asset"

// Tags of the schema before issue 28, three UUIDs on every point: agents
// may not send them, and migrate-series rewrites series that carry them.
const (
	LegacyAssetTag = "asset_id"
	LegacyOrgTag   = "org_id"
	LegacyOUTag    = "ou_id"
)

// ErrUnavailable means InfluxDB is down, overloaded or timed out: the write
// may succeed later. The ingest handler answers 503 with Retry-After.
var ErrUnavailable = errors.New("time-series database unavailable")

// DefaultQueryTimeout bounds one read when Options.QueryTimeout is 0.
const DefaultQueryTimeout = 10 * time.Second

// Options configure the InfluxDB connection.
type Options struct {
	URL   string
	Token string // InfluxDB 2.x/3.x token, or "user:password" for 1.x; may be empty
	Org   string // writes to InfluxDB 2.x; ignored by 1.x and 3.x

	// Database and RetentionPolicy name what reads query (the db and rp
	// of /query). An empty Database is taken from Bucket ("db/rp" or
	// "db"); an empty RetentionPolicy reads the database's default one.
	Database        string
	RetentionPolicy string
	// Bucket is where writes go: "db/rp" or "db" on 1.x, the bucket on
	// 2.x, the database on 3.x. Empty means Database/RetentionPolicy (or
	// Database alone).
	Bucket string

	Timeout      time.Duration // one write
	QueryTimeout time.Duration // one read; 0 means DefaultQueryTimeout
	Gzip         bool          // compress writes
}

// Influx is the InfluxDB client for writes and reads. It is safe for
// concurrent use.
type Influx struct {
	client influxdb2.Client
	write  api.WriteAPIBlocking

	// Reads: the v1 /query endpoint.
	http         *http.Client
	url          string
	database, rp string
	token        string
	queryTimeout time.Duration
	maxAnswer    int64 // bytes of one answer
}

// New connects lazily: nothing is sent before the first call.
func New(o Options) *Influx {
	db, rp := o.Database, o.RetentionPolicy
	if db == "" {
		db, rp, _ = strings.Cut(o.Bucket, "/")
	}
	bucket := o.Bucket
	if bucket == "" {
		bucket = db
		if rp != "" {
			bucket += "/" + rp
		}
	}
	qt := o.QueryTimeout
	if qt <= 0 {
		qt = DefaultQueryTimeout
	}
	opts := influxdb2.DefaultOptions().
		SetHTTPRequestTimeout(uint(max(o.Timeout, time.Second).Seconds())).
		SetLogLevel(0). // errors are returned and logged by the caller
		SetUseGZip(o.Gzip)
	c := influxdb2.NewClientWithOptions(o.URL, o.Token, opts)
	return &Influx{
		client: c, write: c.WriteAPIBlocking(o.Org, bucket),
		// Each read is bounded by its context (queryTimeout); the
		// client has no timeout of its own.
		http: &http.Client{Transport: transport()},
		url:  strings.TrimRight(o.URL, "/"), database: db, rp: rp, token: o.Token, queryTimeout: qt, maxAnswer: maxAnswer,
	}
}

// transport is the reads' HTTP transport: enough idle connections for
// the concurrent statements of reads (the default keeps 2 per host, and
// a new connection per statement costs more than the statement).
func transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	return t
}

// Close releases idle connections.
func (i *Influx) Close() {
	i.client.Close()
	i.http.CloseIdleConnections()
}

// Ping reports whether InfluxDB answers.
func (i *Influx) Ping(ctx context.Context) error {
	ok, err := i.client.Ping(ctx)
	if err != nil {
		return fmt.Errorf("pinging InfluxDB: %w", err)
	}
	if !ok {
		return fmt.Errorf("pinging InfluxDB: %w", ErrUnavailable)
	}
	return nil
}

// PartialWriteError means InfluxDB stored some points of a write and refused
// others (for example a field type conflict). The refused points cannot be
// written by retrying; the rest are stored.
type PartialWriteError struct{ Msg string }

func (e *PartialWriteError) Error() string { return "InfluxDB refused some points: " + e.Msg }

// Write stores line-protocol text (nanosecond precision). It returns nil
// only when InfluxDB confirmed the write. Errors wrap ErrUnavailable when a
// retry can succeed, or are a *PartialWriteError.
func (i *Influx) Write(ctx context.Context, lines []byte) error {
	if len(lines) == 0 {
		return nil
	}
	// The client only reads the text; lines is not changed while it does.
	text := unsafe.String(unsafe.SliceData(lines), len(lines))
	err := i.write.WriteRecord(ctx, strings.TrimRight(text, "\n"))
	if err == nil {
		return nil
	}
	var he *ihttp.Error
	if errors.As(err, &he) && he.StatusCode >= 400 && he.StatusCode < 500 &&
		he.StatusCode != http.StatusTooManyRequests && he.StatusCode != http.StatusUnauthorized && he.StatusCode != http.StatusForbidden {
		// 400 partial write / field type conflict: InfluxDB kept the
		// valid points (1.x and 2.x both behave so).
		return &PartialWriteError{Msg: he.Message}
	}
	return fmt.Errorf("writing to InfluxDB: %w: %w", ErrUnavailable, err)
}
