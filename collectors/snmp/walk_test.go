package snmp

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/stretchr/testify/require"
)

// fakeAgent answers from an in-memory MIB. It exists for the answers real
// agents give only when broken: out-of-order OIDs, endless tables,
// truncated responses, tooBig.
type fakeAgent struct {
	oids []string // sorted
	vals map[string]gosnmp.SnmpPDU
	v1   bool

	maxVarbinds int                 // answer tooBig above this many varbinds (0: no limit)
	truncate    int                 // return at most this many varbinds (0: all)
	next        func(string) string // overrides the successor of an OID (broken agents)
	requests    int
}

func newFakeAgent(pdus ...gosnmp.SnmpPDU) *fakeAgent {
	a := &fakeAgent{vals: map[string]gosnmp.SnmpPDU{}}
	for _, p := range pdus {
		a.vals[p.Name] = p
		a.oids = append(a.oids, p.Name)
	}
	slices.SortFunc(a.oids, compareOID)
	return a
}

func intPDU(oid string, v int) gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: oid, Type: gosnmp.Integer, Value: v}
}

func (a *fakeAgent) successor(oid string) (gosnmp.SnmpPDU, bool) {
	if a.next != nil {
		if n := a.next(oid); n != "" {
			return intPDU(n, 1), true
		}
	}
	i, _ := slices.BinarySearchFunc(a.oids, oid, compareOID)
	for ; i < len(a.oids); i++ {
		if compareOID(a.oids[i], oid) > 0 {
			return a.vals[a.oids[i]], true
		}
	}
	return gosnmp.SnmpPDU{}, false
}

func (a *fakeAgent) Get(oids []string) (*gosnmp.SnmpPacket, error) {
	a.requests++
	pkt := &gosnmp.SnmpPacket{}
	for i, o := range oids {
		v, ok := a.vals[o]
		switch {
		case ok:
			pkt.Variables = append(pkt.Variables, v)
		case a.v1:
			return &gosnmp.SnmpPacket{Error: gosnmp.NoSuchName, ErrorIndex: uint8(i + 1)}, nil
		default:
			pkt.Variables = append(pkt.Variables, gosnmp.SnmpPDU{Name: o, Type: gosnmp.NoSuchObject})
		}
	}
	return pkt, nil
}

func (a *fakeAgent) GetNext(oids []string) (*gosnmp.SnmpPacket, error) {
	return a.GetBulk(oids, 0, 1)
}

func (a *fakeAgent) GetBulk(oids []string, _ uint8, reps uint32) (*gosnmp.SnmpPacket, error) {
	a.requests++
	if a.maxVarbinds > 0 && len(oids)*int(reps) > a.maxVarbinds {
		return &gosnmp.SnmpPacket{Error: gosnmp.TooBig}, nil
	}
	pkt := &gosnmp.SnmpPacket{}
	cur := slices.Clone(oids)
	for r := 0; r < int(reps); r++ {
		for i := range cur {
			v, ok := a.successor(cur[i])
			if !ok {
				if a.v1 {
					return &gosnmp.SnmpPacket{Error: gosnmp.NoSuchName, ErrorIndex: uint8(i + 1)}, nil
				}
				v = gosnmp.SnmpPDU{Name: cur[i], Type: gosnmp.EndOfMibView}
			}
			pkt.Variables = append(pkt.Variables, v)
			cur[i] = v.Name
		}
	}
	if a.truncate > 0 && len(pkt.Variables) > a.truncate {
		pkt.Variables = pkt.Variables[:a.truncate]
	}
	return pkt, nil
}

// table builds columns .1.3.6.1.9.1.C.R with value C*100+R.
func table(cols, rows int) []gosnmp.SnmpPDU {
	var out []gosnmp.SnmpPDU
	for c := 1; c <= cols; c++ {
		for r := 1; r <= rows; r++ {
			out = append(out, intPDU(fmt.Sprintf(".1.3.6.1.9.1.%d.%d", c, r), c*100+r))
		}
	}
	return append(out, intPDU(".1.3.6.1.9.2.0", 7)) // something after the table
}

func walkAll(t *testing.T, s *session, cols []string) (map[string]int, error) {
	t.Helper()
	got := map[string]int{}
	err := s.walk(cols, func(c int, idx string, v gosnmp.SnmpPDU, _ time.Time) {
		key := cols[c] + "." + idx
		_, dup := got[key]
		require.False(t, dup, "%s emitted twice", key)
		got[key] = v.Value.(int)
	})
	return got, err
}

func newSession(r requester, bulk bool) *session {
	return &session{r: r, bulk: bulk, maxRep: 10, maxRows: defaultMaxRows, now: time.Now}
}

func TestWalkColumnsSideBySide(t *testing.T) {
	cols := []string{".1.3.6.1.9.1.1", ".1.3.6.1.9.1.3", ".1.3.6.1.9.1.4"}
	for _, tt := range []struct {
		name  string
		agent func() *fakeAgent
		bulk  bool
	}{
		{"bulk", func() *fakeAgent { return newFakeAgent(table(4, 37)...) }, true},
		{"getnext", func() *fakeAgent { return newFakeAgent(table(4, 37)...) }, false},
		{"v1 getnext to the end of the MIB", func() *fakeAgent {
			a := newFakeAgent(table(4, 37)[:4*37]...) // nothing after the table
			a.v1 = true
			return a
		}, false},
		{"truncated answers", func() *fakeAgent { a := newFakeAgent(table(4, 37)...); a.truncate = 7; return a }, true},
		{"tooBig halves repetitions", func() *fakeAgent { a := newFakeAgent(table(4, 37)...); a.maxVarbinds = 8; return a }, true},
		{"tooBig even for one row walks columns alone", func() *fakeAgent { a := newFakeAgent(table(4, 37)...); a.maxVarbinds = 2; return a }, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.agent()
			got, err := walkAll(t, newSession(a, tt.bulk), cols)
			require.NoError(t, err)
			require.Len(t, got, 3*37)
			require.Equal(t, 301, got[".1.3.6.1.9.1.3.1"])
			require.Equal(t, 437, got[".1.3.6.1.9.1.4.37"])
		})
	}
	// Side by side means few requests: 3 columns x 37 rows in 4 GetBulks of 10 rows each.
	a := newFakeAgent(table(4, 37)...)
	_, err := walkAll(t, newSession(a, true), cols)
	require.NoError(t, err)
	require.Equal(t, 4, a.requests)
}

