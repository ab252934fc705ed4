package rest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/configs"
	"github.com/kpilot/kpilot/internal/catalog"
	"github.com/kpilot/kpilot/internal/kpi"
	"github.com/kpilot/kpilot/internal/tlsconf"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// Config is one `type: rest` entry of the agent config: the connection
// and credentials of the targets, a template by name, and overrides of
// the template's definition (any Definition key given here wins; requests
// replace the template's request of the same name).
type Config struct {
	collectors.Common `yaml:",inline"`

	// Template names a built-in template (configs/rest/<name>.yaml) or a
	// file in TemplatesDir. Without a template the entry gives the whole
	// definition itself.
	Template     string `yaml:"template"`
	TemplatesDir string `yaml:"templates_dir"`

	// Credentials; which ones are used depends on auth.type.
	Username     string          `yaml:"username"`
	Password     yamlconf.Secret `yaml:"password"`
	Token        yamlconf.Secret `yaml:"token"` // bearer token or API key
	ClientID     string          `yaml:"client_id"`
	ClientSecret yamlconf.Secret `yaml:"client_secret"`

	// CAFile pins the CA of the API's certificate; InsecureSkipVerify
	// turns verification off and must be asked for.
	CAFile             string `yaml:"ca_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`

	// RequestTimeout bounds one HTTP request (every page is one).
	RequestTimeout yamlconf.Duration `yaml:"request_timeout"`
	// MaxResponseBytes refuses a larger answer.
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
	// MaxPages bounds the pages of one paginated request: an API that
	// never stops paginating ends the request with an error.
	MaxPages int `yaml:"max_pages"`

	Definition `yaml:",inline"`

	def  Definition        // template merged with the overrides, built by Validate
	kpis []catalog.Section // the template's and the entry's, built by Validate
	tls  *tls.Config       // built by Validate
	tmpl *loginTemplates
}

// Definition describes one product's API: how to log in, what to ask,
// and where in the answers the KPIs, tags and inventory are. Templates
// under configs/rest hold one each.
type Definition struct {
	Description string `yaml:"description"`
	// Category is the asset category the portal lists the target under
	// (storage, backup, server, network, power, printer, software).
	Category string `yaml:"category"`
	// Attributes are fixed inventory attributes (manufacturer: NetApp).
	Attributes map[string]string `yaml:"attributes"`
	// BasePath is put before every request path (/api).
	BasePath string            `yaml:"base_path"`
	Auth     *Auth             `yaml:"auth"`
	Headers  map[string]string `yaml:"headers"`
	Requests []Request         `yaml:"requests"`
	// KPIs defines what the samples' fields mean (internal/catalog): a
	// built-in template defines every field it emits, in English and
	// German; a user's template or entry may define its own.
	KPIs catalog.Section `yaml:"kpis"`
}

// Auth says how the collector authenticates.
type Auth struct {
	// Type is none, basic, bearer, api_key, oauth2 or session.
	Type string `yaml:"type"`
	// Header and QueryParam carry the API key (api_key); Header defaults
	// to X-API-Key.
	Header     string `yaml:"header"`
	QueryParam string `yaml:"query_param"`
	// TokenURL (oauth2 client credentials) is absolute or relative to the
	// target address.
	TokenURL string   `yaml:"token_url"`
	Scopes   []string `yaml:"scopes"`
	// Login and Logout describe a session login (type session).
	Login  *Login  `yaml:"login"`
	Logout *Logout `yaml:"logout"`
}

// Login is the request that opens a session. Path, headers and body are
// Go templates over the credentials ({{.Username}}, {{.Password}},
// {{.Token}}, {{.ClientID}}, {{.ClientSecret}}) with the functions json,
// b64, md5, sha256 and urlquery.
type Login struct {
	Method      string            `yaml:"method"`
	Path        string            `yaml:"path"`
	Headers     map[string]string `yaml:"headers"`
	Body        string            `yaml:"body"`
	ContentType string            `yaml:"content_type"`
	// BasicAuth sends username and password as HTTP basic auth with the
	// login request (Veeam Enterprise Manager).
	BasicAuth bool `yaml:"basic_auth"`
	// The session token is read from a response header (TokenHeader) or
	// from the JSON answer (TokenPath); with neither, the session is the
	// cookie the API sets.
	TokenHeader string `yaml:"token_header"`
	TokenPath   string `yaml:"token_path"`
	// The token is sent in UseHeader (default Authorization) after Prefix
	// (for example "Bearer ").
	UseHeader string `yaml:"use_header"`
	Prefix    string `yaml:"prefix"`
}

