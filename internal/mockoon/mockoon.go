// Package mockoon serves Mockoon environment files (canned REST answers
// of vendor APIs) over HTTP, for tests and the demo: a request is matched
// by method and endpoint, a response by its rules, and the response's
// status, headers and body are sent.
//
// Supported: routes with :param segments, rules on header, query, body
// (with a gjson modifier) and request_number, the operators equals, regex
// and null, invert, AND/OR, inline and data-bucket bodies, the
// environment's endpointPrefix. Mockoon's templating is not evaluated.
package mockoon

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/tidwall/gjson"
)

// Environment is the part of a Mockoon environment file this package uses.
type Environment struct {
	Name           string  `json:"name"`
	EndpointPrefix string  `json:"endpointPrefix"`
	Routes         []Route `json:"routes"`
	Data           []struct {
		ID    string `json:"id"`
		Value string `json:"value"`
	} `json:"data"`
}

// Route is one method and endpoint with its responses.
type Route struct {
	Method    string     `json:"method"`
	Endpoint  string     `json:"endpoint"`
	Responses []Response `json:"responses"`
}

// Response is one canned answer.
type Response struct {
	StatusCode int    `json:"statusCode"`
	Body       string `json:"body"`
	BodyType   string `json:"bodyType"`
	BucketID   string `json:"databucketID"`
	Headers    []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"headers"`
	Rules         []Rule `json:"rules"`
	RulesOperator string `json:"rulesOperator"`
	Default       bool   `json:"default"`
}

// Rule selects a response.
type Rule struct {
	Target   string `json:"target"`
	Modifier string `json:"modifier"`
	Value    string `json:"value"`
	Invert   bool   `json:"invert"`
	Operator string `json:"operator"`
}

// Load reads an environment file.
func Load(path string) (*Environment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var env Environment
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("mockoon environment %s: %w", path, err)
	}
	return &env, nil
}

// Server answers requests from an environment. Its zero value is not
// usable; build it with NewServer.
type Server struct {
	env    *Environment
	prefix string

	mu       sync.Mutex
	counts   map[string]int // requests per route (method + endpoint)
	override map[string]func(w http.ResponseWriter, r *http.Request) bool
	log      []string
}

// NewServer serves env below prefix (for example "/api" for an
// environment whose endpoints lack it); the environment's own
// endpointPrefix comes after it.
func NewServer(env *Environment, prefix string) *Server {
	return &Server{env: env, prefix: strings.TrimSuffix(prefix, "/"), counts: map[string]int{},
		override: map[string]func(http.ResponseWriter, *http.Request) bool{}}
}

// Override puts h in front of the route "METHOD /path" (the request path
// as sent); h returns false to fall through to the canned answer. Tests
// use it to inject faults.
func (s *Server) Override(route string, h func(w http.ResponseWriter, r *http.Request) bool) {
	s.mu.Lock()
	s.override[route] = h
	s.mu.Unlock()
}

// Requests lists "METHOD /path?query" of every request so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.log = append(s.log, r.Method+" "+r.URL.RequestURI())
	h := s.override[r.Method+" "+r.URL.Path]
	s.mu.Unlock()
	if h != nil && h(w, r) {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	path, ok := strings.CutPrefix(r.URL.Path, s.prefix+"/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	path, ok = strings.CutPrefix(path, strings.Trim(s.env.EndpointPrefix, "/"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	path = strings.Trim(path, "/")
	for _, rt := range s.env.Routes {
		if !strings.EqualFold(rt.Method, r.Method) || !matchPath(strings.Trim(rt.Endpoint, "/"), path) {
			continue
		}
		key := rt.Method + " " + rt.Endpoint
		s.mu.Lock()
		s.counts[key]++
		n := s.counts[key]
		s.mu.Unlock()
		s.respond(w, s.pick(rt, r, body, n))
		return
	}
	http.Error(w, `{"error":"no canned answer for `+r.Method+" /"+path+`"}`, http.StatusNotFound)
}

func (s *Server) respond(w http.ResponseWriter, resp Response) {
	body := resp.Body
	if resp.BodyType == "DATABUCKET" {
		for _, d := range s.env.Data {
			if d.ID == resp.BucketID {
				body = d.Value
			}
		}
	}
	for _, h := range resp.Headers {
		w.Header().Set(h.Key, h.Value)
	}
	if w.Header().Get("Content-Type") == "" || strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		w.Header().Set("Content-Type", "application/json")
	}
	code := resp.StatusCode
	if code == 0 {
		code = http.StatusOK
	}
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

// pick chooses the first response whose rules match, else the default
// (the one marked default, else the first).
func (s *Server) pick(rt Route, r *http.Request, body []byte, n int) Response {
	for _, resp := range rt.Responses {
		if len(resp.Rules) > 0 && rulesMatch(resp, r, body, n) {
			return resp
		}
	}
	for _, resp := range rt.Responses {
		if resp.Default {
			return resp
		}
	}
	return rt.Responses[0]
}

func rulesMatch(resp Response, r *http.Request, body []byte, n int) bool {
	and := strings.EqualFold(resp.RulesOperator, "AND")
	for _, rule := range resp.Rules {
		ok := ruleMatch(rule, r, body, n) != rule.Invert
		if and && !ok {
			return false
		}
		if !and && ok {
			return true
		}
	}
	return and
}

func ruleMatch(rule Rule, r *http.Request, body []byte, n int) bool {
	var v string
	var present bool
	switch rule.Target {
	case "header":
		v = r.Header.Get(rule.Modifier)
		present = v != ""
	case "query":
		present = r.URL.Query().Has(rule.Modifier)
		v = r.URL.Query().Get(rule.Modifier)
	case "body":
		if rule.Modifier == "" {
			v, present = string(body), len(body) > 0
		} else {
			res := gjson.GetBytes(body, strings.TrimPrefix(rule.Modifier, "."))
			v, present = res.String(), res.Exists()
		}
	case "request_number":
		v, present = strconv.Itoa(n), true
	default:
		return false
	}
	switch rule.Operator {
	case "equals":
		return present && v == rule.Value
	case "regex":
		re, err := regexp.Compile(rule.Value)
		return err == nil && present && re.MatchString(v)
	case "null":
		return !present
	}
	return false
}

// matchPath compares an endpoint with :param segments to a request path.
func matchPath(endpoint, path string) bool {
	if endpoint == path {
		return true
	}
	es, ps := strings.Split(endpoint, "/"), strings.Split(path, "/")
	if len(es) != len(ps) {
		return false
	}
	for i := range es {
		if !strings.HasPrefix(es[i], ":") && es[i] != ps[i] {
			return false
		}
	}
	return true
}
