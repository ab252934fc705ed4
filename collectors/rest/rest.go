// Package rest collects KPIs and inventory from software and appliances
// that speak a JSON REST API (backup servers, storage arrays,
// hypervisors), configured by YAML alone: a template under configs/rest
// describes one product's API (login, requests, pagination, and gjson
// paths to fields, tags and inventory), and an agent config entry names
// the template and gives the address and credentials. See docs/rest.md.
package rest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/internal/kpi"
)

func init() { collectors.Register("rest", newConfig) }

type collector struct {
	cfg    *Config
	target collectors.Target
	api    *api
	log    *slog.Logger
	now    func() time.Time

	lastRun    map[string]time.Time // per request with every
	attributes map[string]any       // the inventory gathered so far
	components map[string][]map[string]any
	requests   int // of the last Collect, for Stats
	values     int
}

var _ collectors.Collector = (*collector)(nil)

// New implements collectors.Config. It does not contact the API.
func (c *Config) New(t collectors.Target, o collectors.Options) (collectors.Collector, error) {
	if c.tls == nil {
		if err := c.Validate(); err != nil {
			return nil, err
		}
	}
	base, err := baseURL(t.Address)
	if err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &collector{cfg: c, target: t, api: newAPI(c, base), log: log, now: time.Now,
		lastRun: map[string]time.Time{}, attributes: map[string]any{}, components: map[string][]map[string]any{}}, nil
}

// Close ends the API session (when the template says how).
func (c *collector) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.RequestTimeout.D())
	defer cancel()
	return c.api.logout(ctx)
}

// Stats reports the HTTP requests and values of the last Collect.
func (c *collector) Stats() (requests, values int) { return c.requests, c.values }

// Collect implements collectors.Collector: every due request runs in
// turn; a failed request is a partial error and the others still run.
// The poll fails as a whole when nothing could be read, with a
// collectors.OutcomeError that names the likely cause.
func (c *collector) Collect(ctx context.Context, s collectors.Sink) error {
	start, answers := time.Now(), c.api.answers.Load()
	err := c.collect(ctx, s)
	peer := collectors.Peer{Addr: collectors.HTTPAddr(c.api.base)}
	return peer.Explain(err, collectors.Waited(ctx, start), c.api.answers.Load() > answers)
}

func (c *collector) collect(ctx context.Context, s collectors.Sink) error {
	now := c.now()
	c.api.mu.Lock()
	c.api.requests = 0
	c.api.mu.Unlock()
	c.values = 0
	var failed []error
	ran, invChanged := 0, false
	for i := range c.cfg.def.Requests {
		r := &c.cfg.def.Requests[i]
		if last, ok := c.lastRun[r.Name]; ok && r.Every.D() > 0 && now.Sub(last) < r.Every.D() {
			continue
		}
		ran++
		pages, err := c.fetch(ctx, r)
		if err != nil {
			err = fmt.Errorf("request %s: %w", r.Name, err)
			if len(pages) == 0 {
				failed = append(failed, err)
				if ctx.Err() != nil || isAuthError(err) {
					break // the rest would fail the same way
				}
				continue
			}
			s.Error(err) // partial pages: use what came
		}
		c.lastRun[r.Name] = now
		if c.apply(r, pages, now, s) {
			invChanged = true
		}
	}
	c.api.mu.Lock()
	c.requests = c.api.requests
	c.api.mu.Unlock()
	c.log.Debug("rest poll", "requests", c.requests, "values", c.values, "failed_requests", len(failed))
	if ran > 0 && len(failed) == ran {
		return errors.Join(failed...)
	}
	for _, err := range failed {
		s.Error(err)
	}
	if invChanged {
		s.Inventory(c.inventory(now))
	}
	return nil
}

// isAuthError reports a failed login or token request: every other
// request of the poll would fail the same way.
func isAuthError(err error) bool {
	var le *loginError
	return errors.As(err, &le)
}

// page is one parsed answer.
type page []byte

