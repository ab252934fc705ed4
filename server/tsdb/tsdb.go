// Package tsdb stores and reads KPI series in InfluxDB through
// influxdb-client-go/v2: the blocking write API for ingest (a batch is
// acknowledged to the agent only after InfluxDB confirmed it) and Flux for
// reads. Flux text is built only from validated ids, allow-listed names and
// parsed times (see query.go), never from raw request input.
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

// Options configure the InfluxDB connection.
type Options struct {
	URL     string
	Token   string // InfluxDB 2 token, or "user:password" for 1.8; may be empty
	Org     string // ignored by InfluxDB 1.8
	Bucket  string // "database/retention-policy" for 1.8
	Timeout time.Duration
	Gzip    bool // compress writes
}

// Influx is the InfluxDB client for writes and reads.
type Influx struct {
	client influxdb2.Client
	write  api.WriteAPIBlocking
	query  api.QueryAPI
	bucket string
}

// New connects lazily: nothing is sent before the first call.
func New(o Options) *Influx {
	opts := influxdb2.DefaultOptions().
		SetHTTPRequestTimeout(uint(max(o.Timeout, time.Second).Seconds())).
		SetLogLevel(0). // errors are returned and logged by the caller
		SetUseGZip(o.Gzip)
	c := influxdb2.NewClientWithOptions(o.URL, o.Token, opts)
	return &Influx{client: c, write: c.WriteAPIBlocking(o.Org, o.Bucket), query: c.QueryAPI(o.Org), bucket: o.Bucket}
}

// Close releases idle connections.
func (i *Influx) Close() { i.client.Close() }

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
