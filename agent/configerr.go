package agent

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kpilot/kpilot/collectors"
	"github.com/kpilot/kpilot/internal/yamlconf"
)

// ConfigError is every problem found in one agent config file, in the
// order of their lines, each in the words of the file (its keys and
// collector names) rather than of the Go types behind them.
type ConfigError struct {
	Path     string
	Problems []Problem
}

// Problem is one mistake in a config file. Line is 0 when the mistake is
// not on a line of its own (a required key the file does not have).
type Problem struct {
	Line int
	Msg  string
}

// String is the problem as validate prints it: "line N: message".
func (p Problem) String() string {
	if p.Line == 0 {
		return p.Msg
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
}

// Error is "config PATH: line N: message" for one problem, and for
// several a heading followed by one indented line per problem.
func (e *ConfigError) Error() string {
	if len(e.Problems) == 1 {
		return fmt.Sprintf("config %s: %s", e.Path, e.Problems[0])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "config %s: %d problems:", e.Path, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

func newConfigError(path string, problems []Problem) *ConfigError {
	// Problems without a line (a missing key) first, then by line; the same
	// mistake found twice (a shared block merged into two entries) once.
	slices.SortStableFunc(problems, func(a, b Problem) int { return a.Line - b.Line })
	return &ConfigError{Path: path, Problems: slices.Compact(problems)}
}

var (
	lineRE       = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	nodeType     = reflect.TypeFor[yaml.Node]()
	unmarshaler  = reflect.TypeFor[yaml.Unmarshaler]()
	obsoleteUnm  = reflect.TypeFor[interface{ UnmarshalYAML(func(any) error) error }]()
	durationType = reflect.TypeFor[yamlconf.Duration]()
	secretType   = reflect.TypeFor[yamlconf.Secret]()
	entryType    = reflect.TypeFor[CollectorConfig]()
)

// splitLine parses "line N: message" (also as yaml.v3 prints it, with
// "yaml: " before).
func splitLine(s string) Problem {
	if m := lineRE.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		return Problem{Line: n, Msg: m[2]}
	}
	return Problem{Msg: strings.TrimPrefix(s, "yaml: ")}
}

// decodeProblems turns what the strict decoder says (yaml.v3's
// "unmarshal errors" list, or a message of one of our UnmarshalYAML
// methods) into problems. The schema check before it catches what it
// can say better; this is the rest.
func decodeProblems(path string, err error) []Problem {
	msg := strings.TrimPrefix(err.Error(), "parsing YAML file "+path+": ")
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n")
	var out []Problem
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, splitLine(l))
		}
	}
	return out
}

// parseDocument reads the file's YAML into a node tree, so that every
// later message can name the line of the key it is about. A syntax
// error is reported at the line where the structure breaks.
func parseDocument(data []byte) (*yaml.Node, []Problem) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, []Problem{syntaxProblem(data, err)}
	}
	if len(doc.Content) == 0 {
		return nil, nil // empty file: the defaults, and validation says what is missing
	}
	if second := secondDocument(data); second > 0 {
		return nil, []Problem{{Line: second, Msg: "a config file holds one YAML document; this line starts a second one"}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, []Problem{{Line: root.Line, Msg: "the config must be a map of keys (server:, collectors:, ...), not " + kindWord(root)}}
	}
	return root, nil
}

// secondDocument is the line of a "---" that starts a second document,
// or 0.
func secondDocument(data []byte) int {
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var first, next yaml.Node
	if dec.Decode(&first) != nil || dec.Decode(&next) != nil {
		return 0
	}
	lines := strings.Split(string(data), "\n")
	for i := next.Line - 1; i >= 1; i-- {
		if strings.HasPrefix(lines[i-1], "---") {
			return i
		}
	}
	return next.Line
}

