package yamlconf

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// SecretKeys lists the YAML keys of the Secret fields of the given values'
// types, searched through structs (also inline ones), pointers, slices and
// maps. Each such key K may also be written K_file: PATH in a config.
func SecretKeys(values ...any) []string {
	seen := map[reflect.Type]bool{}
	keys := map[string]bool{}
	secret := reflect.TypeFor[Secret]()
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map || t.Kind() == reflect.Array {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for f := range t.Fields() {
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if f.Type == secret && name != "" && name != "-" {
				keys[name] = true
				continue
			}
			walk(f.Type)
		}
	}
	for _, v := range values {
		if v != nil {
			walk(reflect.TypeOf(v))
		}
	}
	out := make([]string, 0, len(keys))
	for k := range keys {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// rewriteSecretFiles turns every "K_file: PATH" whose K is in keys into
// "K: {file: PATH}" in the source text, in place on the same line, so that
// error messages keep their line numbers and the strict decoder still sees
// every other key. Giving both K and K_file in one mapping is an error.
func rewriteSecretFiles(data []byte, keys []string) ([]byte, error) {
	if len(keys) == 0 || !strings.Contains(string(data), "_file") {
		return data, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return data, nil // the strict decoder reports it
	}
	type edit struct {
		line, col, n int // 1-based line and column (in characters), characters to replace
		with         string
	}
	var edits []edit
	var errs []string
	lines := strings.Split(string(data), "\n")
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			have := map[string]bool{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				have[n.Content[i].Value] = true
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				base, ok := strings.CutSuffix(k.Value, "_file")
				if !ok || !slices.Contains(keys, base) || k.Style != 0 || v.Kind != yaml.ScalarNode {
					continue
				}
				if have[base] {
					errs = append(errs, fmt.Sprintf("line %d: %s and %s: give the secret or the file that holds it, not both", k.Line, base, k.Value))
					continue
				}
				span, ok := scalarSpan(lines, v)
				if !ok {
					continue // left for the decoder: "field K_file not found"
				}
				edits = append(edits, edit{k.Line, k.Column, utf8.RuneCountInString(k.Value), base},
					edit{v.Line, v.Column, span, "{file: " + sourceText(lines, v, span) + "}"})
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	// Apply right to left so earlier columns stay valid.
	slices.SortFunc(edits, func(a, b edit) int {
		if a.line != b.line {
			return a.line - b.line
		}
		return b.col - a.col
	})
	for _, e := range edits {
		r := []rune(lines[e.line-1])
		lines[e.line-1] = string(r[:e.col-1]) + e.with + string(r[e.col-1+e.n:])
	}
	return []byte(strings.Join(lines, "\n")), nil
}

// scalarSpan is the length in characters of a one-line scalar in the
// source: plain, single- or double-quoted.
func scalarSpan(lines []string, v *yaml.Node) (int, bool) {
	if v.Line < 1 || v.Line > len(lines) {
		return 0, false
	}
	r := []rune(lines[v.Line-1])
	start := v.Column - 1
	if start < 0 || start >= len(r) {
		return 0, false
	}
	switch v.Style {
	case 0:
		n := utf8.RuneCountInString(v.Value)
		if strings.Contains(v.Value, "\n") || start+n > len(r) || string(r[start:start+n]) != v.Value {
			return 0, false
		}
		return n, true
	case yaml.DoubleQuotedStyle:
		for i := start + 1; i < len(r); i++ {
			switch r[i] {
			case '\\':
				i++
			case '"':
				return i - start + 1, true
			}
		}
	case yaml.SingleQuotedStyle:
		for i := start + 1; i < len(r); i++ {
			if r[i] == '\'' {
				if i+1 < len(r) && r[i+1] == '\'' {
					i++
					continue
				}
				return i - start + 1, true
			}
		}
	}
	return 0, false
}

func sourceText(lines []string, v *yaml.Node, span int) string {
	r := []rune(lines[v.Line-1])
	return string(r[v.Column-1 : v.Column-1+span])
}
