package mockoon

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const envJSON = `{
  "endpointPrefix": "api/",
  "data": [{"id": "b1", "value": "{\"from\": \"bucket\"}"}],
  "routes": [
    {"method": "get", "endpoint": "jobs", "responses": [
      {"statusCode": 200, "body": "{\"page\": 2}", "rules": [{"target": "header", "modifier": "offset", "value": "4", "operator": "equals"}]},
      {"statusCode": 200, "body": "{\"page\": 1}", "rules": [], "default": true}
    ]},
    {"method": "post", "endpoint": "login", "responses": [
      {"statusCode": 201, "body": "{\"key\": \"k\"}", "rulesOperator": "AND", "rules": [
        {"target": "body", "modifier": ".user", "value": "u", "operator": "equals"},
        {"target": "body", "modifier": ".password", "value": "p", "operator": "equals"}]},
      {"statusCode": 401, "body": "{}", "rules": [], "default": true}
    ]},
    {"method": "get", "endpoint": "vols/:id", "responses": [
      {"statusCode": 200, "bodyType": "DATABUCKET", "databucketID": "b1", "headers": [{"key": "X-Test", "value": "yes"}]}
    ]},
    {"method": "get", "endpoint": "flaky", "responses": [
      {"statusCode": 503, "body": "{}", "rules": [{"target": "request_number", "value": "1", "operator": "equals"}]},
      {"statusCode": 200, "body": "{\"ok\": true}", "rules": [{"target": "query", "modifier": "page", "operator": "null"}]}
    ]}
  ]
}`

func TestServer(t *testing.T) {
	var env Environment
	require.NoError(t, json.Unmarshal([]byte(envJSON), &env))
	mock := NewServer(&env, "/base")
	srv := httptest.NewServer(mock)
	defer srv.Close()
	do := func(method, path, body string, hdr map[string]string) (int, string, http.Header) {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	_, body, _ := do("GET", "/base/api/jobs", "", nil)
	assert.JSONEq(t, `{"page": 1}`, body, "no rule matches: the default answer")
	_, body, _ = do("GET", "/base/api/jobs", "", map[string]string{"offset": "4"})
	assert.JSONEq(t, `{"page": 2}`, body, "a header rule")
	code, _, _ := do("POST", "/base/api/login", `{"user": "u", "password": "p"}`, nil)
	assert.Equal(t, 201, code, "body rules, AND")
	code, _, _ = do("POST", "/base/api/login", `{"user": "u", "password": "wrong"}`, nil)
	assert.Equal(t, 401, code)
	code, body, hdr := do("GET", "/base/api/vols/42", "", nil)
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `{"from": "bucket"}`, body, "a data bucket body, a :param route")
	assert.Equal(t, "yes", hdr.Get("X-Test"))
	code, _, _ = do("GET", "/base/api/flaky", "", nil)
	assert.Equal(t, 503, code, "request_number 1")
	code, _, _ = do("GET", "/base/api/flaky", "", nil)
	assert.Equal(t, 200, code, "query null on the second request")
	code, _, _ = do("GET", "/base/api/nothing", "", nil)
	assert.Equal(t, 404, code)
	code, _, _ = do("GET", "/api/jobs", "", nil)
	assert.Equal(t, 404, code, "outside the prefix")
	reqs := mock.Requests()
	require.Len(t, reqs, 9)
	assert.Equal(t, "GET /base/api/vols/42", reqs[4])
}