// syntaxProblem explains a YAML syntax error. yaml.v3 reports a block
// that cannot be parsed at the line where the block began ("did not find
// expected key" several lines above the mistake), so the line reported is
// the first line after which the file no longer parses: the smallest
// prefix of the file that fails with the same complaint.
func syntaxProblem(data []byte, err error) Problem {
	p := splitLine(err.Error())
	lines := strings.Split(string(data), "\n")
	if p.Line == 0 || p.Line > len(lines) {
		return p
	}
	if strings.Contains(p.Msg, "found character that cannot start any token") && strings.Contains(lines[p.Line-1], "\t") {
		return Problem{Line: p.Line, Msg: "a tab in the indentation; YAML indents with spaces only"}
	}
	breaks := p.Line
	for k := p.Line; k <= len(lines); k++ {
		var n yaml.Node
		perr := yaml.Unmarshal([]byte(strings.Join(lines[:k], "\n")), &n)
		if perr == nil {
			continue
		}
		if splitLine(perr.Error()).Msg == p.Msg {
			breaks = k
			break
		}
	}
	if msg, ok := indentationMessage(lines, breaks); ok {
		return Problem{Line: breaks, Msg: msg}
	}
	line := strings.TrimSpace(lines[breaks-1])
	switch {
	case p.Msg == "could not find expected ':'" && line != "" && !strings.Contains(line, ":"):
		return Problem{Line: breaks, Msg: fmt.Sprintf("%q has no colon; write key: value", line)}
	case strings.Contains(p.Msg, "end of stream") && (strings.Count(line, `"`)%2 == 1 || strings.Count(line, "'")%2 == 1):
		return Problem{Line: breaks, Msg: "a quote opened on this line is never closed"}
	}
	return Problem{Line: breaks, Msg: "the YAML structure breaks here (" + p.Msg + "); check the indentation of this line and the one above"}
}

// indentationMessage says how line n's indentation fails to fit the lines
// above it: deeper than a key that already has a value, or at a depth no
// open block has.
func indentationMessage(lines []string, n int) (string, bool) {
	text := strings.TrimSpace(lines[n-1])
	if text == "" || strings.HasPrefix(text, "#") {
		return "", false
	}
	ind := indentOf(lines[n-1])
	prev := 0
	for i := n - 1; i >= 1; i-- {
		if t := strings.TrimSpace(lines[i-1]); t != "" && !strings.HasPrefix(t, "#") {
			prev = i
			break
		}
	}
	if prev == 0 {
		return "", false
	}
	prevKey := keyColumn(lines[prev-1])
	prevText := strings.TrimSpace(lines[prev-1])
	if i := strings.Index(prevText, " #"); i >= 0 { // "targets:   # comment" has no value either
		prevText = strings.TrimSpace(prevText[:i])
	}
	opens := strings.HasSuffix(prevText, ":") // the line above starts a block
	item := strings.HasPrefix(text, "- ") || text == "-"
	if ind > prevKey && !opens {
		return fmt.Sprintf("%q is indented more than line %d above it, which already has a value; line it up with the key it belongs to", text, prev), true
	}
	if opens && (ind > prevKey || (item && ind == prevKey)) {
		return "", false // the first line of the block the line above opens
	}
	// The depths at which a key may start here: those of the blocks still
	// open above (each line less indented than everything after it); an
	// item of a list ("- ") starts at the dash of an item above.
	var keys, dashes []int
	limit := ind + 1<<20
	for i := prev; i >= 1 && limit > 0; i-- {
		t := strings.TrimSpace(lines[i-1])
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if kc, ic := keyColumn(lines[i-1]), indentOf(lines[i-1]); ic < limit {
			keys = append(keys, kc)
			if ic < kc {
				dashes = append(dashes, ic)
			}
			limit = ic
		}
	}
	depths, what, fix := keys, "the keys above it are indented by", "the keys it belongs with"
	if item {
		depths, what, fix = dashes, "the list items above it start at", "the items of its list"
	}
	if len(depths) == 0 || slices.Contains(depths, ind) {
		return "", false
	}
	slices.Sort(depths)
	depths = slices.Compact(depths)
	words := make([]string, len(depths))
	for i, d := range depths {
		words[i] = strconv.Itoa(d)
	}
	return fmt.Sprintf("%q is indented by %d spaces, but %s %s; line it up with %s",
		text, ind, what, joinOr(words), fix), true
}

