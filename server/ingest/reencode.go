package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	lp "github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/lineproto"
	"github.com/kpilot/kpilot/internal/wire"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/tsdb"
)

// maxFuture is how far ahead of the server clock a sample may be stamped.
const maxFuture = time.Hour

// reencoder turns an agent's line protocol into the server's. Every line
// is split into tokens, every token is checked (names by kpi.ValidName,
// values by kind) and written anew with the tenant tags, so the agent's
// text is never forwarded: no tag or field value can smuggle an extra line
// or a foreign tenant tag.
//
// The decoder of influxdata/line-protocol/v2 is the reference: any line
// can be read by it. It costs about as much as everything else together,
// so the canonical lines the agent writes (no escapes, one space between
// sections, a timestamp) take a fast path that scans and checks them in
// one pass, and falls back to the library for anything else. Numbers and
// timestamps are copied as the decimal text that was checked rather than
// parsed and formatted again, tokens are used where they lie instead of
// being copied, and buffers are reused: the common path does not allocate
// per point. The byte classes, scanners and appenders are package
// lineproto's, which the agent's encoder writes with too.
type reencoder struct {
	out  []byte
	tags []agentTag // the current line's, reused from line to line
	// polls is the latest agent_poll per asset and collector: what the
	// portal shows as the asset's status.
	polls map[pollKey]store.AssetPoll

	future            int64 // the latest timestamp taken, in Unix nanoseconds
	entries, accepted int
	fast              int // lines taken by the fast path
	rejects           []string
	libraryOnly       bool // no fast path (the fuzz test's reference)

	// tenant holds ",asset=<series id>" of the asset tenantOf, as
	// written: lines of one asset come together.
	tenant   []byte
	tenantOf string

	// futureDigits is future as 19 digits ("" if it has more or fewer):
	// such timestamps compare as text.
	futureDigits []byte

	// keys are the field keys of the last line the fast path took, in
	// order: slices of the batch, checked names. Lines of one measurement
	// usually have the same keys, and a key whose bytes equal one of
	// these needs no second check.
	keys, nextKeys [][]byte
}

type pollKey struct{ asset, collector string }

// assetPolls folds the batch's polls per asset: the latest time, and up
// when any collector (BMC, operating system) reached the device.
func (x *reencoder) assetPolls() []store.AssetPoll {
	by := map[string]store.AssetPoll{}
	for k, p := range x.polls {
		q, ok := by[k.asset]
		if !ok {
			by[k.asset] = p
			continue
		}
		if p.At.After(q.At) {
			q.At = p.At
		}
		q.Up = q.Up || p.Up
		by[k.asset] = q
	}
	out := make([]store.AssetPoll, 0, len(by))
	for _, p := range by {
		out = append(out, p)
	}
	return out
}

// agentTag is one tag of the line being re-encoded. Its slices are the
// decoder's tokens, valid until the decoder moves to the next line: they
// point into the batch, or for a token with escapes into the decoder's
// unescape buffer, which only grows within a line.
type agentTag struct {
	k, v   []byte
	escape bool // the value has characters to escape
}

