package rest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/kpilot/kpilot/internal/yamlconf"
)

func TestFieldExtract(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	row := gjson.Parse(`{
		"mib": 10, "kb": "2", "us": 456, "frac": 0.25, "state": "Warning", "odd": "Weird",
		"t": "2026-01-02T10:30:00Z", "unix": 1767346200, "ms": 1767346200000, "custom": "2026-01-02 10:30:00 +0000",
		"b": true, "bs": "False", "list": [1, 2, 3], "obj": {"a": 1}, "null": null, "big": 1e300, "zero": 0}`)
	one := 1.0
	tests := []struct {
		name string
		f    Field
		kind string
		want any
		err  string
	}{
		{"float default", Field{Path: "mib"}, "float", 10.0, ""},
		{"MiB to bytes", Field{Path: "mib", Unit: "MiB", Type: "int"}, "float", int64(10 << 20), ""},
		{"numeric string KB", Field{Path: "kb", Unit: "KB"}, "float", 2000.0, ""},
		{"us to seconds", Field{Path: "us", Unit: "us"}, "float", 0.000456, ""},
		{"us to ms", Field{Path: "us", Unit: "us", To: "ms"}, "float", 0.456, ""},
		{"fraction to percent", Field{Path: "frac", Unit: "fraction"}, "float", 25.0, ""},
		{"map", Field{Path: "state", Map: map[string]float64{"Success": 0, "Warning": 1}}, "float", 1.0, ""},
		{"map default", Field{Path: "odd", Map: map[string]float64{"Success": 0}, Default: &one}, "float", 1.0, ""},
		{"map miss", Field{Path: "odd", Map: map[string]float64{"Success": 0, "Failed": 2}}, "float", nil, `"Weird" is not in the map (Failed, Success)`},
		{"time rfc3339", Field{Path: "t", Type: "time"}, "float", int64(1767349800), ""},
		{"time unix", Field{Path: "unix", Type: "time", Format: "unix"}, "float", int64(1767346200), ""},
		{"time unix_ms", Field{Path: "ms", Type: "time", Format: "unix_ms"}, "float", int64(1767346200), ""},
		{"time layout", Field{Path: "custom", Type: "time", Format: "2006-01-02 15:04:05 -0700"}, "float", int64(1767349800), ""},
		{"age hours", Field{Path: "t", Type: "age", To: "h"}, "float", 1.5, ""},
		{"age of zero unix time is missing", Field{Path: "zero", Type: "age", Format: "unix"}, "float", nil, "missing"},
		{"bad time", Field{Path: "kb", Type: "time"}, "float", nil, `"2" is not an RFC 3339 time`},
		{"bool", Field{Path: "b", Type: "bool"}, "float", true, ""},
		{"bool string", Field{Path: "bs", Type: "bool"}, "float", false, ""},
		{"bool as number", Field{Path: "b"}, "float", 1.0, ""},
		{"string default for inventory", Field{Path: "mib"}, "string", "10", ""},
		{"count", Field{Path: "list.#", Type: "int"}, "float", int64(3), ""},
		{"list where number", Field{Path: "list"}, "float", nil, "[1, 2, 3] where a float belongs"},
		{"object where string", Field{Path: "obj"}, "string", nil, `{"a": 1} where a string belongs`},
		{"null is missing", Field{Path: "null"}, "float", nil, "missing"},
		{"absent is missing", Field{Path: "nope"}, "float", nil, "missing"},
		{"too big for int", Field{Path: "big", Type: "int"}, "float", nil, "does not fit an integer"},
		{"constant", Field{Value: "ONTAP"}, "string", "ONTAP", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, tt.f.validate())
			got, err := tt.f.extract(row, tt.kind, now)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestConfigErrors: each mistake in an entry gets a message naming it.
func TestConfigErrors(t *testing.T) {
	base := "type: rest\ntargets: [{address: 'https://10.0.0.1', asset: a1}]\n"
	req := "requests: [{name: r, path: /x, samples: [{measurement: m, fields: {v: v}}]}]\n"
	tests := []struct{ name, yml, want string }{
		{"no requests", base, "requests: at least one request is needed (or name a template)"},
		{"unknown template", base + "template: veeam-nope\n", `template "veeam-nope": not found (built-in: commvault,`},
		{"bad template name", base + "template: ../etc/passwd\n", "use lowercase letters, digits, - and _"},
		{"auth type", base + req + "auth: {type: kerberos}\n", `auth: type "kerberos": must be none, basic, bearer, api_key, oauth2 or session`},
		{"basic without password", base + req + "auth: {type: basic}\nusername: u\n", "auth: basic: password missing"},
		{"bearer without token", base + req + "auth: {type: bearer}\n", "auth: bearer: token missing"},
		{"oauth2 without url", base + req + "auth: {type: oauth2}\nclient_id: x\nclient_secret: y\n", "auth: oauth2: token_url missing"},
		{"session without login", base + req + "auth: {type: session}\n", "auth: session: login.path missing"},
		{"login on basic", base + req + "username: u\npassword: p\nauth: {type: basic, login: {path: /l}}\n", "login and logout belong to type session"},
		{"bad login template", base + req + "auth: {type: session, login: {path: '/l/{{.Nope'}}\n", "auth: login path: template"},
		{"method", base + "requests: [{name: r, method: DELETE, path: /x, samples: [{measurement: m, fields: {v: v}}]}]\n", "method DELETE: must be GET or POST"},
		{"path", base + "requests: [{name: r, path: x, samples: [{measurement: m, fields: {v: v}}]}]\n", `path "x": must start with /`},
		{"takes nothing", base + "requests: [{name: r, path: /x}]\n", "takes nothing: give samples, inventory or components"},
		{"dup request", base + "requests: [{name: r, path: /x, inventory: {a: b}}, {name: r, path: /y, inventory: {a: b}}]\n", `name "r" is used twice`},
		{"measurement", base + "requests: [{name: r, path: /x, samples: [{measurement: Bad-Name, fields: {v: v}}]}]\n", `measurement: use lowercase`},
		{"field type", base + "requests: [{name: r, path: /x, samples: [{measurement: m, fields: {v: {path: v, type: decimal}}}]}]\n", `fields.v: type "decimal"`},
		{"unit", base + "requests: [{name: r, path: /x, samples: [{measurement: m, fields: {v: {path: v, unit: furlong}}}]}]\n", `fields.v: unit "furlong"`},
		{"unit dims", base + "requests: [{name: r, path: /x, samples: [{measurement: m, fields: {v: {path: v, unit: MiB, to: s}}}]}]\n", "unit MiB cannot be converted to s"},
		{"paginate", base + "requests: [{name: r, path: /x, paginate: {type: page}, samples: [{measurement: m, fields: {v: v}}]}]\n", "paginate: page: param missing"},
		{"paginate type", base + "requests: [{name: r, path: /x, paginate: {type: infinite}, samples: [{measurement: m, fields: {v: v}}]}]\n", `paginate: type "infinite"`},
		{"cursor", base + "requests: [{name: r, path: /x, paginate: {type: cursor}, samples: [{measurement: m, fields: {v: v}}]}]\n", "cursor: param and next_path are needed"},
		{"category", base + req + "category: toaster\n", `category "toaster": must be one of server, storage, backup`},
		{"address scheme", "type: rest\ntargets: [{address: 'ftp://x', asset: a1}]\n" + req, `scheme must be https or http`},
		{"address creds", "type: rest\ntargets: [{address: 'https://u:pw@x', asset: a1}]\n" + req, `put credentials in username/password`},
		{"max_pages", base + req + "max_pages: 0\n", "max_pages 0: must be between 1 and 100000"},
		{"tls", base + req + "ca_file: /nonexistent/ca.pem\n", "ca_file: open /nonexistent/ca.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConfig().(*Config)
			require.NoError(t, yamlconf.Decode([]byte(tt.yml), c))
			err := c.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "pw@", "credentials in an address are not repeated")
		})
	}
}