func indentOf(line string) int { return len(line) - len(strings.TrimLeft(line, " ")) }

// keyColumn is where the key of a line starts: after its indentation and
// any "- " sequence indicators.
func keyColumn(line string) int {
	i := indentOf(line)
	for strings.HasPrefix(line[i:], "- ") {
		i += 2
		for i < len(line) && line[i] == ' ' {
			i++
		}
	}
	return i
}

func joinOr(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// scope names where in the file a node sits, for messages: the collector
// entry if any, and the path of keys inside it (or from the top).
type scope struct {
	collector, typ string // the entry's name and type, "" outside collectors
	path           string // dotted key path inside the entry, or from the top
}

func (s scope) child(key string) scope {
	if s.path != "" {
		key = s.path + "." + key
	}
	return scope{s.collector, s.typ, key}
}

func (s scope) index(i int) scope {
	return scope{s.collector, s.typ, fmt.Sprintf("%s[%d]", s.path, i)}
}

// in says where an unknown key was found.
func (s scope) in() string {
	switch {
	case s.collector != "" && s.path == "":
		return fmt.Sprintf("in collector %q (%s)", s.collector, s.typ)
	case s.collector != "":
		return fmt.Sprintf("in %s of collector %q (%s)", s.path, s.collector, s.typ)
	case s.path == "":
		return "at the top level"
	}
	return "in " + s.path
}

// about prefixes a message on the value at s.
func (s scope) about(msg string) string {
	if s.collector != "" {
		return fmt.Sprintf("collector %q (%s): %s: %s", s.collector, s.typ, s.path, msg)
	}
	return s.path + ": " + msg
}

// checkSchema walks the document along the Go type it decodes into and
// reports unknown keys (with the nearest known key) and values of the
// wrong kind (with the key and what it wants), before the decoder says
// the same in Go's words.
func checkSchema(root *yaml.Node) []Problem {
	var c schemaCheck
	c.value(root, reflect.TypeFor[Config](), scope{})
	return c.problems
}

type schemaCheck struct{ problems []Problem }

func (c *schemaCheck) add(line int, msg string) {
	c.problems = append(c.problems, Problem{Line: line, Msg: msg})
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

func kindWord(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a map"
	}
	return fmt.Sprintf("%q", n.Value)
}

// value checks node n, which decodes into a value of type t.
func (c *schemaCheck) value(n *yaml.Node, t reflect.Type, s scope) {
	n = resolve(n)
	if n == nil || t == nodeType {
		return
	}
	if t == entryType {
		c.entry(n, s)
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if pt := reflect.PointerTo(t); pt.Implements(unmarshaler) || pt.Implements(obsoleteUnm) {
		c.custom(n, t, s)
		return
	}
	if isNull(n) {
		return // leaves the default
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if k, v, ok := strings.Cut(n.Value, ":"); ok && n.Kind == yaml.ScalarNode && v != "" && !strings.HasPrefix(v, " ") {
				c.add(n.Line, s.about(fmt.Sprintf("%s is not a map of keys; put a space after the colon: \"%s: %s\"", kindWord(n), k, v)))
				return
			}
			c.add(n.Line, s.about(fmt.Sprintf("%s is not a map of keys (write them indented on the lines under %s)", kindWord(n), lastKey(s.path))))
			return
		}
		c.mapping(n, t, s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			c.add(n.Line, s.about(fmt.Sprintf("%s is not a map (write key: value lines indented under %s)", kindWord(n), lastKey(s.path))))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			c.value(n.Content[i+1], t.Elem(), s.child(n.Content[i].Value))
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			c.add(n.Line, s.about(fmt.Sprintf("%s is not a list (write [a, b], or one \"- item\" line per item)", kindWord(n))))
			return
		}
		for i, e := range n.Content {
			c.value(e, t.Elem(), s.index(i))
		}
	case reflect.Interface:
	default:
		c.scalar(n, t, s)
	}
}

// isWhole says whether a YAML float is a whole number (2.0).
func isWhole(s string) bool {
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && f == math.Trunc(f)
}

// lastKey is the last key of a dotted path, as the user wrote it.
func lastKey(path string) string {
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[i+1:]
	}
	return path
}