// reencode appends the re-encoded lines to buf and returns them, the
// number of accepted points and a message per refused line. The error is a
// store failure (the batch is retried); bad points are rejections.
//
// Each line is first tried on the fast path (fastLine), which takes the
// canonical form the agent writes. A line it does not take, for whatever
// reason, is decoded by the library as if the fast path did not exist: so
// a line is accepted, written and refused exactly as the library path
// would (FuzzReencodeFastPath holds the two to that).
func (x *reencoder) reencode(ctx context.Context, now time.Time, assets *assetResolver, samples, buf []byte) ([]byte, int, []string, error) {
	// Room for the text plus the tenant tag (about 16 bytes) per line.
	x.out = slices.Grow(buf[:0], len(samples)+bytes.Count(samples, []byte{'\n'})*16)
	x.future = now.Add(maxFuture).UnixNano()
	x.futureDigits = strconv.AppendInt(x.futureDigits[:0], x.future, 10)
	if len(x.futureDigits) != 19 {
		x.futureDigits = x.futureDigits[:0]
	}
	x.entries, x.accepted, x.fast, x.rejects = 0, 0, 0, nil
	x.keys = x.keys[:0] // slices of the last batch
	assets.samples = samples
	for p := 0; p < len(samples); {
		end := len(samples)
		if i := bytes.IndexByte(samples[p:], '\n'); i >= 0 {
			end = p + i
		}
		line, next := samples[p:end], min(end+1, len(samples))
		if !x.libraryOnly && len(line) > 0 && x.fastLine(ctx, line, assets) {
			x.entries++
			x.accepted++
			x.fast++
			p = next
			continue
		}
		// Without a quote the entry ends at the newline; a quoted string
		// may hold newlines, so then the library reads the rest.
		chunk := samples[p:next]
		if x.libraryOnly || bytes.IndexByte(line, '"') >= 0 {
			chunk, next = samples[p:], len(samples)
		}
		if err := x.decode(ctx, chunk, assets); err != nil {
			return x.out[:0], 0, nil, err
		}
		p = next
	}
	return x.out, x.accepted, x.rejects, nil
}

// decode re-encodes the entries of text with the library decoder. The
// error is a store failure.
func (x *reencoder) decode(ctx context.Context, text []byte, assets *assetResolver) error {
	dec := lp.NewDecoderWithBytes(text)
	for dec.Next() {
		x.entries++
		err := x.line(ctx, dec, assets)
		if err != nil {
			var se storeError
			if errors.As(err, &se) {
				return se.err
			}
			x.rejects = append(x.rejects, rejection(x.entries, err))
			continue
		}
		x.accepted++
	}
	return nil
}

// rejection describes why an entry was refused. A decoder error's own
// position counts lines from where the decoder started, which is not the
// start of the batch: only its column is kept.
func rejection(entry int, err error) string {
	var de *lp.DecodeError
	if errors.As(err, &de) {
		return fmt.Sprintf("line %d, column %d: %v", entry, de.Column, de.Err)
	}
	return fmt.Sprintf("line %d: %v", entry, err)
}

// storeError marks a store failure, which is not the line's fault.
type storeError struct{ err error }

func (e storeError) Error() string { return e.err.Error() }

// line re-encodes the decoder's current entry onto x.out; on error nothing
// of it is kept.
func (x *reencoder) line(ctx context.Context, dec *lp.Decoder, assets *assetResolver) error {
	m, err := dec.Measurement()
	if err != nil {
		return err
	}
	if !kpi.ValidName(m) {
		return fmt.Errorf("invalid measurement name %q", m)
	}
	x.tags = x.tags[:0]
	var asset []byte
	for {
		k, v, err := dec.NextTag()
		if err != nil {
			return err
		}
		if k == nil {
			break
		}
		if string(k) == wire.AssetTag {
			asset = v
			continue
		}
		ok, esc := lineproto.CheckTagValue(v)
		if err := x.addTag(k, v, ok, esc); err != nil {
			return err
		}
	}
	as, err := x.series(ctx, assets, asset)
	if err != nil {
		return err
	}
	out := x.appendSeries(x.out, m, as)
	sep := byte(' ')
	poll, up := string(m) == "agent_poll", false
	for {
		k, lpKind, v, err := dec.NextFieldBytes()
		if err != nil {
			return err
		}
		if k == nil {
			break
		}
		kind := lineproto.Kind(lpKind) // the same values (TestKindsAreTheLibrarys)
		if out, err = appendField(out, sep, k, kind, v); err != nil {
			return err
		}
		if poll && kind == lineproto.Bool && string(k) == "up" {
			up = v[0] == 't' || v[0] == 'T'
		}
		sep = ','
	}
	if sep == ' ' {
		return errors.New("no fields")
	}
	tb, err := dec.TimeBytes()
	if err != nil {
		return err
	}
	ts, err := x.checkTime(tb)
	if err != nil {
		return err
	}
	out = lineproto.AppendTimestamp(out, tb, ts)
	x.out = append(out, '\n')
	if poll {
		x.notePoll(as.ID, time.Unix(0, ts), up)
	}
	return nil
}