// fetch runs one request with all its pages. On an error it returns the
// pages read before it.
func (c *collector) fetch(ctx context.Context, r *Request) ([]page, error) {
	q := url.Values{}
	for k, v := range r.Query {
		q.Set(k, v)
	}
	base := call{method: r.Method, path: r.Path, query: q, headers: r.Headers}
	if r.Body != "" {
		base.body, base.ctype = []byte(r.Body), "application/json"
	}
	p := r.Paginate
	if p == nil {
		body, _, err := c.api.do(ctx, base)
		if err != nil {
			return nil, err
		}
		return []page{body}, nil
	}
	var pages []page
	seen := map[string]bool{}
	if (p.Type == "cursor" || p.Type == "next_link") && p.SizeParam != "" {
		base = withSize(base, p)
	}
	next := base
	rows := 0
	for n := 0; ; n++ {
		if n == c.cfg.MaxPages {
			return pages, fmt.Errorf("pagination did not end after max_pages (%d) pages; the rows read so far are kept", c.cfg.MaxPages)
		}
		cur := next
		switch p.Type {
		case "page":
			cur = withParams(base, p, strconv.Itoa(p.Start+n))
		case "offset":
			cur = withParams(base, p, strconv.Itoa(rows))
		}
		body, hdr, err := c.api.do(ctx, cur)
		if err != nil {
			return pages, err
		}
		pages = append(pages, body)
		got := countRows(body, r.Items)
		rows += got
		switch p.Type {
		case "page", "offset":
			// With a total, page until it is reached (an API may cap a
			// page below the size asked for); without, until a short page.
			if t := gjson.GetBytes(body, p.TotalPath); p.TotalPath != "" && t.Exists() {
				if got == 0 || int64(rows) >= t.Int() {
					return pages, nil
				}
			} else if got < p.Size {
				return pages, nil
			}
		case "next_link":
			link := ""
			if p.NextPath != "" {
				link = gjson.GetBytes(body, p.NextPath).String()
			} else {
				link = nextFromHeader(hdr.Get("Link"))
			}
			if link == "" {
				return pages, nil
			}
			if seen[link] {
				return pages, fmt.Errorf("pagination loops: the next link %s was already followed", shorten(link))
			}
			seen[link] = true
			next = call{method: base.method, path: link, headers: base.headers, body: base.body, ctype: base.ctype}
		case "cursor":
			cursor := gjson.GetBytes(body, p.NextPath).String()
			if cursor == "" || got == 0 {
				return pages, nil
			}
			if seen[cursor] {
				return pages, fmt.Errorf("pagination loops: the cursor %s came back", shorten(cursor))
			}
			seen[cursor] = true
			next = withParams(base, p, cursor)
		}
	}
}

// withSize puts the page size alone into a copy of c (the first page of
// cursor and next-link paging).
func withSize(c call, p *Pagination) call {
	if p.In == "header" {
		h := make(map[string]string, len(c.headers)+1)
		for k, x := range c.headers {
			h[k] = x
		}
		h[p.SizeParam] = strconv.Itoa(p.Size)
		c.headers = h
		return c
	}
	q := cloneValues(c.query)
	q.Set(p.SizeParam, strconv.Itoa(p.Size))
	c.query = q
	return c
}

// withParams puts the page, offset or cursor value and the page size into
// a copy of c.
func withParams(c call, p *Pagination, v string) call {
	if p.In == "header" {
		h := make(map[string]string, len(c.headers)+2)
		for k, x := range c.headers {
			h[k] = x
		}
		h[p.Param] = v
		if p.SizeParam != "" {
			h[p.SizeParam] = strconv.Itoa(p.Size)
		}
		c.headers = h
		return c
	}
	q := cloneValues(c.query)
	q.Set(p.Param, v)
	if p.SizeParam != "" {
		q.Set(p.SizeParam, strconv.Itoa(p.Size))
	}
	c.query = q
	return c
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, x := range v {
		out[k] = slices.Clone(x)
	}
	return out
}