// TestUnknownKey: a misspelt key is refused by the strict decoder.
func TestUnknownKey(t *testing.T) {
	c := newConfig().(*Config)
	err := yamlconf.Decode([]byte("type: rest\nrequests: [{name: r, path: /x, itmes: rows}]\n"), c)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "field itmes not found")
}

// TestBuiltinTemplates: every shipped template loads and validates, and
// there is at least one backup and one storage product.
func TestBuiltinTemplates(t *testing.T) {
	names := TemplateNames()
	require.NotEmpty(t, names)
	cats := map[string]bool{}
	for _, name := range names {
		c := newConfig().(*Config)
		yml := "type: rest\ntemplate: " + name + "\nusername: u\npassword: p\ntoken: t\nclient_id: c\nclient_secret: s\ntargets: [{address: 'https://10.0.0.1', asset: a1}]\n"
		require.NoError(t, yamlconf.Decode([]byte(yml), c))
		require.NoError(t, c.Validate(), name)
		require.NotEmpty(t, c.def.Description, name)
		cats[c.def.Category] = true
		// Each template has a recorded case.
		_, err := os.Stat(filepath.Join("testdata/cases", name))
		if name == "hpe-wsapi" {
			_, err = os.Stat("testdata/cases/hpe-primera")
		}
		assert.NoError(t, err, "template %s has no case in testdata/cases", name)
	}
	assert.True(t, cats["backup"] && cats["storage"], "%v", cats)
}

