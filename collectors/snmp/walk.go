package snmp

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"
)

// requester is the narrow seam over one gosnmp session: the three PDU types
// the collector sends. Tests use gosnmp against real agents; a fake is only
// for answers no real agent gives on demand (out-of-order OIDs, truncated
// or endless tables).
type requester interface {
	Get(oids []string) (*gosnmp.SnmpPacket, error)
	GetNext(oids []string) (*gosnmp.SnmpPacket, error)
	GetBulk(oids []string, nonRepeaters uint8, maxRepetitions uint32) (*gosnmp.SnmpPacket, error)
}

// Limits of one request. Responses larger than the agent can send come
// back as tooBig and are retried smaller.
const (
	maxGetOIDs      = 60  // varbinds per GET
	maxWalkColumns  = 24  // columns walked side by side in one GetBulk/GetNext
	maxBulkVarbinds = 480 // varbinds asked for in one GetBulk (columns x repetitions)
	defaultMaxRows  = 1e5 // rows of one column before the walk is cut off
	maxRequests     = 1e5 // requests of one walk, whatever happens
)

// session reads scalars and walks table columns over a requester.
type session struct {
	r       requester
	bulk    bool   // GetBulk (v2c, v3) rather than GetNext
	v1      bool   // v1 error semantics: a missing OID fails the whole PDU
	maxRep  uint32 // GetBulk repetitions
	maxRows int
	now     func() time.Time
	reqs    int // requests sent, for metrics and tests
	values  int // values received
}

// get reads oids, maxGetOIDs per request. OIDs the agent does not have are
// left out of the result (v2: noSuchObject/noSuchInstance; v1: the
// noSuchName error, after which the request is repeated without the OID).
func (s *session) get(oids []string, emit func(gosnmp.SnmpPDU, time.Time)) error {
	chunk := maxGetOIDs
	for len(oids) > 0 {
		n := min(chunk, len(oids))
		part := oids[:n]
		pkt, err := s.r.Get(part)
		s.reqs++
		if err != nil {
			return err
		}
		switch {
		case pkt.Error == gosnmp.TooBig && n > 1:
			chunk = max(1, n/2)
			continue
		case pkt.Error == gosnmp.NoSuchName && pkt.ErrorIndex >= 1 && int(pkt.ErrorIndex) <= n:
			// v1: drop the OID the agent does not have and ask again.
			i := int(pkt.ErrorIndex) - 1
			oids = slices.Delete(slices.Clone(oids), i, i+1)
			continue
		case pkt.Error != gosnmp.NoError:
			return fmt.Errorf("agent answered %s to a GET of %d OIDs starting with %s", pkt.Error, n, part[0])
		}
		at := s.now()
		for _, v := range pkt.Variables {
			if !isMissing(v) {
				s.values++
				emit(v, at)
			}
		}
		oids = oids[n:]
	}
	return nil
}

// probe reports which of the given subtrees hold at least one value, with
// one GetNext of all of them (maxGetOIDs per request). Auto selection uses
// it: a table is there when its entry has a first row.
func (s *session) probe(prefixes []string) (map[string]bool, error) {
	found := map[string]bool{}
	for len(prefixes) > 0 {
		n := min(maxGetOIDs, len(prefixes))
		part := prefixes[:n]
		pkt, err := s.r.GetNext(part)
		s.reqs++
		if err != nil {
			return nil, err
		}
		switch {
		case pkt.Error == gosnmp.NoSuchName && pkt.ErrorIndex >= 1 && int(pkt.ErrorIndex) <= n:
			// v1 at the end of the MIB view: that subtree is empty.
			i := int(pkt.ErrorIndex) - 1
			prefixes = slices.Delete(slices.Clone(prefixes), i, i+1)
			continue
		case pkt.Error != gosnmp.NoError:
			return nil, fmt.Errorf("agent answered %s to a GetNext of %d OIDs starting with %s", pkt.Error, n, part[0])
		}
		for i, v := range pkt.Variables {
			if i < n && !isMissing(v) && strings.HasPrefix(v.Name, part[i]+".") {
				found[part[i]] = true
			}
		}
		prefixes = prefixes[n:]
	}
	return found, nil
}