// fastLine re-encodes one line in the canonical form the agent writes:
//
//	measurement[,key=value…] key=value[,key=value…] timestamp
//
// with names of kpi.ValidName, tag values without escapes, quotes or
// controls, string field values without backslashes, numbers and booleans
// in the forms the library writes, single spaces and no carriage return.
// It reports false, having written nothing, for any other line and for
// any line with an error: the library then decodes the line, takes it or
// refuses it with its message. Whatever it takes, the library would take
// and re-encode alike.
func (x *reencoder) fastLine(ctx context.Context, line []byte, assets *assetResolver) bool {
	i := lineproto.Scan(line, 0, lineproto.ClassName)
	m := line[:i]
	if !lineproto.ScannedName(m) || i == len(line) {
		return false
	}
	x.tags = x.tags[:0]
	var asset []byte
	for line[i] == ',' {
		k0 := i + 1
		i = lineproto.Key(line, k0)
		if i < 0 {
			return false
		}
		k := line[k0:i]
		v0 := i + 1
		i = lineproto.Scan(line, v0, lineproto.ClassPlain)
		ok := true
		if i < len(line) && line[i] >= 0x80 {
			// Not ASCII: the rest of the value is scanned for both kinds and
			// checked as UTF-8.
			i = lineproto.Scan(line, i, lineproto.ClassPlain|lineproto.ClassHigh)
			ok = utf8.Valid(line[v0:i])
		}
		if i == len(line) || i == v0 || (line[i] != ',' && line[i] != ' ') {
			return false
		}
		v := line[v0:i]
		if string(k) == wire.AssetTag {
			if !ok {
				return false
			}
			asset = v
			continue
		}
		// addTag's checks, the name's done by key.
		if isTenantTag(k) || !ok {
			return false
		}
		x.tags = append(x.tags, agentTag{k, v, false})
	}
	if line[i] != ' ' {
		return false
	}
	i++
	as, err := x.series(ctx, assets, asset)
	if err != nil {
		return false // the library path reports it, or the store failure
	}
	out := append(x.appendSeries(x.out, m, as), ' ')
	poll, up := string(m) == "agent_poll", false
	// Fields already in canonical form (the agent's) are copied as one run
	// of text: line[from:] up to the field being read is still to copy.
	from := i
	keys := x.nextKeys[:0]
	for {
		k0 := i
		if n := len(keys); n < len(x.keys) && bytes.HasPrefix(line[k0:], x.keys[n]) &&
			k0+len(x.keys[n]) < len(line) && line[k0+len(x.keys[n])] == '=' {
			i = k0 + len(x.keys[n]) // the key of the last line, checked then
		} else if i = lineproto.Key(line, k0); i < 0 {
			return false
		}
		k := line[k0:i]
		keys = append(keys, k)
		i++
		if i == len(line) {
			return false
		}
		var kind lineproto.Kind
		var v []byte
		canonical := true
		c := line[i]
		switch {
		case c == '"':
			v0 := i + 1
			for i = v0; i < len(line) && line[i] != '"' && line[i] != '\\'; i++ {
			}
			if i == len(line) || line[i] != '"' {
				return false
			}
			kind, v = lineproto.String, line[v0:i]
			i++
			if !utf8.Valid(v) {
				return false
			}
		case c == '-' || c == '.' || lineproto.IsDigit(c):
			// Most values: a number in plain form, scanned and checked in
			// one go. Anything else (a 'u' suffix, a long exponent) is
			// scanned and checked as below.
			v0 := i
			if j, k := lineproto.PlainNumber(line, i); k != lineproto.Unknown && j < len(line) && (line[j] == ',' || line[j] == ' ') {
				i, kind, v = j, k, line[v0:j]
				if k == lineproto.Int {
					v = v[:len(v)-1]
				}
				break
			}
			i = lineproto.Scan(line, v0, lineproto.ClassPlain)
			v = line[v0:i]
			switch {
			case v[len(v)-1] == 'i':
				kind, v = lineproto.Int, v[:len(v)-1]
				canonical = lineproto.Decimal(v, kind)
			case v[len(v)-1] == 'u':
				kind, v = lineproto.Uint, v[:len(v)-1]
				canonical = false // written as an integer
			default:
				kind = lineproto.Float
				canonical = lineproto.Decimal(v, kind)
			}
		case c == 't' || c == 'f' || c == 'T' || c == 'F':
			v0 := i
			i = lineproto.Scan(line, v0, lineproto.ClassPlain)
			kind, v = lineproto.Bool, line[v0:i]
			canonical = string(v) == "true" || string(v) == "false"
		default:
			return false
		}
		if i == len(line) || (line[i] != ',' && line[i] != ' ') {
			return false
		}
		if !canonical {
			// Checked and written anew by AppendFieldValue, which refuses
			// what is invalid rather than merely not canonical.
			out = append(out, line[from:k0]...)
			out = append(append(out, k...), '=')
			if out, err = lineproto.AppendFieldValue(out, kind, v); err != nil {
				return false
			}
			from = i
		}
		if poll && kind == lineproto.Bool && string(k) == "up" {
			up = c == 't' || c == 'T'
		}
		if line[i] == ' ' {
			break
		}
		i++
	}
	out = append(out, line[from:i]...)
	tb := line[i+1:]
	var ts int64
	if len(tb) == 19 && tb[0] != '0' && lineproto.Digits19(tb) && len(x.futureDigits) == 19 && string(tb) <= string(x.futureDigits) {
		// The common timestamp (2001 to 2286), in range and canonical:
		// checked as text, parsed only when a poll needs its value.
		if poll {
			ts, _ = lineproto.UnixNanos(tb)
		}
		out = append(append(out, ' '), tb...)
	} else {
		if ts, err = x.checkTime(tb); err != nil {
			return false
		}
		out = lineproto.AppendTimestamp(out, tb, ts)
	}
	x.out = append(out, '\n')
	if poll {
		x.notePoll(as.ID, time.Unix(0, ts), up)
	}
	x.keys, x.nextKeys = keys, x.keys
	return true
}