// scalar checks a number, bool or string by decoding it as the decoder
// will.
func (c *schemaCheck) scalar(n *yaml.Node, t reflect.Type, s scope) {
	want := "a text"
	switch t.Kind() {
	case reflect.Bool:
		want = "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		want = "a number"
	}
	if n.Kind != yaml.ScalarNode {
		c.add(n.Line, s.about(fmt.Sprintf("wants %s, not %s", want, kindWord(n))))
		return
	}
	whole := t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64
	err := n.Decode(reflect.New(t).Interface())
	switch {
	case err == nil && whole && n.ShortTag() == "!!float" && !isWhole(n.Value):
		// yaml.v3 cuts 1.5 to 1 without a word; say it instead.
		c.add(n.Line, s.about(fmt.Sprintf("%q is not a whole number", n.Value)))
	case err == nil:
	case whole && n.ShortTag() == "!!int" && strings.HasPrefix(n.Value, "-"):
		c.add(n.Line, s.about(fmt.Sprintf("%q is not a number of 0 or more", n.Value)))
	case whole && n.ShortTag() == "!!float":
		c.add(n.Line, s.about(fmt.Sprintf("%q is not a whole number", n.Value)))
	default:
		c.add(n.Line, s.about(fmt.Sprintf("%q is not %s", n.Value, want)))
	}
}

// custom checks a value whose type decodes itself (durations, secrets,
// REST fields) by letting it decode a copy, and puts the key before its
// message.
func (c *schemaCheck) custom(n *yaml.Node, t reflect.Type, s scope) {
	if t == durationType && n.Kind != yaml.ScalarNode {
		c.add(n.Line, s.about(fmt.Sprintf("wants a duration (for example 30s, 5m, 1h or 30d), not %s", kindWord(n))))
		return
	}
	if t == secretType && n.Kind == yaml.ScalarNode {
		return // a secret's ${ENV} is read, and reported, by the decoder once
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		p := splitLine(err.Error())
		c.add(n.Line, s.about(p.Msg))
	}
}

// structKeys lists the YAML keys of struct t as yaml.v3 decodes them:
// tagged names, lower-cased field names, inline structs flattened; and for
// every secret K also K_file (see yamlconf.LoadFile).
func structKeys(t reflect.Type) map[string]reflect.Type {
	keys := map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(","+opts+",", ",inline,") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range structKeys(ft) {
					keys[k] = v
				}
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		keys[name] = f.Type
		if f.Type == secretType {
			keys[name+"_file"] = reflect.TypeFor[string]()
		}
	}
	return keys
}

// pairs lists the key/value pairs of mapping n with merge keys (<<: *x)
// expanded, as the decoder sees them.
func pairs(n *yaml.Node) [][2]*yaml.Node {
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value != "<<" || k.ShortTag() != "!!merge" {
			out = append(out, [2]*yaml.Node{k, v})
			continue
		}
		v = resolve(v)
		srcs := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			srcs = v.Content
		}
		for _, src := range srcs {
			if src = resolve(src); src.Kind == yaml.MappingNode {
				out = append(out, pairs(src)...)
			}
		}
	}
	return out
}