// TestTemplateOverride: an entry's keys win over its template's; a
// request of the same name replaces the template's, disabled drops one.
func TestTemplateOverride(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "my-array.yaml"), []byte(`
description: My array
category: storage
attributes: {manufacturer: Acme}
auth: {type: basic}
requests:
  - {name: system, path: /system, inventory: {serial: sn}}
  - {name: volumes, path: /volumes, items: v, samples: [{measurement: volume, fields: {size: size}}]}
  - {name: disks, path: /disks, items: d, components: [{name: disks, fields: {serial: sn}}]}
`), 0o644))
	c := newConfig().(*Config)
	require.NoError(t, yamlconf.Decode([]byte(`
type: rest
template: my-array
templates_dir: `+dir+`
username: u
password: p
category: backup
attributes: {model: X1}
headers: {X-Tenant: t1}
requests:
  - {name: volumes, path: /v2/volumes, items: v, samples: [{measurement: volume, fields: {size: size}}]}
  - {name: disks, path: /disks, disabled: true}
  - {name: extra, path: /extra, inventory: {site: site}}
targets: [{address: 'https://10.0.0.1', asset: a1}]
`), c))
	require.NoError(t, c.Validate())
	assert.Equal(t, "backup", c.def.Category)
	assert.Equal(t, map[string]string{"manufacturer": "Acme", "model": "X1"}, c.def.Attributes)
	assert.Equal(t, "t1", c.def.Headers["X-Tenant"])
	var names []string
	for _, r := range c.def.Requests {
		names = append(names, r.Name+" "+r.Path)
	}
	assert.Equal(t, []string{"system /system", "volumes /v2/volumes", "extra /extra"}, names)
	// The built-in template is used when templates_dir lacks the name.
	c2 := newConfig().(*Config)
	require.NoError(t, yamlconf.Decode([]byte("type: rest\ntemplate: netapp-ontap\ntemplates_dir: "+dir+"\nusername: u\npassword: p\ntargets: [{address: x, asset: a}]\n"), c2))
	require.NoError(t, c2.Validate())
	assert.True(t, slices.ContainsFunc(c2.def.Requests, func(r Request) bool { return r.Name == "volumes" }))
	// A broken template names its file and line.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("requests:\n  - name: r\n    pth: /x\n"), 0o644))
	c3 := newConfig().(*Config)
	require.NoError(t, yamlconf.Decode([]byte("type: rest\ntemplate: broken\ntemplates_dir: "+dir+"\ntargets: [{address: x, asset: a}]\n"), c3))
	err := c3.Validate()
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "broken.yaml") && strings.Contains(err.Error(), "line 3: field pth not found"), err.Error())
}
