// Package kpis keeps each organization's KPI catalog: the built-in
// definitions (package catalog) overlaid with those the organization's
// agents sent from their users' own SNMP profiles and REST templates. An
// agent's definitions are validated like every agent input, bounded, and
// replace what that agent sent before; they add meanings, never change a
// built-in one, and are read by their own organization only.
package kpis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/store"
)

// MaxBody bounds the JSON an agent sends: catalog.MaxDefinitions
// definitions of a few hundred bytes each, with room for long texts.
const MaxBody = 4 << 20

// maxErrors is how many problems a refused set's answer lists.
const maxErrors = 20

// Options tune a Service. Zero values take defaults.
type Options struct {
	// TTL is how long an organization's catalog is kept in memory (30 s):
	// another replica's agent's new definitions show after at most that.
	TTL time.Duration
	Now func() time.Time
	Log *slog.Logger
}

// Service stores agents' definitions and answers organizations'
// catalogs.
type Service struct {
	store   store.KPIDefinitions
	builtin *catalog.Catalog
	ttl     time.Duration
	now     func() time.Time
	log     *slog.Logger

	mu    sync.Mutex
	cache map[string]cached // by organization id
}

type cached struct {
	c       *catalog.Catalog
	expires time.Time
}

// maxCached bounds the cache; past it, expired entries are dropped, and
// if none has expired, all.
const maxCached = 10000

// New returns a Service over st; builtin is the built-in catalog, nil
// for catalog.Builtin() (the server's wiring loads it and refuses to
// start on an error; here an error is logged and leaves it empty).
func New(st store.KPIDefinitions, builtin *catalog.Catalog, o Options) *Service {
	s := &Service{store: st, builtin: builtin, ttl: o.TTL, now: o.Now, log: o.Log, cache: map[string]cached{}}
	if s.ttl == 0 {
		s.ttl = 30 * time.Second
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.builtin == nil {
		var err error
		if s.builtin, err = catalog.Builtin(); err != nil {
			s.log.Error("built-in KPI catalog", "err", err)
			s.builtin, _ = catalog.New(catalog.User) // empty: nothing to refuse
		}
	}
	return s
}

// Builtin returns the built-in catalog.
func (s *Service) Builtin() *catalog.Catalog { return s.builtin }

// Result is what Put stored.
type Result struct {
	// Definitions is how many field definitions the agent's set holds.
	Definitions int `json:"definitions"`
	// BuiltIn lists those of them ("measurement.field") the built-in
	// catalog defines already: the built-in meaning stays in force.
	BuiltIn []string `json:"built_in,omitempty"`
}

// Put replaces the definitions agent ag sent before with those in body:
// the JSON of a catalog.Section. A set that does not validate (as a
// user's profile must: catalog.User), is larger than MaxBody, or would
// take the organization past catalog.MaxDefinitions is refused whole
// (problem.Invalid) and changes nothing. An empty set removes the agent's
// definitions. Keys this server does not know are ignored, so that a
// newer agent's additions do not refuse its whole set.
func (s *Service) Put(ctx context.Context, ag store.Agent, body io.Reader) (Result, error) {
	data, err := io.ReadAll(io.LimitReader(body, MaxBody+1))
	if err != nil {
		return Result{}, &problem.Error{Kind: problem.Invalid, Msg: "reading the KPI definitions", Err: err}
	}
	if len(data) > MaxBody {
		return Result{}, problem.Invalidf("KPI definitions: larger than %d bytes", MaxBody)
	}
	var sec catalog.Section
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&sec); err != nil {
		return Result{}, problem.Invalidf("KPI definitions: not a JSON list of measurements: %v", err)
	}
	if dec.More() {
		return Result{}, problem.Invalidf("KPI definitions: data after the list")
	}
	c, err := catalog.New(catalog.User, sec)
	if err != nil {
		return Result{}, problem.Invalidf("KPI definitions refused: %s", firstLines(err.Error(), maxErrors))
	}
	rows, res, err := s.rows(c)
	if err != nil {
		return Result{}, err
	}
	err = s.store.ReplaceAgentKPIDefinitions(ctx, ag.OrgID, ag.ID, rows, s.now(), catalog.MaxDefinitions)
	if errors.Is(err, store.ErrInvalid) {
		return Result{}, problem.Invalidf("KPI definitions refused: the organization's agents would define more than %d KPIs together", catalog.MaxDefinitions)
	}
	if err != nil {
		return Result{}, fmt.Errorf("storing the KPI definitions of agent %s: %w", ag.ID, err)
	}
	s.forget(ag.OrgID)
	return res, nil
}

