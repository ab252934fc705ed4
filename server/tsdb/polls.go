package tsdb

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/kpilot/kpilot/server/store"
)

// PollStatus is the outcome of an asset's latest poll, from its newest
// agent_poll point: what the portal shows beside the asset's status, and
// why a device is "down" or not monitored.
type PollStatus struct {
	// Outcome is ok, partial, unreachable, credentials_rejected or
	// protocol_error (the agent_poll outcome field, docs/agent.md), or
	// failed for a failed poll of an agent older than that field.
	Outcome   string    `json:"outcome"`
	Message   string    `json:"message"` // why, naming the likely cause; empty when ok
	At        time.Time `json:"at"`
	Collector string    `json:"collector"`
}

// pollOutcomes names the values of agent_poll's outcome field, as the
// agent's collectors.Outcome does (the server does not import the
// agent's packages).
var pollOutcomes = []string{"ok", "partial", "unreachable", "credentials_rejected", "protocol_error"}

// OutcomeFailed is the outcome of a failed poll (up false) from an agent
// that sends no outcome field: any failure, unclassified.
const OutcomeFailed = "failed"

// pollRank orders outcomes by how much they say about the asset: of the
// latest polls of its collectors, the one that is most wrong is shown.
var pollRank = map[string]int{"ok": 0, "partial": 1, "protocol_error": 2, "credentials_rejected": 3, OutcomeFailed: 4, "unreachable": 5}

// LatestPolls returns, per asset id, the outcome of the latest poll of
// each asset within lookback. An asset polled by several collectors gets
// the worst of their latest polls (the newest among equals): a BMC whose
// password expired is shown although its SNMP agent answers. Assets
// without a poll in lookback are absent, and so are refs with an invalid
// series id (it cannot have points; it must not go into a query).
func (i *Influx) LatestPolls(ctx context.Context, refs []AssetRef, lookback time.Duration) (map[string]*PollStatus, error) {
	ids := map[string]string{}
	var valid []AssetRef
	for _, r := range refs {
		if r.Validate() == nil {
			ids[r.Series] = r.ID
			valid = append(valid, r)
		}
	}
	var texts []string
	for c := range slices.Chunk(valid, latestChunk) {
		texts = append(texts, pollsStatement(c, int64(lookback/time.Second)))
	}
	out := map[string]*PollStatus{}
	err := i.concurrently(ctx, fmt.Sprintf("latest polls of %d assets", len(refs)), texts, func(_ int, qs []QLSeries) {
		for _, q := range qs {
			id, ok := ids[q.Tags[AssetTag]]
			if !ok || len(q.Values) == 0 {
				continue
			}
			p, ok := pollStatus(q.Columns, q.Values[0], q.Tags["collector"])
			if !ok {
				continue
			}
			if old, seen := out[id]; seen && (pollRank[old.Outcome] > pollRank[p.Outcome] ||
				pollRank[old.Outcome] == pollRank[p.Outcome] && old.At.After(p.At)) {
				continue
			}
			out[id] = &p
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Refs returns the AssetRefs of assets.
func Refs(assets ...store.Asset) []AssetRef {
	refs := make([]AssetRef, len(assets))
	for k, a := range assets {
		refs[k] = Ref(a)
	}
	return refs
}

// pollsStatement reads the newest agent_poll row of every asset and
// collector of refs within the last secs seconds.
func pollsStatement(refs []AssetRef, secs int64) string {
	return fmt.Sprintf(`SELECT "up"::field, "outcome"::field, "message"::field FROM "agent_poll" WHERE %s AND time >= now() - %ds AND time <= now() GROUP BY %s, "collector" ORDER BY time DESC LIMIT 1`,
		assetFilter(refs), secs, quoteIdent(AssetTag))
}

// pollStatus reads one agent_poll row. A row without an outcome field
// (an older agent) is ok when up and failed when not.
func pollStatus(cols []string, row []any, collector string) (PollStatus, bool) {
	value := func(name string) any {
		if k := slices.Index(cols, name); k >= 0 && k < len(row) {
			return row[k]
		}
		return nil
	}
	at, _ := value("time").(time.Time)
	p := PollStatus{At: at, Collector: collector}
	p.Message, _ = value("message").(string)
	switch o := value("outcome").(type) {
	case int64:
		if o < 0 || int(o) >= len(pollOutcomes) {
			return p, false
		}
		p.Outcome = pollOutcomes[o]
	case float64: // written as a float by a client other than the agent
		if o < 0 || int(o) >= len(pollOutcomes) || o != float64(int(o)) {
			return p, false
		}
		p.Outcome = pollOutcomes[int(o)]
	default:
		up, ok := value("up").(bool)
		if !ok {
			return p, false
		}
		p.Outcome = "ok"
		if !up {
			p.Outcome = OutcomeFailed
		}
	}
	return p, true
}