// addTag checks one of the agent's tags (ok and esc from lineproto.CheckTagValue)
// and adds it to x.tags.
func (x *reencoder) addTag(k, v []byte, ok, esc bool) error {
	if !kpi.ValidName(k) || isTenantTag(k) {
		// The tenant tags are the server's: an agent sending them could
		// write into another tenant's series.
		return fmt.Errorf("tag key %q is not allowed", k)
	}
	if !ok {
		return fmt.Errorf("tag %s: value %q has control characters, invalid UTF-8 or a trailing backslash", k, v)
	}
	x.tags = append(x.tags, agentTag{k, v, esc})
	return nil
}

// series checks the line's tags as a whole (sorts them if the sender did
// not) and resolves its asset. A store failure is a storeError.
func (x *reencoder) series(ctx context.Context, assets *assetResolver, asset []byte) (*store.Asset, error) {
	tags := x.tags
	for i := 1; i < len(tags); i++ {
		if bytes.Compare(tags[i-1].k, tags[i].k) < 0 {
			continue
		}
		// The agent sorts its tags; anyone else may not.
		slices.SortFunc(tags, func(a, b agentTag) int { return bytes.Compare(a.k, b.k) })
		for i := 1; i < len(tags); i++ {
			if bytes.Equal(tags[i-1].k, tags[i].k) {
				return nil, fmt.Errorf("tag key %q appears twice", tags[i].k)
			}
		}
		break
	}
	if len(asset) == 0 {
		return nil, fmt.Errorf("no %s tag", wire.AssetTag)
	}
	as, err := assets.resolveBytes(ctx, asset)
	if err != nil {
		if refused(err) {
			return nil, err
		}
		return nil, storeError{err}
	}
	if as.SeriesID == "" {
		// Migration 00010 numbers every asset; a store that did not would
		// have every point refused by InfluxDB for an empty tag value.
		return nil, storeError{fmt.Errorf("asset %s has no series id", as.ID)}
	}
	return as, nil
}

