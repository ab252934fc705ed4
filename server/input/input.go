// Package input checks what people type into the server's forms and API
// requests: names and email addresses. Its errors are problem.Invalid with
// a message naming the field, as the caller shows it.
package input

import (
	netmail "net/mail"
	"strings"
	"unicode/utf8"

	"github.com/kpilot/kpilot/server/problem"
)

// Name trims a name (of an OU, group, company, token, …) and accepts it if
// it is 1 to 200 characters on one line; field names it in the message.
func Name(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > 200 || strings.ContainsAny(s, "\x00\r\n") {
		return "", problem.Invalidf("%s: 1 to 200 characters on one line", field)
	}
	return s, nil
}

// Email accepts one bare address ("a@b.example") and returns it
// lowercased; field names it in the message.
func Email(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	addr, err := netmail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" || len(s) > 254 {
		return "", problem.Invalidf("%s %q: not an email address", field, s)
	}
	return strings.ToLower(s), nil
}