// rows turns a validated catalog into store rows: one per measurement
// (its name and description) and one per field.
func (s *Service) rows(c *catalog.Catalog) ([]store.KPIDefinition, Result, error) {
	var rows []store.KPIDefinition
	var res Result
	for _, m := range c.Measurements() {
		b, err := json.Marshal(catalog.Measurement{Name: m.Name, Description: m.Description})
		if err != nil {
			return nil, res, fmt.Errorf("encoding measurement %s: %w", m.Measurement, err)
		}
		rows = append(rows, store.KPIDefinition{Measurement: m.Measurement, Definition: b})
	}
	for _, d := range c.Definitions() {
		b, err := json.Marshal(d)
		if err != nil {
			return nil, res, fmt.Errorf("encoding %s.%s: %w", d.Measurement, d.Field, err)
		}
		rows = append(rows, store.KPIDefinition{Measurement: d.Measurement, Field: d.Field, Definition: b})
		res.Definitions++
		if _, ok := s.builtin.Lookup(d.Measurement, d.Field); ok {
			res.BuiltIn = append(res.BuiltIn, d.Measurement+"."+d.Field)
		}
	}
	return rows, res, nil
}

func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], fmt.Sprintf("(and %d more)", len(lines)-n))
	}
	return strings.Join(lines, "; ")
}

// For returns orgID's catalog: the built-in one overlaid with what the
// organization's agents sent (where two agents define a field, the newer
// definition). It is kept for the TTL; a Put on this replica renews it at
// once.
func (s *Service) For(ctx context.Context, orgID string) (*catalog.Catalog, error) {
	now := s.now()
	s.mu.Lock()
	e, ok := s.cache[orgID]
	s.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.c, nil
	}
	rows, err := s.store.KPIDefinitions(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("reading the KPI definitions of organization %s: %w", orgID, err)
	}
	c := s.builtin
	if len(rows) > 0 {
		c = s.builtin.Overlay(s.build(orgID, rows))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cache) >= maxCached {
		maps.DeleteFunc(s.cache, func(_ string, e cached) bool { return !now.Before(e.expires) })
		if len(s.cache) >= maxCached {
			clear(s.cache)
		}
	}
	s.cache[orgID] = cached{c: c, expires: now.Add(s.ttl)}
	return c, nil
}

func (s *Service) forget(orgID string) {
	s.mu.Lock()
	delete(s.cache, orgID)
	s.mu.Unlock()
}

// build makes a catalog of an organization's stored rows (sorted by
// measurement and field, newest first): the first row of each
// measurement and field counts. Rows were valid when stored; one that is
// not now (stored by another version) drops its measurement, with a
// warning, rather than the organization's whole set.
func (s *Service) build(orgID string, rows []store.KPIDefinition) *catalog.Catalog {
	byM := map[string]*catalog.Measurement{}
	seen := map[[2]string]bool{}
	fields := 0
	for _, r := range rows {
		k := [2]string{r.Measurement, r.Field}
		if seen[k] {
			continue
		}
		seen[k] = true
		m := byM[r.Measurement]
		if m == nil {
			m = &catalog.Measurement{Measurement: r.Measurement, Fields: map[string]*catalog.Definition{}}
			byM[r.Measurement] = m
		}
		if r.Field == "" {
			var head catalog.Measurement
			if err := json.Unmarshal(r.Definition, &head); err != nil {
				s.log.Warn("stored KPI definition unreadable", "org", orgID, "measurement", r.Measurement, "err", err)
				continue
			}
			m.Name, m.Description = head.Name, head.Description
			continue
		}
		if fields >= catalog.MaxDefinitions {
			continue // racing agents passed the store's bound; New would refuse all
		}
		var d catalog.Definition
		if err := json.Unmarshal(r.Definition, &d); err != nil {
			s.log.Warn("stored KPI definition unreadable", "org", orgID, "measurement", r.Measurement, "field", r.Field, "err", err)
			continue
		}
		m.Fields[r.Field] = &d
		fields++
	}
	var sec catalog.Section
	for _, name := range slices.Sorted(maps.Keys(byM)) {
		sec = append(sec, *byM[name])
	}
	c, err := catalog.New(catalog.User, sec)
	if err == nil {
		return c
	}
	s.log.Warn("stored KPI definitions invalid; skipping the measurements concerned", "org", orgID, "err", err)
	var good catalog.Section
	for _, m := range sec {
		if _, err := catalog.New(catalog.User, catalog.Section{m}); err == nil {
			good = append(good, m)
		}
	}
	c, _ = catalog.New(catalog.User, good)
	return c
}