// appendSeries appends the measurement and the tags, the agent's and the
// tenant's, in key order as line protocol wants.
func (x *reencoder) appendSeries(out, m []byte, as *store.Asset) []byte {
	if as.ID != x.tenantOf {
		// A series id needs no escaping.
		x.tenant = append(append(x.tenant[:0], ","+tsdb.AssetTag+"="...), as.SeriesID...)
		x.tenantOf = as.ID
	}
	out = append(out, m...) // a valid name needs no escaping
	written := false
	for _, t := range x.tags {
		if !written && tsdb.AssetTag < string(t.k) {
			out = append(out, x.tenant...)
			written = true
		}
		if len(t.v) == 0 {
			continue // line protocol has no empty tag values
		}
		out = append(out, ',')
		out = append(out, t.k...)
		out = append(out, '=')
		if t.escape {
			out = lineproto.AppendTagValue(out, t.v)
		} else {
			out = append(out, t.v...)
		}
	}
	if !written {
		out = append(out, x.tenant...)
	}
	return out
}

// appendField checks a field and appends it after sep.
func appendField(out []byte, sep byte, k []byte, kind lineproto.Kind, v []byte) ([]byte, error) {
	if !kpi.ValidName(k) {
		return out, fmt.Errorf("field key %q is not allowed", k)
	}
	return appendFieldOfName(out, sep, k, kind, v)
}

// appendFieldOfName is appendField for a key known to be a valid name.
func appendFieldOfName(out []byte, sep byte, k []byte, kind lineproto.Kind, v []byte) ([]byte, error) {
	out = append(out, sep)
	out = append(out, k...)
	out = append(out, '=')
	out, err := lineproto.AppendFieldValue(out, kind, v)
	if err != nil {
		return out, fmt.Errorf("field %s: %w", k, err)
	}
	return out, nil
}

// checkTime checks a timestamp's text and returns it in nanoseconds.
func (x *reencoder) checkTime(tb []byte) (int64, error) {
	ts, ok := lineproto.UnixNanos(tb)
	switch {
	case len(tb) == 0:
		return 0, errors.New("no timestamp (samples carry their collection time)")
	case !ok:
		return 0, fmt.Errorf("invalid timestamp %q: not nanoseconds since 1970 in 64 bits", tb)
	case ts > x.future:
		return 0, fmt.Errorf("timestamp %s is more than %s in the future", time.Unix(0, ts).UTC().Format(time.RFC3339), maxFuture)
	}
	return ts, nil
}

func isTenantTag(k []byte) bool {
	switch string(k) {
	case tsdb.AssetTag, tsdb.LegacyAssetTag, tsdb.LegacyOrgTag, tsdb.LegacyOUTag:
		return true
	}
	return false
}

func (x *reencoder) notePoll(assetID string, at time.Time, up bool) {
	collector := ""
	for _, t := range x.tags {
		if string(t.k) == "collector" {
			collector = string(t.v)
		}
	}
	if x.polls == nil {
		x.polls = map[pollKey]store.AssetPoll{}
	}
	k := pollKey{assetID, collector}
	if p, ok := x.polls[k]; !ok || at.After(p.At) {
		x.polls[k] = store.AssetPoll{AssetID: assetID, At: at, Up: up}
	}
}
