package redfishmock

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func serve(t *testing.T, o Options) (*Server, *httptest.Server) {
	t.Helper()
	root, err := Mockup("hpe-ilo5-dl360-gen10plus")
	if err != nil {
		t.Fatal(err)
	}
	s := New(root, o)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func do(t *testing.T, method, url string, body string, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestServesMockupLikeABMC(t *testing.T) {
	_, srv := serve(t, Options{})
	for path, want := range map[string]int{
		"/redfish/v1":                    200,
		"/redfish/v1/":                   200,
		"/redfish/v1/Systems/1/":         200,
		"/redfish/v1/systems/1?$expand=": 200, // iLO answers lowercase paths too
		"/redfish/v1/Systems/99":         404,
		"/redfish/v1/../../etc/passwd":   404,
		"/redfish/v1/JsonSchemas":        404, // left out of the mockups
		"/other":                         404,
	} {
		if got := do(t, "GET", srv.URL+path, "", nil).StatusCode; got != want {
			t.Errorf("GET %s = %d, want %d", path, got, want)
		}
	}
	if got := do(t, "PATCH", srv.URL+"/redfish/v1/Systems/1", "{}", nil).StatusCode; got != 405 {
		t.Errorf("PATCH = %d, want 405", got)
	}
	if _, err := Mockup("nope"); err == nil || !strings.Contains(err.Error(), "hpe-ilo5") {
		t.Errorf("Mockup(nope) = %v, want an error listing the mockups", err)
	}
}

func TestSessionsAndBasicAuth(t *testing.T) {
	s, srv := serve(t, Options{Username: "u", Password: "p", MaxSessions: 1})
	if got := do(t, "GET", srv.URL+"/redfish/v1", "", nil).StatusCode; got != 200 {
		t.Errorf("service root without login = %d, want 200", got)
	}
	if got := do(t, "GET", srv.URL+"/redfish/v1/Systems", "", nil).StatusCode; got != 401 {
		t.Errorf("Systems without login = %d, want 401", got)
	}
	if got := do(t, "POST", srv.URL+sessionsPath, `{"UserName":"u","Password":"x"}`, nil).StatusCode; got != 401 {
		t.Errorf("login with a wrong password = %d, want 401", got)
	}
	resp := do(t, "POST", srv.URL+sessionsPath, `{"UserName":"u","Password":"p"}`, nil)
	tok, loc := resp.Header.Get("X-Auth-Token"), resp.Header.Get("Location")
	if resp.StatusCode != 201 || tok == "" || !strings.HasPrefix(loc, sessionsPath+"/") {
		t.Fatalf("login = %d, token %q, location %q", resp.StatusCode, tok, loc)
	}
	if got := do(t, "POST", srv.URL+sessionsPath, `{"UserName":"u","Password":"p"}`, nil).StatusCode; got != 503 {
		t.Errorf("second session beyond MaxSessions = %d, want 503", got)
	}
	auth := map[string]string{"X-Auth-Token": tok}
	if got := do(t, "GET", srv.URL+"/redfish/v1/Systems", "", auth).StatusCode; got != 200 {
		t.Errorf("Systems with session = %d", got)
	}
	if got := do(t, "DELETE", srv.URL+loc, "", auth).StatusCode; got != 204 {
		t.Errorf("logout = %d, want 204", got)
	}
	if got := do(t, "GET", srv.URL+"/redfish/v1/Systems", "", auth).StatusCode; got != 401 {
		t.Errorf("Systems after logout = %d, want 401", got)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/redfish/v1/Systems", nil)
	req.SetBasicAuth("u", "p")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("basic auth: %v %v", resp, err)
	}
	if st := s.Stats(); st.SessionsOpened != 1 || st.SessionsClosed != 1 || st.SessionsOpen != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestFaultsAndDelay(t *testing.T) {
	s, srv := serve(t, Options{Delay: 30 * time.Millisecond})
	s.SetFault("/redfish/v1/Systems/1/", Fault{Status: 503})
	start := time.Now()
	if got := do(t, "GET", srv.URL+"/redfish/v1/Systems/1", "", nil).StatusCode; got != 503 {
		t.Errorf("faulted path = %d, want 503", got)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("answered after %v, before the delay", d)
	}
	s.SetFault("/redfish/v1/Systems/1", Fault{})
	if got := do(t, "GET", srv.URL+"/redfish/v1/Systems/1", "", nil).StatusCode; got != 200 {
		t.Errorf("after removing the fault = %d", got)
	}
}
