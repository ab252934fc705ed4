package redfish

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"
)

// Bounds on what one collection may hold, against a BMC that pages
// forever or lists a million members.
const (
	maxPages   = 50
	maxMembers = 5000
)

// refs is one link ({"@odata.id": ...}) or a list of them. It decodes any
// shape without error: a broken link is simply absent.
type refs []string

func (r *refs) UnmarshalJSON(b []byte) error {
	var one struct {
		ID string `json:"@odata.id"`
	}
	if json.Unmarshal(b, &one) == nil && one.ID != "" {
		*r = refs{one.ID}
		return nil
	}
	var many []struct {
		ID string `json:"@odata.id"`
	}
	if json.Unmarshal(b, &many) == nil {
		for _, m := range many {
			if m.ID != "" {
				*r = append(*r, m.ID)
			}
		}
	}
	return nil
}

func (r refs) first() string {
	if len(r) == 0 {
		return ""
	}
	return r[0]
}

// links are the navigation properties of any resource the collector reads.
type links struct {
	Systems, Chassis, Managers, UpdateService, FirmwareInventory refs
	Processors, Memory, Storage, Drives, LogServices, Entries    refs
	Controllers                                                  refs
	NetworkAdapters, Power, Thermal, PowerSubsystem              refs
	ThermalSubsystem, EnvironmentMetrics, PowerSupplies          refs
	ThermalMetrics, Fans, Metrics, Sensors                       refs
	Links                                                        struct {
		Chassis, ManagedBy, ContainedBy, Contains refs
	}
}

// member is one member of a collection: its path, and its body when the
// BMC put the whole member inline (log entries usually are).
type member struct {
	path string
	body json.RawMessage
}

// members reads a collection, following Members@odata.nextLink pages. A
// member listed twice is read once.
func (f *fetcher) members(path string) ([]member, error) {
	var out []member
	var err error
	seen := map[string]bool{}
	for page := 0; path != "" && page < maxPages; page++ {
		body, gerr := f.page(path, page == 0)
		if gerr != nil {
			return out, gerr
		}
		var c struct {
			Members []json.RawMessage
			Next    refsOrString `json:"Members@odata.nextLink"`
			inline  int
		}
		if err := json.Unmarshal(body, &c); err != nil {
			return out, problem{path, fmt.Errorf("not a collection: %w", err)}
		}
		for _, raw := range c.Members {
			var m map[string]json.RawMessage
			if json.Unmarshal(raw, &m) != nil {
				continue
			}
			var id string
			if json.Unmarshal(m["@odata.id"], &id) != nil || id == "" || seen[id] {
				continue
			}
			seen[id] = true
			mb := member{path: id}
			if len(m) > 3 { // more than @odata.id, @odata.type and @odata.etag
				mb.body = raw
				c.inline++
			}
			out = append(out, mb)
			if len(out) >= maxMembers {
				return out, problem{path, fmt.Errorf("more than %d members; the rest ignored", maxMembers)}
			}
		}
		if page == 0 && c.inline > 0 && f.expand.Load() {
			// An expanded answer inlines every member the BMC has; one
			// left as a link is a broken link, not worth a request.
			var broken []string
			out = slices.DeleteFunc(out, func(m member) bool {
				if m.body == nil {
					broken = append(broken, m.path)
					return true
				}
				return false
			})
			if len(broken) > 0 {
				err = problem{path, fmt.Errorf("members %s: not in the expanded answer (broken links)", strings.Join(broken, ", "))}
			}
		}
		path = string(c.Next)
	}
	return out, err
}

// expandQuery asks for the members of a collection inline, one level deep.
const expandQuery = "?$expand=.($levels=1)"

// page reads one page of a collection, the first with $expand where the
// BMC supports it. A BMC that refuses $expand (400, 405, 501, or 404
// where the plain path exists) is not asked again.
func (f *fetcher) page(path string, first bool) ([]byte, error) {
	if !first || f.expand == nil || !f.expand.Load() || strings.Contains(path, "?") {
		return f.raw(path)
	}
	body, err := f.raw(path + expandQuery)
	switch statusOf(err) {
	case 0:
		return body, err
	case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		f.expand.Store(false)
		return f.raw(path)
	case http.StatusNotFound:
		body, err = f.raw(path)
		if err == nil {
			f.expand.Store(false)
		}
		return body, err
	}
	return body, err
}

// refsOrString decodes a nextLink, which BMCs write as a string (as the
// standard says) or as a link object.
type refsOrString string

func (s *refsOrString) UnmarshalJSON(b []byte) error {
	var str string
	if json.Unmarshal(b, &str) == nil {
		*s = refsOrString(str)
		return nil
	}
	var r refs
	_ = r.UnmarshalJSON(b)
	*s = refsOrString(r.first())
	return nil
}

// item is one resource read from a BMC.
type item[T any] struct {
	path    string
	v       *T
	links   *links
	dropped []string // mistyped properties, as decode names them
}

// readAll reads the resources at paths in parallel (within the BMC's
// bound on parallel requests) and returns those that could be read, in
// order. Every failure goes to report, named by its path.
func readAll[T any](f *fetcher, paths []string, report func(error)) []item[T] {
	return readMembers[T](f, toMembers(paths), report)
}

// toMembers makes members of links, each once.
func toMembers(paths []string) []member {
	ms := make([]member, 0, len(paths))
	seen := make(map[string]bool, len(paths))
	for _, p := range paths {
		if p != "" && !seen[p] {
			seen[p] = true
			ms = append(ms, member{path: p})
		}
	}
	return ms
}

func readMembers[T any](f *fetcher, ms []member, report func(error)) []item[T] {
	res := make([]*item[T], len(ms))
	var g errgroup.Group
	g.SetLimit(f.b.cfg.MaxConcurrentRequests)
	for i, m := range ms {
		g.Go(func() error {
			v := new(T)
			l, dropped, err := readBody(f, m.path, m.body, v, report)
			if err != nil {
				report(err)
				return nil
			}
			res[i] = &item[T]{path: m.path, v: v, links: l, dropped: dropped}
			return nil
		})
	}
	_ = g.Wait()
	out := make([]item[T], 0, len(ms))
	for _, r := range res {
		if r != nil {
			out = append(out, *r)
		}
	}
	return out
}

// readCollection reads every member of the collection at path.
func readCollection[T any](f *fetcher, path string, report func(error)) []item[T] {
	if path == "" {
		return nil
	}
	ms, err := f.members(path)
	if err != nil {
		report(err)
	}
	return readMembers[T](f, ms, report)
}