// mapping checks the keys of mapping n against struct t.
func (c *schemaCheck) mapping(n *yaml.Node, t reflect.Type, s scope) {
	keys := structKeys(t)
	var prev reflect.Type // type of the previous key's value, for indentation hints
	prevKey := ""
	for _, kv := range pairs(n) {
		k, v := kv[0], kv[1]
		ft, ok := keys[k.Value]
		if !ok {
			c.add(k.Line, unknownKey(k.Value, keys, prevKey, prev, s))
			prev = nil
			continue
		}
		c.value(v, ft, s.child(k.Value))
		prev, prevKey = ft, k.Value
	}
}

// unknownKey explains a key t does not have: it may belong to the block
// above (a line indented too little) or be misspelled.
func unknownKey(key string, keys map[string]reflect.Type, prevKey string, prev reflect.Type, s scope) string {
	msg := fmt.Sprintf("unknown key %q %s", key, s.in())
	for prev != nil && (prev.Kind() == reflect.Pointer || prev.Kind() == reflect.Slice) {
		prev = prev.Elem()
	}
	if prev != nil && prev.Kind() == reflect.Struct && prev != durationType {
		if _, ok := structKeys(prev)[key]; ok {
			return fmt.Sprintf("%s; it is a key of %q above: indent it to line up with the keys under %s", msg, prevKey, prevKey)
		}
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	slices.Sort(names)
	if best, ok := nearest(key, names); ok {
		return fmt.Sprintf("%s; did you mean %q?", msg, best)
	}
	return fmt.Sprintf("%s (known keys: %s)", msg, strings.Join(names, ", "))
}

// entry checks one collector entry against the Config its type registers.
func (c *schemaCheck) entry(n *yaml.Node, s scope) {
	if n.Kind != yaml.MappingNode {
		c.add(n.Line, fmt.Sprintf("%s: %s is not a collector entry (write type:, name:, targets: and the type's keys)", s.path, kindWord(n)))
		return
	}
	var typ, name *yaml.Node
	for _, kv := range pairs(n) {
		switch kv[0].Value {
		case "type":
			typ = resolve(kv[1])
		case "name":
			name = resolve(kv[1])
		}
	}
	if typ == nil {
		c.add(n.Line, fmt.Sprintf("%s: the entry has no type (one of %s)", s.path, joinOr(collectors.Types())))
		return
	}
	cfg, ok := collectors.Lookup(typ.Value)
	if !ok {
		msg := fmt.Sprintf("%s: unknown collector type %q (known: %s)", s.path, typ.Value, joinOr(collectors.Types()))
		if best, ok := nearest(typ.Value, collectors.Types()); ok {
			msg += fmt.Sprintf("; did you mean %q?", best)
		}
		c.add(typ.Line, msg)
		return
	}
	es := scope{collector: typ.Value, typ: typ.Value}
	if name != nil && name.Value != "" {
		es.collector = name.Value
	}
	c.mapping(n, reflect.TypeOf(cfg).Elem(), es)
}

// nearest is the candidate closest to key by edit distance, if it is
// close enough to be a typo rather than another word: at most a third of
// the key's length, and at least 2 edits allowed.
func nearest(key string, candidates []string) (string, bool) {
	best, bestD := "", -1
	for _, c := range candidates {
		if d := editDistance(key, c); bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best, bestD >= 0 && bestD <= max(2, len(key)/3) && bestD < len(key)
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of two neighbouring letters each
// count 1, since a swap ("comminuty") is as common a typo as a missed
// letter. Keys are short, so the full table is cheap.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// entryError is a validation problem of collector entry Index.
type entryError struct {
	Index     int
	Name, Typ string
	Err       error
}

func (e *entryError) Error() string {
	return fmt.Sprintf("collector %q (%s): %v", e.Name, e.Typ, e.Err)
}

func (e *entryError) Unwrap() error { return e.Err }

// leaves flattens an error tree into its messages, each with the context
// its wrappers put before it, so "targets[0]: " reaches both of a
// target's joined problems.
func leaves(err error) []string {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var kids []string
		var msgs []string
		for _, e := range j.Unwrap() {
			if e != nil {
				kids = append(kids, e.Error())
				msgs = append(msgs, leaves(e)...)
			}
		}
		if err.Error() == strings.Join(kids, "\n") { // errors.Join
			return msgs
		}
		return []string{err.Error()}
	}
	if inner := errors.Unwrap(err); inner != nil {
		prefix, ok := strings.CutSuffix(err.Error(), inner.Error())
		if ok {
			var out []string
			for _, l := range leaves(inner) {
				out = append(out, prefix+l)
			}
			return out
		}
	}
	return []string{err.Error()}
}

// keyPathRE matches the key path a validation message starts with:
// "targets[0]: asset: missing", "server.url \"x\": ...", "timeout 20s: ...".
var keyPathRE = regexp.MustCompile(`^([a-z_][a-z0-9_]*(?:\[\d+\])*(?:\.[a-z_][a-z0-9_]*(?:\[\d+\])*)*)(: | |$)`)

// locate finds the line of the key a validation message is about,
// starting from mapping n (the document or a collector entry): the
// deepest key of the message's leading path the file has. It returns
// fallback when the file has none of them. Indexes into a list are
// followed only when follow says the list was not expanded (a CIDR range
// stands for many targets, so targets[5] is not the file's sixth item).
func locate(n *yaml.Node, msg string, fallback int, follow func(key string) bool) int {
	line := fallback
	for n != nil {
		m := keyPathRE.FindStringSubmatch(msg)
		if m == nil {
			return line
		}
		for _, seg := range strings.Split(m[1], ".") {
			name, idx, _ := strings.Cut(seg, "[")
			k, v := lookup(n, name)
			if k == nil {
				return line
			}
			line, n = k.Line, v
			if idx == "" || !follow(name) {
				continue
			}
			for _, part := range strings.Split(strings.TrimSuffix(idx, "]"), "][") {
				i, _ := strconv.Atoi(part)
				if n == nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
					return line
				}
				n = resolve(n.Content[i])
				line = n.Line
			}
		}
		if m[2] != ": " {
			return line
		}
		msg = msg[len(m[0]):]
	}
	return line
}

// lookup finds key in mapping n (merge keys included).
func lookup(n *yaml.Node, key string) (k, v *yaml.Node) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for _, kv := range pairs(n) {
		if kv[0].Value == key {
			return kv[0], resolve(kv[1])
		}
	}
	return nil, nil
}

// validationProblems gives each of Validate's problems the line of the
// key it is about.
func (c *Config) validationProblems(err error) []Problem {
	var out []Problem
	var entries *yaml.Node
	if _, v := lookup(c.doc, "collectors"); v != nil && v.Kind == yaml.SequenceNode {
		entries = v
	}
	var walk func(err error)
	walk = func(err error) {
		if ee, ok := err.(*entryError); ok {
			var n *yaml.Node
			line := c.Collectors[ee.Index].Line
			if entries != nil && ee.Index < len(entries.Content) {
				n = resolve(entries.Content[ee.Index])
				line = n.Line
			}
			follow := func(key string) bool {
				_, v := lookup(n, key)
				return key != "targets" || (v != nil && len(v.Content) == len(c.Collectors[ee.Index].Base().Targets))
			}
			for _, l := range leaves(ee.Err) {
				out = append(out, Problem{Line: locate(n, l, line, follow), Msg: fmt.Sprintf("collector %q (%s): %s", ee.Name, ee.Typ, l)})
			}
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		for _, l := range leaves(err) {
			out = append(out, Problem{Line: locate(c.doc, l, 0, func(string) bool { return true }), Msg: l})
		}
	}
	walk(err)
	return out
}
