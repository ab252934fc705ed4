// Package assetlabels writes every asset's name into InfluxDB, so that
// tools reading InfluxDB directly can name what kpilot's series only
// number. A point carries one server tag, asset=<series id> ("<organization
// number>.<asset number>"); the names live in the metadata store. The job
// writes, for every asset, a point of the kpilot_asset measurement tagged
// series=<series id> and carrying the asset's and its organization's
// names; the Grafana dashboard in packaging/grafana builds its
// organization and asset variables from them.
//
// The label points carry no asset tag, on purpose: every tenant read
// (series, latest, the Prometheus exposition) filters on the asset tag,
// so a customer never reads them (their labels hold the series ids, which
// the API does not show), and a reader that wants only the server's
// labels asks for points whose asset tag is empty: a point an agent sent
// as kpilot_asset always has one.
package assetlabels

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"

	"github.com/kpilot/kpilot/internal/lineproto"
	"github.com/kpilot/kpilot/server/store"
)

// Measurement is the measurement the labels are written to.
const Measurement = "kpilot_asset"

// SeriesTag is the label point's one tag: the series id of the asset it
// names.
const SeriesTag = "series"

// Every is how often the labels are written: a renamed asset shows its
// new name within this time, and a reader looking back a day (as the
// dashboard does) always finds a recent point.
const Every = 15 * time.Minute

// Fields of a label point, all strings.
const (
	// FieldName is the asset's name.
	FieldName = "name"
	// FieldOrganization is the name of the asset's organization.
	FieldOrganization = "organization"
	// FieldLabel is "<series id> <organization> / <asset name>": one
	// string a Grafana variable regex splits into the series id (the
	// value) and the names (the text), as /^(?<value>\S+) (?<text>.*)$/.
	FieldLabel = "label"
	// FieldOrganizationLabel is "<organization number> <organization>",
	// split alike, for a variable that picks organizations by number
	// (two organizations may share a name).
	FieldOrganizationLabel = "organization_label"
)

// batchLines bounds one write to InfluxDB: a few hundred kilobytes.
const batchLines = 5000

// orgChunk is how many organizations are read from the store at once.
const orgChunk = 500

// Store is what the job reads of the metadata store.
type Store interface {
	OrganizationIDs(ctx context.Context) ([]string, error)
	OrganizationsByIDs(ctx context.Context, ids []string) ([]store.Organization, error)
	Assets(ctx context.Context, orgID string) ([]store.Asset, error)
}

// Writer stores line protocol (tsdb.Influx).
type Writer interface {
	Write(ctx context.Context, lines []byte) error
}

// Labeler writes the label points.
type Labeler struct {
	store  Store
	influx Writer
	log    *slog.Logger
	now    func() time.Time
	batch  int // lines per write
}

// New returns a Labeler that reads st and writes to w.
func New(st Store, w Writer, log *slog.Logger) *Labeler {
	return &Labeler{store: st, influx: w, log: log, now: time.Now, batch: batchLines}
}

// Once writes a label point for every asset of every organization, all
// stamped with the time the run began, in writes of at most a few
// thousand lines. It stops at the first error, which names what failed;
// points written before it stay written, and the next run writes all.
func (l *Labeler) Once(ctx context.Context) error {
	began := l.now()
	ids, err := l.store.OrganizationIDs(ctx)
	if err != nil {
		return fmt.Errorf("listing organizations: %w", err)
	}
	w := batchWriter{influx: l.influx, max: l.batch, ns: began.UnixNano()}
	for len(ids) > 0 {
		chunk := ids[:min(orgChunk, len(ids))]
		ids = ids[len(chunk):]
		orgs, err := l.store.OrganizationsByIDs(ctx, chunk)
		if err != nil {
			return fmt.Errorf("reading organizations: %w", err)
		}
		for _, o := range orgs {
			assets, err := l.store.Assets(ctx, o.ID)
			if err != nil {
				return fmt.Errorf("reading the assets of organization %s: %w", o.ID, err)
			}
			for _, a := range assets {
				if err := w.add(ctx, o, a); err != nil {
					return err
				}
			}
		}
	}
	if err := w.flush(ctx); err != nil {
		return err
	}
	l.log.Debug("asset labels written", "assets", w.total, "took", l.now().Sub(began).Round(time.Millisecond))
	return nil
}

// batchWriter gathers label lines and writes them max at a time.
type batchWriter struct {
	influx Writer
	max    int
	ns     int64 // the points' time
	buf    []byte
	lines  int
	total  int
}

func (w *batchWriter) add(ctx context.Context, o store.Organization, a store.Asset) error {
	if a.SeriesID == "" {
		return nil // an asset not yet numbered has no series to name
	}
	w.buf = appendLabel(w.buf, o, a, w.ns)
	w.lines++
	w.total++
	if w.lines < w.max {
		return nil
	}
	return w.flush(ctx)
}

func (w *batchWriter) flush(ctx context.Context) error {
	if w.lines == 0 {
		return nil
	}
	if err := w.influx.Write(ctx, w.buf); err != nil {
		return fmt.Errorf("writing %d asset labels: %w", w.lines, err)
	}
	w.buf, w.lines = w.buf[:0], 0
	return nil
}

// appendLabel appends the label line of asset a of organization o.
func appendLabel(dst []byte, o store.Organization, a store.Asset, ns int64) []byte {
	name, org := clean(a.Name), clean(o.Name)
	orgNo, _, _ := strings.Cut(a.SeriesID, ".")
	dst = append(dst, Measurement+","+SeriesTag+"="...)
	dst = lineproto.AppendTagValue(dst, a.SeriesID)
	// Fields sorted by name, as InfluxDB stores them.
	dst = append(dst, " "+FieldLabel+"="...)
	dst = lineproto.AppendInfluxString(dst, a.SeriesID+" "+org+" / "+name)
	dst = append(dst, ","+FieldName+"="...)
	dst = lineproto.AppendInfluxString(dst, name)
	dst = append(dst, ","+FieldOrganization+"="...)
	dst = lineproto.AppendInfluxString(dst, org)
	dst = append(dst, ","+FieldOrganizationLabel+"="...)
	dst = lineproto.AppendInfluxString(dst, orgNo+" "+org)
	dst = append(dst, ' ')
	dst = fmt.Appendf(dst, "%d\n", ns)
	return dst
}

// clean makes a name fit for one line of a drop-down: valid UTF-8, with
// control characters (a newline would end a regex match early) as spaces.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
