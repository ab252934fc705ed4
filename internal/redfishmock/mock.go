// Package redfishmock serves Redfish mockup trees over HTTP the way a BMC
// would: GET /redfish/v1/X answers X/index.json of a short-form mockup,
// with session and basic authentication, a configurable latency per
// request, and faults that tests inject per path. It counts the sessions
// clients open and close, so that tests can prove a collector leaks none.
//
// The mockups in mockups/ are real vendor captures (see mockups/README.md
// for their sources and licences); they are embedded so that tests, the
// demo and the benchmark find them wherever they run.
package redfishmock

import (
	"cmp"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

//go:embed mockups
var embedded embed.FS

// Mockups lists the embedded mockup names.
func Mockups() []string {
	entries, _ := fs.ReadDir(embedded, "mockups")
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// Mockup returns the embedded mockup tree of name, rooted at /redfish/v1.
func Mockup(name string) (fs.FS, error) {
	if _, err := fs.Stat(embedded, path.Join("mockups", name, "index.json")); err != nil {
		return nil, fmt.Errorf("no mockup %q (known: %s)", name, strings.Join(Mockups(), ", "))
	}
	return fs.Sub(embedded, path.Join("mockups", name))
}

// Options configures a Server.
type Options struct {
	// Username and Password, when set, are required for everything but the
	// service root: as basic auth or through a session.
	Username, Password string
	// Delay is added to every request, to behave like a real BMC (100 ms
	// to 1 s per request is typical).
	Delay time.Duration
	// NoExpand answers $expand with 400, like BMCs that do not support it.
	NoExpand bool
	// MaxSessions refuses new sessions beyond this many open ones, as BMCs
	// do (0: no limit).
	MaxSessions int
}

// Fault replaces the answer for one path.
type Fault struct {
	Status int           // answer with this status and a Redfish error body
	Body   []byte        // answer with this body (status 200 unless Status is set)
	Delay  time.Duration // wait this long first (longer than the client's timeout: a hang)
}

// Server is an http.Handler serving one mockup tree.
type Server struct {
	root fs.FS
	opts Options

	mu       sync.Mutex
	sessions map[string]string // token → session id
	faults   map[string]Fault  // cleaned path → fault
	nextID   int

	opened, closed, requests atomic.Int64
	inFlight, maxInFlight    atomic.Int64
}

// New returns a server for the mockup tree root (the directory that stands
// for /redfish/v1).
func New(root fs.FS, o Options) *Server {
	return &Server{root: root, opts: o, sessions: map[string]string{}, faults: map[string]Fault{}}
}

// SetFault makes the server answer p (a /redfish/v1/... path) with f. A
// zero Fault removes it.
func (s *Server) SetFault(p string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p = cleanPath(p)
	if f.Status == 0 && f.Body == nil && f.Delay == 0 {
		delete(s.faults, p)
		return
	}
	s.faults[p] = f
}

// Stats is what the server has seen.
type Stats struct {
	SessionsOpened, SessionsClosed int64
	SessionsOpen                   int
	Requests                       int64
	MaxInFlight                    int64 // most requests served at the same time
}

// Stats reports sessions and requests so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	open := len(s.sessions)
	s.mu.Unlock()
	return Stats{SessionsOpened: s.opened.Load(), SessionsClosed: s.closed.Load(), SessionsOpen: open,
		Requests: s.requests.Load(), MaxInFlight: s.maxInFlight.Load()}
}

// ExpireSessions forgets every session, as a BMC does after its session
// timeout or a reset; clients then get 401 and must log in again.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sessions)
}