// Logout ends the session on shutdown; its path may use {{.Session}}.
type Logout struct {
	Method string `yaml:"method"`
	Path   string `yaml:"path"`
}

// Request is one API call (with its pages) and what to take from it.
type Request struct {
	Name    string            `yaml:"name"`
	Method  string            `yaml:"method"`
	Path    string            `yaml:"path"`
	Query   map[string]string `yaml:"query"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
	// Items is the gjson path of the rows in the answer; empty means the
	// answer is one row.
	Items string `yaml:"items"`
	// Every makes a slow-changing request (inventory, firmware) run only
	// this often instead of every poll.
	Every    yamlconf.Duration `yaml:"every"`
	Paginate *Pagination       `yaml:"paginate"`
	// Disabled drops a template's request (set it in an override).
	Disabled bool `yaml:"disabled"`

	Samples    []SampleMap      `yaml:"samples"`
	Inventory  map[string]Field `yaml:"inventory"`
	Components []ComponentMap   `yaml:"components"`
}

// Pagination says how to get the next page.
type Pagination struct {
	// Type is page (page number and size), offset (offset and limit),
	// next_link (a link in the answer or the Link header) or cursor (a
	// token in the answer sent back as a parameter).
	Type string `yaml:"type"`
	// In is where Param and SizeParam go: query (default) or header.
	In        string `yaml:"in"`
	Param     string `yaml:"param"`
	SizeParam string `yaml:"size_param"`
	Size      int    `yaml:"size"`
	// Start is the first page number (page, default 1).
	Start int `yaml:"start"`
	// NextPath is the gjson path of the next link (next_link; empty means
	// the Link header) or of the cursor (cursor).
	NextPath string `yaml:"next_path"`
	// TotalPath is the gjson path of the total row count (page, offset):
	// paging stops when it is reached.
	TotalPath string `yaml:"total_path"`
}

// SampleMap turns rows into samples of one measurement.
type SampleMap struct {
	Measurement string `yaml:"measurement"`
	// Items overrides the request's rows path, for example to filter
	// them with a gjson query: jobs.#(status=="Completed")#.
	Items string `yaml:"items"`
	// Latest keeps, per tag set, only the row where this path (a time or
	// a number) is greatest: the newest job run of each client.
	Latest string            `yaml:"latest"`
	Tags   map[string]string `yaml:"tags"` // tag key -> gjson path
	Fields map[string]Field  `yaml:"fields"`
}

// ComponentMap turns rows into one inventory component list.
type ComponentMap struct {
	Name   string           `yaml:"name"`
	Items  string           `yaml:"items"`
	Fields map[string]Field `yaml:"fields"`
}

const (
	defaultMaxPages = 100
	maxMaxPages     = 100000
)

func newConfig() collectors.Config {
	return &Config{
		RequestTimeout:   yamlconf.Duration(30 * time.Second),
		MaxResponseBytes: 32 << 20,
		MaxPages:         defaultMaxPages,
	}
}

// Validate implements collectors.Config: it loads the template, merges
// the overrides and checks the result, without any I/O but reading the
// template and CA files.
func (c *Config) Validate() error {
	errs := []error{c.ValidateCommon()}
	for i, t := range c.Targets {
		if _, err := baseURL(t.Address); err != nil {
			errs = append(errs, fmt.Errorf("targets[%d]: address: %w", i, err))
		}
	}
	def, kpis, err := c.merged()
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	c.def, c.kpis = def, kpis
	errs = append(errs, c.def.validate(c))
	if c.RequestTimeout.D() < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("request_timeout %s: must be at least 100ms", c.RequestTimeout.D()))
	}
	if c.MaxResponseBytes < 1<<10 {
		errs = append(errs, fmt.Errorf("max_response_bytes %d: must be at least 1024", c.MaxResponseBytes))
	}
	if c.MaxPages < 1 || c.MaxPages > maxMaxPages {
		errs = append(errs, fmt.Errorf("max_pages %d: must be between 1 and %d", c.MaxPages, maxMaxPages))
	}
	tc, err := tlsconf.Client(c.CAFile, c.InsecureSkipVerify)
	if err != nil {
		errs = append(errs, err)
	}
	c.tls = tc
	if c.def.Auth != nil && c.def.Auth.Login != nil {
		t, err := parseLogin(c.def.Auth)
		if err != nil {
			errs = append(errs, err)
		}
		c.tmpl = t
	}
	return errors.Join(errs...)
}

// merged loads the template (if any) and lays the entry's own definition
// over it. It also returns the kpis sections of both, checked together: a
// field the entry defines again must mean what the template says.
func (c *Config) merged() (Definition, []catalog.Section, error) {
	var own []catalog.Section
	if len(c.Definition.KPIs) > 0 {
		if _, err := catalog.New(catalog.User, c.Definition.KPIs); err != nil {
			return Definition{}, nil, fmt.Errorf("kpis: %w", err)
		}
		own = []catalog.Section{c.Definition.KPIs}
	}
	if c.Template == "" {
		return c.Definition, own, nil
	}
	base, err := LoadTemplate(c.Template, c.TemplatesDir)
	if err != nil {
		return Definition{}, nil, err
	}
	var kpis []catalog.Section
	if len(base.KPIs) > 0 {
		kpis = append(kpis, base.KPIs)
	}
	kpis = append(kpis, own...)
	if len(own) > 0 {
		if _, err := catalog.New(catalog.User, kpis...); err != nil {
			return Definition{}, nil, fmt.Errorf("kpis (with template %s): %w", c.Template, err)
		}
	}
	o := c.Definition
	if o.Description != "" {
		base.Description = o.Description
	}
	if o.Category != "" {
		base.Category = o.Category
	}
	if o.BasePath != "" {
		base.BasePath = o.BasePath
	}
	if o.Auth != nil {
		base.Auth = o.Auth
	}
	base.Attributes = mergeMaps(base.Attributes, o.Attributes)
	base.Headers = mergeMaps(base.Headers, o.Headers)
	for _, r := range o.Requests {
		if i := slices.IndexFunc(base.Requests, func(b Request) bool { return b.Name == r.Name }); i >= 0 {
			base.Requests[i] = r
		} else {
			base.Requests = append(base.Requests, r)
		}
	}
	base.Requests = slices.DeleteFunc(base.Requests, func(r Request) bool { return r.Disabled })
	base.KPIs = nil // kept apart in kpis, section by section
	return base, kpis, nil
}

// KPISections returns the kpis sections of what the entry collects, once
// Validate has succeeded: its template's (built-in or from templates_dir)
// and the entry's own. The agent sends them to the server, which keeps
// the built-in meaning of a field over a sent one.
func (c *Config) KPISections() []catalog.Section {
	return slices.Clone(c.kpis)
}

func mergeMaps(a, b map[string]string) map[string]string {
	if len(b) == 0 {
		return a
	}
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// LoadTemplate reads the template called name: from dir when given and
// the file exists there, else from the built-in templates.
func LoadTemplate(name, dir string) (Definition, error) {
	if !kpi.ValidName(strings.ReplaceAll(name, "-", "_")) {
		return Definition{}, fmt.Errorf("template %q: use lowercase letters, digits, - and _", name)
	}
	file := name + ".yaml"
	var data []byte
	var err error
	src := "built-in template " + file
	// A user's template needs English names only; a built-in one is held
	// to complete definitions in both languages.
	strict := catalog.Strict
	if dir != "" {
		if data, err = os.ReadFile(dir + "/" + file); err == nil {
			src, strict = dir+"/"+file, catalog.User
		} else if !errors.Is(err, fs.ErrNotExist) {
			return Definition{}, fmt.Errorf("template %s: %w", name, err)
		}
	}
	if data == nil {
		data, err = fs.ReadFile(configs.RESTTemplates(), file)
		if err != nil {
			return Definition{}, fmt.Errorf("template %q: not found (built-in: %s)", name, strings.Join(TemplateNames(), ", "))
		}
	}
	var d Definition
	if err := yamlconf.Decode(data, &d); err != nil {
		return Definition{}, fmt.Errorf("%s: %w", src, err)
	}
	if _, err := catalog.New(strict, d.KPIs); err != nil {
		return Definition{}, fmt.Errorf("%s: kpis: %w", src, err)
	}
	return d, nil
}

// TemplateNames lists the built-in templates.
func TemplateNames() []string {
	entries, _ := fs.ReadDir(configs.RESTTemplates(), ".")
	var out []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			out = append(out, n)
		}
	}
	return out
}

var categories = []string{"server", "storage", "backup", "network", "power", "printer", "software"}

// validate checks the merged definition.
func (d *Definition) validate(c *Config) error {
	var errs []error
	if d.Category != "" && !slices.Contains(categories, d.Category) {
		errs = append(errs, fmt.Errorf("category %q: must be one of %s", d.Category, strings.Join(categories, ", ")))
	}
	for k := range d.Attributes {
		if !kpi.ValidName(k) {
			errs = append(errs, fmt.Errorf("attributes: key %q: use lowercase letters, digits and _", k))
		}
	}
	if d.BasePath != "" && !strings.HasPrefix(d.BasePath, "/") {
		errs = append(errs, fmt.Errorf("base_path %q: must start with /", d.BasePath))
	}
	if d.Auth == nil {
		d.Auth = &Auth{Type: "none"}
	}
	if err := d.Auth.validate(c); err != nil {
		errs = append(errs, fmt.Errorf("auth: %w", err))
	}
	if len(d.Requests) == 0 {
		errs = append(errs, errors.New("requests: at least one request is needed (or name a template)"))
	}
	seen := map[string]bool{}
	for i := range d.Requests {
		r := &d.Requests[i]
		if seen[r.Name] {
			errs = append(errs, fmt.Errorf("requests[%d]: name %q is used twice", i, r.Name))
		}
		seen[r.Name] = true
		if err := r.validate(); err != nil {
			errs = append(errs, fmt.Errorf("requests[%d] %q: %w", i, r.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (a *Auth) validate(c *Config) error {
	var errs []error
	need := func(ok bool, msg string) {
		if !ok {
			errs = append(errs, errors.New(msg))
		}
	}
	switch a.Type {
	case "", "none":
		a.Type = "none"
	case "basic":
		need(c.Username != "", "basic: username missing")
		need(c.Password.Reveal() != "", "basic: password missing (write it as ${ENV_VAR} or {file: path})")
	case "bearer":
		need(c.Token.Reveal() != "", "bearer: token missing (write it as ${ENV_VAR} or {file: path})")
	case "api_key":
		need(c.Token.Reveal() != "", "api_key: token missing (the API key; write it as ${ENV_VAR} or {file: path})")
		need(a.Header == "" || a.QueryParam == "", "api_key: set header or query_param, not both")
		if a.Header == "" && a.QueryParam == "" {
			a.Header = "X-API-Key"
		}
	case "oauth2":
		need(c.ClientID != "", "oauth2: client_id missing")
		need(c.ClientSecret.Reveal() != "", "oauth2: client_secret missing")
		need(a.TokenURL != "", "oauth2: token_url missing")
	case "session":
		if a.Login == nil || a.Login.Path == "" {
			errs = append(errs, errors.New("session: login.path missing"))
			break
		}
		if a.Login.Method == "" {
			a.Login.Method = "POST"
		}
		if a.Login.TokenHeader != "" && a.Login.TokenPath != "" {
			errs = append(errs, errors.New("session: login: set token_header or token_path, not both"))
		}
		if a.Login.UseHeader == "" {
			a.Login.UseHeader = "Authorization"
		}
		if a.Logout != nil && a.Logout.Method == "" {
			a.Logout.Method = "DELETE"
		}
	default:
		errs = append(errs, fmt.Errorf("type %q: must be none, basic, bearer, api_key, oauth2 or session", a.Type))
	}
	if a.Type != "session" && (a.Login != nil || a.Logout != nil) {
		errs = append(errs, fmt.Errorf("login and logout belong to type session, not %s", a.Type))
	}
	return errors.Join(errs...)
}

func (r *Request) validate() error {
	var errs []error
	if !kpi.ValidName(r.Name) {
		errs = append(errs, errors.New("name: use lowercase letters, digits and _"))
	}
	if r.Method == "" {
		r.Method = "GET"
	}
	r.Method = strings.ToUpper(r.Method)
	if !slices.Contains([]string{"GET", "POST"}, r.Method) {
		errs = append(errs, fmt.Errorf("method %s: must be GET or POST (collecting never changes the device)", r.Method))
	}
	if !strings.HasPrefix(r.Path, "/") {
		errs = append(errs, fmt.Errorf("path %q: must start with /", r.Path))
	}
	if r.Every.D() < 0 {
		errs = append(errs, fmt.Errorf("every %s: must be positive", r.Every.D()))
	}
	if len(r.Samples) == 0 && len(r.Inventory) == 0 && len(r.Components) == 0 {
		errs = append(errs, errors.New("takes nothing: give samples, inventory or components"))
	}
	if p := r.Paginate; p != nil {
		if err := p.validate(); err != nil {
			errs = append(errs, fmt.Errorf("paginate: %w", err))
		}
	}
	for i := range r.Samples {
		s := &r.Samples[i]
		if err := s.validate(); err != nil {
			errs = append(errs, fmt.Errorf("samples[%d] %q: %w", i, s.Measurement, err))
		}
	}
	for k, f := range r.Inventory {
		if !kpi.ValidName(k) {
			errs = append(errs, fmt.Errorf("inventory: key %q: use lowercase letters, digits and _", k))
		}
		if err := f.validate(); err != nil {
			errs = append(errs, fmt.Errorf("inventory.%s: %w", k, err))
		}
		r.Inventory[k] = f
	}
	for i, cm := range r.Components {
		if !kpi.ValidName(cm.Name) {
			errs = append(errs, fmt.Errorf("components[%d]: name %q: use lowercase letters, digits and _", i, cm.Name))
		}
		if len(cm.Fields) == 0 {
			errs = append(errs, fmt.Errorf("components[%d] %q: fields missing", i, cm.Name))
		}
		for k, f := range cm.Fields {
			if !kpi.ValidName(k) {
				errs = append(errs, fmt.Errorf("components[%d] %q: field %q: use lowercase letters, digits and _", i, cm.Name, k))
			}
			if err := f.validate(); err != nil {
				errs = append(errs, fmt.Errorf("components[%d] %q: %s: %w", i, cm.Name, k, err))
			}
			cm.Fields[k] = f
		}
	}
	return errors.Join(errs...)
}

func (p *Pagination) validate() error {
	var errs []error
	switch p.In {
	case "":
		p.In = "query"
	case "query", "header":
	default:
		errs = append(errs, fmt.Errorf("in %q: must be query or header", p.In))
	}
	switch p.Type {
	case "page", "offset":
		if p.Param == "" {
			errs = append(errs, fmt.Errorf("%s: param missing (the %s parameter's name)", p.Type, p.Type))
		}
		if p.Size < 1 {
			errs = append(errs, fmt.Errorf("%s: size %d: must be at least 1", p.Type, p.Size))
		}
		if p.Type == "page" && p.Start == 0 {
			p.Start = 1
		}
	case "next_link", "cursor":
		if p.SizeParam != "" && p.Size < 1 {
			errs = append(errs, fmt.Errorf("%s: size %d: must be at least 1 with size_param", p.Type, p.Size))
		}
		if p.Type == "next_link" {
			break
		}
		if p.Param == "" || p.NextPath == "" {
			errs = append(errs, errors.New("cursor: param and next_path are needed"))
		}
	default:
		errs = append(errs, fmt.Errorf("type %q: must be page, offset, next_link or cursor", p.Type))
	}
	return errors.Join(errs...)
}

func (s *SampleMap) validate() error {
	var errs []error
	if !kpi.ValidName(s.Measurement) {
		errs = append(errs, errors.New("measurement: use lowercase letters, digits and _"))
	}
	if len(s.Fields) == 0 {
		errs = append(errs, errors.New("fields: at least one field is needed"))
	}
	for k, p := range s.Tags {
		if !kpi.ValidName(k) {
			errs = append(errs, fmt.Errorf("tags: key %q: use lowercase letters, digits and _", k))
		}
		if p == "" {
			errs = append(errs, fmt.Errorf("tags.%s: path missing", k))
		}
	}
	for k, f := range s.Fields {
		if !kpi.ValidName(k) {
			errs = append(errs, fmt.Errorf("fields: key %q: use lowercase letters, digits and _", k))
		}
		if err := f.validate(); err != nil {
			errs = append(errs, fmt.Errorf("fields.%s: %w", k, err))
		}
		s.Fields[k] = f
	}
	return errors.Join(errs...)
}

// baseURL turns a target address (host, host:port or URL) into the base
// URL of the API: https unless the URL says http. A path in the URL is
// kept (an API behind a reverse proxy).
func baseURL(addr string) (*url.URL, error) {
	if !strings.Contains(addr, "://") {
		addr = "https://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", addr, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("%q: scheme must be https or http", addr)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%q: host missing", addr)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%q: put credentials in username/password, not in the address", u.Redacted())
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// loginTemplates are the parsed templates of the login and logout requests.
type loginTemplates struct {
	path, body, logout *template.Template
	headers            map[string]*template.Template
}

// The agent sends the definitions of a user's own profiles or templates.
var _ collectors.KPIDefiner = (*Config)(nil)

// KPIDefinitions returns what the agent sends the server
// (collectors.KPIDefiner): the entry's own kpis and, with templates_dir,
// its template's (which may be a user's). A built-in template's alone are
// not sent: the server has them.
func (c *Config) KPIDefinitions() []catalog.Section {
	if c.TemplatesDir != "" {
		return c.KPISections()
	}
	if len(c.Definition.KPIs) == 0 {
		return nil
	}
	return []catalog.Section{c.Definition.KPIs}
}