// walk reads every row of the given table columns (OIDs without the row
// index), several columns side by side in each request, like net-snmp's
// snmptable. emit gets the column's position in cols, the row index (the
// OID suffix after the column) and the value. The walk stops per column at
// the end of its subtree, at endOfMibView, or, with an error naming the
// column, when the agent answers out of order or the table exceeds maxRows;
// it never loops forever on a broken agent.
func (s *session) walk(cols []string, emit func(col int, index string, v gosnmp.SnmpPDU, at time.Time)) error {
	var errs []error
	for start := 0; start < len(cols); start += maxWalkColumns {
		end := min(start+maxWalkColumns, len(cols))
		err := s.walkSome(cols[start:end], func(c int, idx string, v gosnmp.SnmpPDU, at time.Time) {
			emit(start+c, idx, v, at)
		})
		if err != nil {
			if isFatal(err) {
				return err
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// columnError is a problem with one column; the rest of the walk goes on.
type columnError struct{ msg string }

func (e *columnError) Error() string { return e.msg }

func isFatal(err error) bool {
	var ce *columnError
	return !errors.As(err, &ce)
}

func (s *session) walkSome(cols []string, emit func(col int, index string, v gosnmp.SnmpPDU, at time.Time)) error {
	next := slices.Clone(cols) // last OID seen per column
	rows := make([]int, len(cols))
	active := make([]int, len(cols))
	for i := range active {
		active[i] = i
	}
	reps := s.maxRep
	var errs []error
	for requests := 0; len(active) > 0; requests++ {
		if requests >= maxRequests {
			return fmt.Errorf("walking %s: gave up after %d requests", cols[active[0]], requests)
		}
		oids := make([]string, len(active))
		for i, c := range active {
			oids[i] = next[c]
		}
		var pkt *gosnmp.SnmpPacket
		var err error
		r := uint32(1)
		if s.bulk {
			r = max(1, min(reps, uint32(maxBulkVarbinds/len(active))))
			pkt, err = s.r.GetBulk(oids, 0, r)
		} else {
			pkt, err = s.r.GetNext(oids)
		}
		s.reqs++
		if err != nil {
			return fmt.Errorf("walking %s: %w", cols[active[0]], err)
		}
		switch {
		case pkt.Error == gosnmp.TooBig && s.bulk && r > 1:
			reps = r / 2
			continue
		case pkt.Error == gosnmp.TooBig && len(active) > 1:
			// Even one row of every column is too big: walk them one by one.
			var errs2 []error
			for _, c := range active {
				sub := &session{r: s.r, bulk: s.bulk, v1: s.v1, maxRep: 1, maxRows: s.maxRows - rows[c], now: s.now}
				err := sub.walkSome([]string{next[c]}, func(_ int, _ string, v gosnmp.SnmpPDU, at time.Time) {
					if idx, ok := strings.CutPrefix(v.Name, cols[c]+"."); ok {
						emit(c, idx, v, at)
					}
				})
				s.reqs += sub.reqs
				s.values += sub.values
				if err != nil {
					errs2 = append(errs2, err)
				}
			}
			return errors.Join(append(errs, errs2...)...)
		case pkt.Error == gosnmp.NoSuchName && pkt.ErrorIndex >= 1 && int(pkt.ErrorIndex) <= len(active):
			// v1 GetNext past the end of the agent's MIB view.
			active = slices.Delete(active, int(pkt.ErrorIndex)-1, int(pkt.ErrorIndex))
			continue
		case pkt.Error != gosnmp.NoError:
			return fmt.Errorf("walking %s: agent answered %s", cols[active[0]], pkt.Error)
		}
		if len(pkt.Variables) == 0 {
			return fmt.Errorf("walking %s: agent answered with no values", cols[active[0]])
		}
		at := s.now()
		done := make([]bool, len(active))
		progressed := false
		for i, v := range pkt.Variables {
			// Varbinds come back row by row: the i-th belongs to the
			// (i mod n)-th column asked for. A truncated answer simply ends
			// early; the next request continues where it stopped.
			k := i % len(active)
			if done[k] {
				continue
			}
			c := active[k]
			if v.Type == gosnmp.EndOfMibView || v.Type == gosnmp.NoSuchObject || v.Type == gosnmp.NoSuchInstance {
				done[k] = true
				continue
			}
			idx, ok := strings.CutPrefix(v.Name, cols[c]+".")
			if !ok || idx == "" {
				done[k] = true // left the column
				continue
			}
			if compareOID(v.Name, next[c]) <= 0 {
				errs = append(errs, &columnError{fmt.Sprintf("walking %s: agent returned %s after %s (OIDs out of order); column cut off",
					cols[c], v.Name, next[c])})
				done[k] = true
				continue
			}
			if rows[c] >= s.maxRows {
				errs = append(errs, &columnError{fmt.Sprintf("walking %s: more than %d rows; column cut off", cols[c], s.maxRows)})
				done[k] = true
				continue
			}
			rows[c]++
			next[c] = v.Name
			progressed = true
			s.values++
			emit(c, idx, v, at)
		}
		still := active[:0]
		for k, c := range active {
			if !done[k] {
				still = append(still, c)
			}
		}
		if !progressed && len(still) == len(active) {
			return fmt.Errorf("walking %s: the agent's answer does not advance the walk", cols[active[0]])
		}
		active = still
	}
	return errors.Join(errs...)
}

// compareOID orders dotted numeric OIDs as SNMP does: part by part,
// numerically, a prefix before its extensions. It runs for every value
// walked, so it finds the first differing byte and compares only the part
// that holds it (OIDs have no leading zeros: a longer part is larger).
func compareOID(a, b string) int {
	a, b = strings.TrimPrefix(a, "."), strings.TrimPrefix(b, ".")
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	if i == len(a) || i == len(b) {
		if len(a) == len(b) {
			return 0
		}
		// One is a prefix of the other by bytes, and the shorter one is
		// smaller either way: "1.3" < "1.3.6" and "1.3" < "1.30".
		if i == len(a) {
			return -1
		}
		return 1
	}
	start := strings.LastIndexByte(a[:i], '.') + 1
	ea, eb := partEnd(a, start), partEnd(b, start)
	if ea-start != eb-start {
		return cmp.Compare(ea-start, eb-start)
	}
	return cmp.Compare(a[i], b[i])
}

// partEnd is the index of the '.' ending the part that starts at i, or len(s).
func partEnd(s string, i int) int {
	if j := strings.IndexByte(s[i:], '.'); j >= 0 {
		return i + j
	}
	return len(s)
}