const sessionsPath = "/redfish/v1/SessionService/Sessions"

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxInFlight.Load()
		if n <= m || s.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	p := cleanPath(r.URL.Path)
	s.mu.Lock()
	fault, faulty := s.faults[p]
	s.mu.Unlock()
	if !sleep(r.Context(), s.opts.Delay+fault.Delay) {
		return
	}
	if !strings.HasPrefix(p+"/", "/redfish/v1/") {
		writeError(w, http.StatusNotFound, "Base.1.0.ResourceMissingAtURI", "no resource at "+p)
		return
	}
	switch {
	case p == sessionsPath && r.Method == http.MethodPost:
		s.login(w, r)
		return
	case p != "/redfish/v1" && !s.authorized(r):
		w.Header().Set("WWW-Authenticate", `Basic realm="Redfish"`)
		writeError(w, http.StatusUnauthorized, "Base.1.0.NoValidSession", "no valid session or credentials")
		return
	case strings.HasPrefix(p, sessionsPath+"/") && r.Method == http.MethodDelete:
		s.logout(w, strings.TrimPrefix(p, sessionsPath+"/"))
		return
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "Base.1.0.OperationNotAllowed", r.Method+" is not allowed on "+p)
		return
	}
	if faulty && (fault.Status != 0 || fault.Body != nil) {
		if fault.Status != 0 && fault.Body == nil {
			writeError(w, fault.Status, "Base.1.0.InternalError", "injected fault")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(cmp.Or(fault.Status, http.StatusOK))
		w.Write(fault.Body)
		return
	}
	if p == sessionsPath {
		s.listSessions(w)
		return
	}
	body, err := s.read(p)
	if err != nil {
		writeError(w, http.StatusNotFound, "Base.1.0.ResourceMissingAtURI", "no resource at "+p)
		return
	}
	if r.URL.Query().Has("$expand") {
		if s.opts.NoExpand {
			writeError(w, http.StatusBadRequest, "Base.1.0.QueryNotSupported", "$expand is not supported")
			return
		}
		body = s.expand(body)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("OData-Version", "4.0")
	w.Write(body)
}

// expand answers $expand on a collection the way BMCs that advertise
// ExpandQuery do: each member link is replaced by the member itself (one
// level; members the tree lacks stay links). Other resources are served
// as they are.
func (s *Server) expand(body []byte) []byte {
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil {
		return body
	}
	var members []struct {
		ID string `json:"@odata.id"`
	}
	if json.Unmarshal(doc["Members"], &members) != nil || len(members) == 0 {
		return body
	}
	expanded := make([]json.RawMessage, len(members))
	for i, m := range members {
		b, err := s.read(cleanPath(m.ID))
		if err != nil {
			b, _ = json.Marshal(map[string]string{"@odata.id": m.ID})
		}
		expanded[i] = b
	}
	doc["Members"], _ = json.Marshal(expanded)
	out, err := json.Marshal(doc)
	if err != nil {
		return body
	}
	return out
}

// read returns the index.json of p. Like iLO it also finds a path written
// in another case (/redfish/v1/systems/1), resolving segment by segment.
func (s *Server) read(p string) ([]byte, error) {
	rel := strings.TrimPrefix(strings.TrimPrefix(p, "/redfish/v1"), "/")
	if b, err := fs.ReadFile(s.root, path.Join(rel, "index.json")); err == nil {
		return b, nil
	}
	dir := "."
	for _, seg := range strings.Split(rel, "/") {
		entries, err := fs.ReadDir(s.root, dir)
		if err != nil {
			return nil, err
		}
		i := sort.Search(len(entries), func(i int) bool { return entries[i].Name() >= seg })
		found := ""
		if i < len(entries) && entries[i].Name() == seg {
			found = seg
		} else {
			for _, e := range entries {
				if e.IsDir() && strings.EqualFold(e.Name(), seg) {
					found = e.Name()
					break
				}
			}
		}
		if found == "" {
			return nil, fs.ErrNotExist
		}
		dir = path.Join(dir, found)
	}
	return fs.ReadFile(s.root, path.Join(dir, "index.json"))
}

func (s *Server) authorized(r *http.Request) bool {
	if s.opts.Username == "" {
		return true
	}
	if tok := r.Header.Get("X-Auth-Token"); tok != "" {
		s.mu.Lock()
		_, ok := s.sessions[tok]
		s.mu.Unlock()
		return ok
	}
	u, p, ok := r.BasicAuth()
	return ok && u == s.opts.Username && p == s.opts.Password
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req struct{ UserName, Password string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "Base.1.0.MalformedJSON", "session request: "+err.Error())
		return
	}
	if s.opts.Username != "" && (req.UserName != s.opts.Username || req.Password != s.opts.Password) {
		writeError(w, http.StatusUnauthorized, "Base.1.0.ResourceAtUriUnauthorized", "wrong user name or password")
		return
	}
	s.mu.Lock()
	if s.opts.MaxSessions > 0 && len(s.sessions) >= s.opts.MaxSessions {
		s.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "Base.1.0.SessionLimitExceeded", "too many open sessions")
		return
	}
	s.nextID++
	id := fmt.Sprint(s.nextID)
	b := make([]byte, 16)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	s.sessions[tok] = id
	s.mu.Unlock()
	s.opened.Add(1)
	loc := sessionsPath + "/" + id
	w.Header().Set("X-Auth-Token", tok)
	w.Header().Set("Location", loc)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"@odata.id": loc, "@odata.type": "#Session.v1_0_0.Session",
		"Id": id, "Name": "User Session", "UserName": req.UserName})
}

func (s *Server) logout(w http.ResponseWriter, id string) {
	s.mu.Lock()
	found := false
	for tok, sid := range s.sessions {
		if sid == id {
			delete(s.sessions, tok)
			found = true
		}
	}
	s.mu.Unlock()
	if !found {
		writeError(w, http.StatusNotFound, "Base.1.0.ResourceMissingAtURI", "no session "+id)
		return
	}
	s.closed.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listSessions(w http.ResponseWriter) {
	s.mu.Lock()
	members := []map[string]string{}
	for _, id := range s.sessions {
		members = append(members, map[string]string{"@odata.id": sessionsPath + "/" + id})
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"@odata.id": sessionsPath, "Name": "Sessions",
		"Members": members, "Members@odata.count": len(members)})
}

// cleanPath drops a trailing slash and dot segments; the query and the
// fragment are not part of r.URL.Path.
func cleanPath(p string) string {
	p = path.Clean("/" + p)
	return strings.TrimSuffix(p, "/")
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func writeError(w http.ResponseWriter, status int, id, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": id, "message": msg,
		"@Message.ExtendedInfo": []map[string]string{{"MessageId": id, "Message": msg}},
	}})
}
