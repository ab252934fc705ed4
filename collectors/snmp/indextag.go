package snmp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/kpilot/kpilot/internal/kpi"
)

// Index decodings of IndexTagDef.Decode.
const (
	IndexOID           = "oid"            // sub-identifiers joined by "." (default)
	IndexNumber        = "number"         // one sub-identifier
	IndexString        = "string"         // length-prefixed ASCII: the first sub-identifier is the length
	IndexImpliedString = "implied_string" // ASCII of every remaining sub-identifier (IMPLIED)
)

// IndexTagDef is a tag made of a table row's index, or part of it, for
// tables whose rows have no name column: NS-ROOT-MIB's health counters are
// indexed by their name, encoded in the OID as a length-prefixed string,
// and the table has no column holding it. A column tag of the same name
// with a value wins over it.
type IndexTagDef struct {
	Name string `yaml:"name"`
	// Skip is the number of sub-identifiers of the index passed over
	// before the part decoded (a slot number before a port's name).
	Skip int `yaml:"skip"`
	// Length is the number of sub-identifiers taken by `oid` (0: all that
	// remain). `number` takes one, `string` its length prefix and as many
	// characters, `implied_string` all that remain.
	Length int    `yaml:"length"`
	Decode string `yaml:"decode"`
	// Template is the tag's text with {} standing for the decoded part
	// ("Packet CPU {}"); empty means the part alone.
	Template string `yaml:"template"`
}

func (d *IndexTagDef) validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !kpi.ValidName(d.Name) {
		add("name %q: use lowercase letters, digits and _", d.Name)
	}
	switch d.Decode {
	case "":
		d.Decode = IndexOID
	case IndexOID, IndexNumber, IndexString, IndexImpliedString:
	default:
		add("decode %q: use oid, number, string or implied_string", d.Decode)
	}
	if d.Skip < 0 || d.Length < 0 {
		add("skip and length count sub-identifiers: not negative")
	}
	if d.Length > 0 && d.Decode != IndexOID {
		add("length applies to decode oid")
	}
	return errors.Join(errs...)
}

// text decodes the part of idx (a row index such as "9.68.105.115.107")
// the definition names; ok is false where the index is too short or not
// the encoding expected (a string with a character above 255 or a control
// character), so that no tag is set.
func (d *IndexTagDef) text(idx string) (string, bool) {
	subs := strings.Split(idx, ".")
	if d.Skip >= len(subs) {
		return "", false
	}
	subs = subs[d.Skip:]
	var part string
	switch d.Decode {
	case IndexNumber:
		part = subs[0]
	case IndexString, IndexImpliedString:
		if d.Decode == IndexString {
			n, err := strconv.Atoi(subs[0])
			if err != nil || n < 0 || n > len(subs)-1 {
				return "", false
			}
			subs = subs[1 : 1+n]
		}
		s, ok := asciiOf(subs)
		if !ok {
			return "", false
		}
		part = s
	default:
		if d.Length > 0 {
			if d.Length > len(subs) {
				return "", false
			}
			subs = subs[:d.Length]
		}
		part = strings.Join(subs, ".")
	}
	if d.Template != "" {
		return strings.ReplaceAll(d.Template, "{}", part), true
	}
	return part, true
}

// asciiOf is the text whose character codes are subs (Latin-1 codes,
// written as UTF-8); control characters mean the index is not text.
func asciiOf(subs []string) (string, bool) {
	var b strings.Builder
	for _, s := range subs {
		c, err := strconv.Atoi(s)
		if err != nil || c < 0x20 || c > 0xff || c == 0x7f {
			return "", false
		}
		b.WriteRune(rune(c))
	}
	return b.String(), true
}

// setIndexTags tags row with g's index tags for row index idx; column
// tags set afterwards replace them where the device names the row.
func setIndexTags(g *Group, row *kpi.Row, idx string) {
	for i := range g.IndexTags {
		if t, ok := g.IndexTags[i].text(idx); ok && t != "" {
			row.SetTag(g.IndexTags[i].Name, t)
		}
	}
}

// indexTagText is the text of g's index tag name for row idx, for where
// conditions; found is false where name is no index tag of g.
func indexTagText(g *Group, name, idx string) (text string, found bool) {
	for i := range g.IndexTags {
		if g.IndexTags[i].Name == name {
			t, _ := g.IndexTags[i].text(idx)
			return t, true
		}
	}
	return "", false
}

// holds reports whether a condition keeps a row whose value is text.
func (w *Cond) holds(text string) bool {
	if w.re != nil {
		return w.re.MatchString(text)
	}
	text = strings.TrimPrefix(text, ".")
	has := func(list []string) bool {
		for _, s := range list {
			if strings.TrimPrefix(s, ".") == text {
				return true
			}
		}
		return false
	}
	return (len(w.In) == 0 || has(w.In)) && (len(w.NotIn) == 0 || !has(w.NotIn))
}