// nextFromHeader finds rel="next" in an RFC 8288 Link header.
func nextFromHeader(h string) string {
	for _, part := range strings.Split(h, ",") {
		segs := strings.Split(part, ";")
		if len(segs) < 2 {
			continue
		}
		target := strings.TrimSpace(segs[0])
		if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
			continue
		}
		for _, s := range segs[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(s), "=")
			if strings.EqualFold(k, "rel") && slices.Contains(strings.Fields(strings.ToLower(strings.Trim(v, `"`))), "next") {
				return target[1 : len(target)-1]
			}
		}
	}
	return ""
}

func countRows(body []byte, items string) int {
	if items == "" {
		return 1
	}
	v := gjson.GetBytes(body, items)
	if !v.IsArray() {
		return 0
	}
	return len(v.Array())
}

// rowsOf returns the rows at path in every page.
func rowsOf(pages []page, path string) ([]gjson.Result, error) {
	var rows []gjson.Result
	for _, p := range pages {
		if path == "" {
			rows = append(rows, gjson.ParseBytes(p))
			continue
		}
		v := gjson.GetBytes(p, path)
		switch {
		case !v.Exists() || v.Type == gjson.Null:
		case v.IsArray():
			rows = append(rows, v.Array()...)
		default:
			return rows, fmt.Errorf("items %s: %s where a list belongs", path, shorten(v.Raw))
		}
	}
	return rows, nil
}

// apply turns the pages of one request into samples and inventory. It
// reports whether the inventory changed.
func (c *collector) apply(r *Request, pages []page, now time.Time, s collectors.Sink) bool {
	for i := range r.Samples {
		m := &r.Samples[i]
		path := r.Items
		if m.Items != "" {
			path = m.Items
		}
		rows, err := rowsOf(pages, path)
		if err != nil {
			s.Error(fmt.Errorf("request %s: %s: %w", r.Name, m.Measurement, err))
		}
		c.samples(r, m, rows, now, s)
	}
	inv := false
	if len(r.Inventory) > 0 && len(pages) > 0 {
		row := gjson.ParseBytes(pages[0])
		var bad []string
		for k, f := range r.Inventory {
			v, err := f.extract(row, "string", now)
			switch {
			case errors.Is(err, errMissing):
			case err != nil:
				bad = append(bad, fmt.Sprintf("%s (%s): %v", k, f.Path, err))
			default:
				c.attributes[k] = v
				c.values++
			}
		}
		if len(bad) > 0 {
			slices.Sort(bad)
			s.Error(fmt.Errorf("request %s: inventory: %s", r.Name, strings.Join(bad, "; ")))
		}
		inv = true
	}
	for _, cm := range r.Components {
		path := r.Items
		if cm.Items != "" {
			path = cm.Items
		}
		rows, err := rowsOf(pages, path)
		if err != nil {
			s.Error(fmt.Errorf("request %s: component %s: %w", r.Name, cm.Name, err))
			continue
		}
		list := make([]map[string]any, 0, len(rows))
		seen := map[string]bool{} // rows repeat parts (one job per run of a client): list each once
		errs := fieldErrors{}
		for _, row := range rows {
			item := map[string]any{}
			for k, f := range cm.Fields {
				v, err := f.extract(row, "string", now)
				switch {
				case errors.Is(err, errMissing):
				case err != nil:
					errs.add(k, f.Path, err)
				default:
					item[k] = v
				}
			}
			if key := fmt.Sprint(item); len(item) > 0 && !seen[key] { // fmt sorts map keys
				seen[key] = true
				list = append(list, item)
				c.values += len(item)
			}
		}
		if e := errs.err(); e != nil {
			s.Error(fmt.Errorf("request %s: component %s: %w", r.Name, cm.Name, e))
		}
		c.components[cm.Name] = list
		inv = true
	}
	return inv
}

