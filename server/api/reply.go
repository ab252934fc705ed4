package api

import (
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// withJSON decodes the request's JSON body (decodeJSON) and hands it to h.
func withJSON[T any](w http.ResponseWriter, r *http.Request, h func(req T) error) error {
	var req T
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	return h(req)
}

// reply answers v with code if the call that made v succeeded.
func reply(w http.ResponseWriter, code int, v any, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, code, v)
	return nil
}

// noContent answers 204 if the call it is given succeeded.
func noContent(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// each converts a list for a JSON answer: [] rather than null when empty.
func each[T, U any](in []T, f func(T) U) []U {
	out := make([]U, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}

// nonNil is s, or [] rather than null in a JSON answer when nil.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// timePtr is t in UTC for an optional JSON time: nil when zero.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// limitParam reads the query parameter "limit": def when absent, else a
// whole number from 1 to most.
func limitParam(q url.Values, def, most int) (int, error) {
	l := q.Get("limit")
	if l == "" {
		return def, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > most {
		return 0, badRequest("limit %q: a number from 1 to %d", l, most)
	}
	return n, nil
}
