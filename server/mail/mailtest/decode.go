package mailtest

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"strings"
)

// mimeDecoder decodes the headers and single-part bodies go-mail writes.
type mimeDecoder struct{ d mime.WordDecoder }

func (m *mimeDecoder) header(s string) string {
	out, err := m.d.DecodeHeader(s)
	if err != nil {
		return s
	}
	return out
}

func (m *mimeDecoder) body(cte string, b []byte) string {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
		if err == nil {
			return string(out)
		}
	case "base64":
		out, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), ""))
		if err == nil {
			return string(out)
		}
	}
	return string(b)
}

// parts returns the decoded text/plain and text/html parts of a
// multipart message, looking into nested multiparts.
func (m *mimeDecoder) parts(r *multipart.Reader) (text, html string) {
	for {
		p, err := r.NextPart()
		if err != nil {
			return text, html
		}
		mt, params, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		b, _ := io.ReadAll(p)
		switch {
		case strings.HasPrefix(mt, "multipart/"):
			t, h := m.parts(multipart.NewReader(bytes.NewReader(b), params["boundary"]))
			text, html = text+t, html+h
		case mt == "text/plain" && text == "":
			text = m.body(p.Header.Get("Content-Transfer-Encoding"), b)
		case mt == "text/html" && html == "":
			html = m.body(p.Header.Get("Content-Transfer-Encoding"), b)
		}
	}
}