// samples emits one sample per row (or per tag set, with latest).
func (c *collector) samples(r *Request, m *SampleMap, rows []gjson.Result, now time.Time, s collectors.Sink) {
	if m.Latest != "" {
		rows = latestPerTagSet(rows, m)
	}
	errs := fieldErrors{}
	for _, row := range rows {
		tags := make(map[string]string, len(m.Tags)+len(c.target.Labels))
		for k, v := range c.target.Labels {
			tags[k] = v
		}
		for k, p := range m.Tags {
			if v := row.Get(p); v.Exists() && v.Type != gjson.Null && !v.IsObject() && !v.IsArray() && v.String() != "" {
				tags[k] = v.String()
			}
		}
		fields := make(map[string]any, len(m.Fields))
		for k, f := range m.Fields {
			v, err := f.extract(row, "float", now)
			switch {
			case errors.Is(err, errMissing):
			case err != nil:
				errs.add(k, f.Path, err)
			default:
				fields[k] = v
			}
		}
		if len(fields) == 0 {
			continue
		}
		c.values += len(fields)
		s.Sample(kpi.Sample{Asset: c.target.Asset, Measurement: m.Measurement, Tags: tags, Fields: fields, Time: now})
	}
	if e := errs.err(); e != nil {
		s.Error(fmt.Errorf("request %s: %s: %w", r.Name, m.Measurement, e))
	}
}

// latestPerTagSet keeps, for each combination of tag values, the row with
// the greatest value at m.Latest (a time or a number). Rows without it
// are dropped.
func latestPerTagSet(rows []gjson.Result, m *SampleMap) []gjson.Result {
	keys := make([]string, 0, len(m.Tags))
	for k := range m.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	type best struct {
		row gjson.Result
		at  float64
	}
	byKey := map[string]best{}
	var order []string
	for _, row := range rows {
		v := row.Get(m.Latest)
		var at float64
		switch {
		case v.Type == gjson.Number:
			at = v.Num
		case v.Type == gjson.String:
			t, err := time.Parse(time.RFC3339Nano, v.Str)
			if err != nil {
				continue
			}
			at = float64(t.UnixNano())
		default:
			continue
		}
		var kb strings.Builder
		for _, k := range keys {
			kb.WriteString(row.Get(m.Tags[k]).String())
			kb.WriteByte(0)
		}
		key := kb.String()
		if b, ok := byKey[key]; !ok || at > b.at {
			if !ok {
				order = append(order, key)
			}
			byKey[key] = best{row, at}
		}
	}
	out := make([]gjson.Result, 0, len(order))
	for _, k := range order {
		out = append(out, byKey[k].row)
	}
	return out
}

// fieldErrors gathers per-field problems of many rows into one message:
// a mistyped field in 500 rows is one line, not 500.
type fieldErrors map[string]*fieldError

type fieldError struct {
	path  string
	first error
	n     int
}

func (f fieldErrors) add(name, path string, err error) {
	if e, ok := f[name]; ok {
		e.n++
		return
	}
	f[name] = &fieldError{path: path, first: err, n: 1}
}

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	names := make([]string, 0, len(f))
	for k := range f {
		names = append(names, k)
	}
	slices.Sort(names)
	parts := make([]string, 0, len(names))
	for _, k := range names {
		e := f[k]
		msg := fmt.Sprintf("field %s (path %s): %v", k, e.path, e.first)
		if e.n > 1 {
			msg += fmt.Sprintf(" (and %d more rows)", e.n-1)
		}
		parts = append(parts, msg)
	}
	return errors.New(strings.Join(parts, "; "))
}

// inventory builds the inventory document from everything read so far.
func (c *collector) inventory(now time.Time) kpi.Inventory {
	attrs := make(map[string]any, len(c.attributes)+len(c.cfg.def.Attributes)+1)
	for k, v := range c.cfg.def.Attributes {
		attrs[k] = v
	}
	for k, v := range c.attributes {
		attrs[k] = v
	}
	if c.cfg.def.Category != "" {
		attrs["category"] = c.cfg.def.Category
	}
	comps := make(map[string][]map[string]any, len(c.components))
	for k, v := range c.components {
		comps[k] = v
	}
	return kpi.Inventory{Asset: c.target.Asset, Time: now, Attributes: attrs, Components: comps}
}
