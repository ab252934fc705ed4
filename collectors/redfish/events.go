package redfish

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stmcginnis/gofish/schemas"

	"github.com/kpilot/kpilot/internal/atomicfile"
	"github.com/kpilot/kpilot/internal/kpi"
)

// maxLinkedEntries bounds the log entries read one by one from a log
// whose collection lists links only (the last ones are read).
const maxLinkedEntries = 100

// maxMessage bounds the message text of one event.
const maxMessage = 1000

// eventState remembers, per log, the newest entry already reported, so
// that only new entries become events. It is kept in the collector's data
// directory across restarts.
type eventState struct {
	Logs map[string]logCursor `json:"logs"`
}

type logCursor struct {
	Newest time.Time `json:"newest"` // Created of the newest entry reported
	IDs    []string  `json:"ids"`    // the entries created at that moment
}

// events reads the log services and returns their new entries as
// health_event samples: measurement health_event, tags log and severity,
// the entry's creation time as the sample time. Health events are
// service-partner data (see docs/redfish.md).
func (c *collector) events(f *fetcher, p *plan, now time.Time, report func(error)) []kpi.Sample {
	var mu sync.Mutex
	var out []kpi.Sample
	var wg sync.WaitGroup
	for _, lp := range p.logs {
		wg.Go(func() {
			ms, err := f.members(lp.entries)
			if err != nil {
				report(err)
			}
			var linked, inline []member
			for _, m := range ms {
				if m.body == nil {
					linked = append(linked, m)
				} else {
					inline = append(inline, m)
				}
			}
			if len(linked) > maxLinkedEntries {
				linked = linked[len(linked)-maxLinkedEntries:]
			}
			entries := readMembers[schemas.LogEntry](f, append(inline, linked...), report)
			s := c.newEntries(lp.id, entries, now)
			mu.Lock()
			out = append(out, s...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// newEntries filters entries to those after the log's cursor (or within
// events_lookback on the first read) and moves the cursor.
func (c *collector) newEntries(log string, entries []item[schemas.LogEntry], now time.Time) []kpi.Sample {
	type entry struct {
		created time.Time
		v       *schemas.LogEntry
	}
	var list []entry
	for _, e := range entries {
		t, err := time.Parse(time.RFC3339, e.v.Created)
		if err != nil {
			continue // without a time an entry cannot be placed; iLO and iDRAC always set it
		}
		list = append(list, entry{t, e.v})
	}
	slices.SortStableFunc(list, func(a, b entry) int {
		if d := a.created.Compare(b.created); d != 0 {
			return d
		}
		return strings.Compare(a.v.ID, b.v.ID)
	})

	c.mu.Lock()
	cur, known := c.evState.Logs[log]
	c.mu.Unlock()
	cutoff := now.Add(-c.cfg.EventsLookback.D())
	if known {
		cutoff = cur.Newest
	}
	var out []kpi.Sample
	used := map[string]bool{}
	next := cur
	for _, e := range list {
		switch {
		case e.created.Before(cutoff):
			continue
		case known && e.created.Equal(cur.Newest) && slices.Contains(cur.IDs, e.v.ID):
			continue
		}
		sev := string(e.v.Severity)
		if sev == "" {
			sev = "OK"
		}
		// Two entries of one log and severity created in the same second
		// would be one point in InfluxDB: move the later one by 1ns.
		ts := e.created
		for used[sev+ts.String()] {
			ts = ts.Add(time.Nanosecond)
		}
		used[sev+ts.String()] = true
		msg := strings.TrimSpace(e.v.Message)
		if len(msg) > maxMessage {
			msg = msg[:maxMessage] + "…"
		}
		fields := map[string]any{"message": msg, "entry_id": e.v.ID}
		if e.v.MessageID != "" {
			fields["message_id"] = e.v.MessageID
		}
		if code, ok := healthCode(schemas.Health(sev)); ok {
			fields["severity_code"] = code
		}
		out = append(out, kpi.Sample{Asset: c.target.Asset, Measurement: "health_event", Time: ts,
			Tags: map[string]string{"log": log, "severity": sev}, Fields: fields})
		if e.created.After(next.Newest) {
			next = logCursor{Newest: e.created}
		}
		if e.created.Equal(next.Newest) {
			next.IDs = append(next.IDs, e.v.ID)
		}
	}
	if !known && next.Newest.IsZero() {
		next.Newest = cutoff // nothing new: later entries are new
	}
	c.mu.Lock()
	c.evState.Logs[log] = next
	c.mu.Unlock()
	return out
}

// stateFile is where the event cursors of this target are kept.
func (c *collector) stateFile() string {
	if c.dataDir == "" {
		return ""
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, c.target.Asset)
	return filepath.Join(c.dataDir, "events-"+name+".json")
}

func (c *collector) loadEventState() error {
	c.evState = eventState{Logs: map[string]logCursor{}}
	p := c.stateFile()
	if p == "" {
		return nil
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &c.evState); err != nil || c.evState.Logs == nil {
		c.evState = eventState{Logs: map[string]logCursor{}}
		return fmt.Errorf("event cursors %s unreadable, starting over: %v", p, err)
	}
	return nil
}

func (c *collector) saveEventState() error {
	p := c.stateFile()
	if p == "" {
		return nil
	}
	c.mu.Lock()
	b, err := json.Marshal(c.evState)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(p, b, 0o600)
}