func TestWalkOutOfOrderAgentStopsTheColumn(t *testing.T) {
	a := newFakeAgent(table(2, 5)...)
	// After row 3 of column 1 the agent goes back to row 1: a naive walker loops forever.
	a.next = func(oid string) string {
		if oid == ".1.3.6.1.9.1.1.3" {
			return ".1.3.6.1.9.1.1.1"
		}
		return ""
	}
	got, err := walkAll(t, newSession(a, true), []string{".1.3.6.1.9.1.1", ".1.3.6.1.9.1.2"})
	require.ErrorContains(t, err, "out of order")
	require.ErrorContains(t, err, ".1.3.6.1.9.1.1")
	require.Len(t, got, 3+5, "column 1 up to the fault, column 2 whole")
}

func TestWalkEndlessTableIsCutOff(t *testing.T) {
	a := newFakeAgent(table(1, 2)...)
	a.next = func(oid string) string { // always one more row
		var r int
		if _, err := fmt.Sscanf(strings.TrimPrefix(oid, ".1.3.6.1.9.1.1."), "%d", &r); err == nil {
			return fmt.Sprintf(".1.3.6.1.9.1.1.%d", r+1)
		}
		return ""
	}
	s := newSession(a, true)
	s.maxRows = 500
	got, err := walkAll(t, s, []string{".1.3.6.1.9.1.1"})
	require.ErrorContains(t, err, "more than 500 rows")
	require.Len(t, got, 500)
}

func TestWalkEmptyAnswerDoesNotHang(t *testing.T) {
	s := newSession(emptyAgent{}, true)
	_, err := walkAll(t, s, []string{".1.3.6.1.9.1.1"})
	require.ErrorContains(t, err, "no values")
}

type emptyAgent struct{}

func (emptyAgent) Get([]string) (*gosnmp.SnmpPacket, error)     { return &gosnmp.SnmpPacket{}, nil }
func (emptyAgent) GetNext([]string) (*gosnmp.SnmpPacket, error) { return &gosnmp.SnmpPacket{}, nil }
func (emptyAgent) GetBulk([]string, uint8, uint32) (*gosnmp.SnmpPacket, error) {
	return &gosnmp.SnmpPacket{}, nil
}

func TestGetV1DropsMissingOIDs(t *testing.T) {
	a := newFakeAgent(intPDU(".1.3.6.1.2.1.1.3.0", 5), intPDU(".1.3.6.1.2.1.1.7.0", 72))
	a.v1 = true
	s := newSession(a, false)
	got := map[string]int{}
	err := s.get([]string{".1.3.6.1.2.1.1.3.0", ".1.3.6.1.2.1.1.99.0", ".1.3.6.1.2.1.1.7.0"}, func(v gosnmp.SnmpPDU, _ time.Time) {
		got[v.Name] = v.Value.(int)
	})
	require.NoError(t, err)
	require.Equal(t, map[string]int{".1.3.6.1.2.1.1.3.0": 5, ".1.3.6.1.2.1.1.7.0": 72}, got)
}

func TestCompareOID(t *testing.T) {
	require.Negative(t, compareOID(".1.3.6.1.2", ".1.3.6.1.10"), "numeric, not lexical")
	require.Negative(t, compareOID(".1.3.6", ".1.3.6.0"), "prefix first")
	require.Zero(t, compareOID("1.3.6", ".1.3.6"))
	require.Positive(t, compareOID(".1.3.7", ".1.3.6.9.9"))
}

// FuzzCompareOID checks the fast comparison against a part-by-part one.
func FuzzCompareOID(f *testing.F) {
	f.Add(uint64(1), uint64(3), uint64(10), uint8(3), uint8(2))
	f.Fuzz(func(t *testing.T, x, y, z uint64, la, lb uint8) {
		parts := []uint64{x % 1000, y % 1000, z % 100000, (x ^ y) % 7, z % 3}
		mk := func(l uint8, salt uint64) string {
			var b strings.Builder
			for i := 0; i < int(l%6); i++ {
				fmt.Fprintf(&b, ".%d", (parts[i]+salt*uint64(i))%1000)
			}
			return b.String()
		}
		a, b := mk(la, 0), mk(lb, y%2)
		if a == "" || b == "" {
			return
		}
		if got, want := compareOID(a, b), slowCompareOID(a, b); got != want {
			t.Fatalf("compareOID(%s, %s) = %d, want %d", a, b, got, want)
		}
	})
}

func slowCompareOID(a, b string) int {
	pa := strings.Split(strings.TrimPrefix(a, "."), ".")
	pb := strings.Split(strings.TrimPrefix(b, "."), ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		var x, y int
		fmt.Sscan(pa[i], &x)
		fmt.Sscan(pb[i], &y)
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(pa) < len(pb):
		return -1
	case len(pa) > len(pb):
		return 1
	}
	return 0
}
