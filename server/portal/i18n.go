package portal

import (
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
)

//go:embed locales/*.yaml
var localeFS embed.FS

// texts holds the portal's texts: YAML files under locales/ named
// <lang>.yaml or <part>.<lang>.yaml (English is the default and the
// fallback); the parts of one language are merged. A translator adds a
// language by adding its files; a test checks that every language has
// every message the templates use.
type texts struct {
	bundle  *i18n.Bundle
	langs   []string
	matcher language.Matcher
}

const langCookie = "kpilot_lang"

func loadTexts() (*texts, error) {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	files, err := fs.Glob(localeFS, "locales/*.yaml")
	if err != nil {
		return nil, err
	}
	c := &texts{bundle: b}
	tags := []language.Tag{language.English}
	for _, f := range files {
		data, err := localeFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		mf, err := b.ParseMessageFileBytes(data, path.Base(f))
		if err != nil {
			return nil, fmt.Errorf("portal translations %s: %w", f, err)
		}
		base, _ := mf.Tag.Base()
		if slices.Contains(c.langs, base.String()) {
			continue
		}
		c.langs = append(c.langs, base.String())
		if mf.Tag != language.English {
			tags = append(tags, mf.Tag)
		}
	}
	c.matcher = language.NewMatcher(tags)
	return c, nil
}

// localizerFor picks the language: ?lang=, then the language cookie,
// then the browser's Accept-Language.
func (c *texts) localizerFor(r *http.Request) (string, *i18n.Localizer) {
	want := r.URL.Query().Get("lang")
	if want == "" {
		if ck, err := r.Cookie(langCookie); err == nil {
			want = ck.Value
		}
	}
	tag, _ := language.MatchStrings(c.matcher, want, r.Header.Get("Accept-Language"))
	base, _ := tag.Base()
	lang := base.String()
	return lang, i18n.NewLocalizer(c.bundle, lang)
}

// localizer is localizerFor and remembers a language chosen with ?lang=.
func (c *texts) localizer(w http.ResponseWriter, r *http.Request) (string, *i18n.Localizer) {
	lang, loc := c.localizerFor(r)
	if want := r.URL.Query().Get("lang"); want != "" && strings.EqualFold(want, lang) {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
			SameSite: http.SameSiteLaxMode})
	}
	return lang, loc
}
