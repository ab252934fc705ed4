package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/mail"
	"github.com/kpilot/kpilot/server/store"
)

// notice is one event as the channel formats (Teams, Slack, email) show
// it: read back from the stored payload, so every kind shows what the
// webhook receives.
type notice struct {
	Event     string
	CreatedAt time.Time
	Finding   FindingData
}

func readNotice(v store.WebhookDelivery) (notice, error) {
	var e struct {
		Event     string          `json:"event"`
		CreatedAt time.Time       `json:"created_at"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(v.Payload, &e); err != nil {
		return notice{}, fmt.Errorf("reading payload of delivery %s: %w", v.ID, err)
	}
	n := notice{Event: e.Event, CreatedAt: e.CreatedAt}
	if v.FindingID != "" {
		if err := json.Unmarshal(e.Data, &n.Finding); err != nil {
			return notice{}, fmt.Errorf("reading payload of delivery %s: %w", v.ID, err)
		}
	}
	return n, nil
}

// words are the labels of one language.
type words struct {
	events     map[string]string
	severities map[store.Severity]string

	asset, agent, customer, subject, opened, resolved string
	open, test, digest, events1, footer               string
}

var languages = map[string]words{
	"en": {
		events: map[string]string{EventFindingOpened: "Opened", EventFindingResolved: "Resolved", EventFindingAcknowledged: "Acknowledged",
			EventAssetDown: "Asset down", EventAssetUp: "Asset up again", EventAgentSilent: "Agent silent", EventFindingRepeat: "Still open",
			EventPing: "Test"},
		severities: map[store.Severity]string{store.SeverityInfo: "Info", store.SeverityWarning: "Warning", store.SeverityCritical: "Critical"},
		asset:      "Asset", agent: "Agent", customer: "Customer", subject: "Subject", opened: "Opened at", resolved: "Resolved at",
		open: "Open the asset in kpilot", test: "This is a test notification from kpilot: the channel works.",
		digest: "kpilot digest", events1: "events", footer: "You receive this because of a notification channel or your subscription in kpilot.",
	},
	"de": {
		events: map[string]string{EventFindingOpened: "Neu", EventFindingResolved: "Behoben", EventFindingAcknowledged: "Bestätigt",
			EventAssetDown: "Gerät nicht erreichbar", EventAssetUp: "Gerät wieder erreichbar", EventAgentSilent: "Agent meldet sich nicht",
			EventFindingRepeat: "Weiterhin offen", EventPing: "Test"},
		severities: map[store.Severity]string{store.SeverityInfo: "Info", store.SeverityWarning: "Warnung", store.SeverityCritical: "Kritisch"},
		asset:      "Gerät", agent: "Agent", customer: "Kunde", subject: "Betrifft", opened: "Geöffnet", resolved: "Behoben",
		open: "Gerät in kpilot öffnen", test: "Dies ist eine Testbenachrichtigung von kpilot: der Kanal funktioniert.",
		digest: "kpilot-Zusammenfassung", events1: "Ereignisse", footer: "Sie erhalten diese Nachricht wegen eines Benachrichtigungskanals oder Ihres Abonnements in kpilot.",
	},
}

func wordsOf(lang string) words {
	if w, ok := languages[lang]; ok {
		return w
	}
	return languages["en"]
}

// title is a notice's one-line summary: severity, event, asset (or
// agent) and finding, "[Critical] Asset down: db-01 – not reachable".
func (n notice) title(w words) string {
	if n.Event == EventPing {
		return "kpilot: " + w.events[EventPing]
	}
	f := n.Finding
	what := "kpilot"
	switch {
	case f.Asset != nil:
		what = f.Asset.Name
	case f.Agent != nil:
		what = w.agent + " " + f.Agent.Name
	}
	return fmt.Sprintf("[%s] %s: %s – %s", w.severities[f.Severity], w.events[n.Event], what, n.text())
}

func (n notice) text() string {
	if n.Finding.Subject != "" && !strings.Contains(n.Finding.Text, n.Finding.Subject) {
		return n.Finding.Subject + ": " + n.Finding.Text
	}
	return n.Finding.Text
}

// link is the asset's page in the portal, "" for an agent's finding.
func (n notice) link(publicURL string) string {
	if n.Finding.Asset == nil || publicURL == "" {
		return ""
	}
	return publicURL + "/assets/" + n.Finding.Asset.ID
}

// facts are a notice's labelled details.
func (n notice) facts(w words) [][2]string {
	f := n.Finding
	var out [][2]string
	if f.Asset != nil {
		out = append(out, [2]string{w.asset, f.Asset.Name})
	}
	if f.Agent != nil {
		out = append(out, [2]string{w.agent, f.Agent.Name})
	}
	if f.Subject != "" {
		out = append(out, [2]string{w.subject, f.Subject})
	}
	out = append(out, [2]string{w.customer, f.Customer.Name}, [2]string{w.opened, f.OpenedAt.UTC().Format("2006-01-02 15:04 MST")})
	if f.ResolvedAt != nil {
		out = append(out, [2]string{w.resolved, f.ResolvedAt.UTC().Format("2006-01-02 15:04 MST")})
	}
	return out
}

// teamsBody is the message a Teams Workflows webhook ("Send webhook
// alerts to a channel") posts: one Adaptive Card 1.4 in a message
// envelope. Cards render Markdown only in part, so texts go in plain.
func teamsBody(n notice, lang, publicURL string) []byte {
	w := wordsOf(lang)
	body := []map[string]any{
		{"type": "TextBlock", "text": n.title(w), "weight": "Bolder", "size": "Medium", "wrap": true,
			"color": map[store.Severity]string{store.SeverityCritical: "Attention", store.SeverityWarning: "Warning"}[n.Finding.Severity]},
	}
	if n.Event == EventPing {
		body = append(body, map[string]any{"type": "TextBlock", "text": w.test, "wrap": true})
	} else {
		var facts []map[string]string
		for _, f := range n.facts(w) {
			facts = append(facts, map[string]string{"title": f[0], "value": f[1]})
		}
		body = append(body, map[string]any{"type": "FactSet", "facts": facts})
	}
	card := map[string]any{"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
		"version": "1.4", "body": body}
	if l := n.link(publicURL); l != "" {
		card["actions"] = []map[string]string{{"type": "Action.OpenUrl", "title": w.open, "url": l}}
	}
	b, _ := json.Marshal(map[string]any{"type": "message", "attachments": []map[string]any{
		{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": nil, "content": card}}})
	return b
}

// slackEscape escapes what Slack reads as markup ("<!channel>" would
// notify everyone).
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackBody is an incoming-webhook message: text (the notification's
// fallback) and Block Kit blocks.
func slackBody(n notice, lang, publicURL string) []byte {
	w := wordsOf(lang)
	title := slackEscape.Replace(n.title(w))
	blocks := []map[string]any{{"type": "section", "text": map[string]string{"type": "mrkdwn", "text": "*" + title + "*"}}}
	if n.Event == EventPing {
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]string{"type": "plain_text", "text": w.test}})
	} else {
		var fields []map[string]string
		for _, f := range n.facts(w) {
			fields = append(fields, map[string]string{"type": "mrkdwn", "text": "*" + f[0] + "*\n" + slackEscape.Replace(f[1])})
		}
		blocks = append(blocks, map[string]any{"type": "section", "fields": fields})
	}
	if l := n.link(publicURL); l != "" {
		blocks = append(blocks, map[string]any{"type": "context", "elements": []map[string]string{
			{"type": "mrkdwn", "text": "<" + l + "|" + w.open + ">"}}})
	}
	b, _ := json.Marshal(map[string]any{"text": title, "blocks": blocks})
	return b
}

var mailHTML = template.Must(template.New("mail").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family: sans-serif; color: #222; max-width: 40em">
{{range .Items}}<h2 style="font-size: 1.1em">{{.Title}}</h2>
{{if .Test}}<p>{{.Test}}</p>{{end}}<table style="border-collapse: collapse">
{{range .Facts}}<tr><th style="text-align: left; padding: 2px 12px 2px 0">{{index . 0}}</th><td>{{index . 1}}</td></tr>
{{end}}</table>
{{if .Link}}<p><a href="{{.Link}}">{{.Open}}</a></p>{{end}}
{{end}}<p style="color: #666; font-size: 0.85em">{{.Footer}}</p>
</body></html>
`))

// emailMessage is the mail of one notice, or of several (a digest): a
// text body and an HTML alternative in the channel's language, the
// subject naming severity, event, asset and finding.
func emailMessage(to, lang, publicURL string, ns []notice, digest bool) mail.Message {
	w := wordsOf(lang)
	subject := ns[0].title(w)
	if digest {
		subject = fmt.Sprintf("%s: %d %s", w.digest, len(ns), w.events1)
	}
	type item struct {
		Title, Test, Link, Open string
		Facts                   [][2]string
	}
	data := struct {
		Lang, Subject, Footer string
		Items                 []item
	}{Lang: lang, Subject: subject, Footer: w.footer}
	var text strings.Builder
	for i, n := range ns {
		it := item{Title: n.title(w), Link: n.link(publicURL), Open: w.open}
		if i > 0 {
			text.WriteString("\n")
		}
		text.WriteString(it.Title + "\n\n")
		if n.Event == EventPing {
			it.Test = w.test
			text.WriteString(w.test + "\n")
		} else {
			it.Facts = n.facts(w)
			for _, f := range it.Facts {
				fmt.Fprintf(&text, "%s: %s\n", f[0], f[1])
			}
		}
		if it.Link != "" {
			fmt.Fprintf(&text, "\n%s:\n    %s\n", w.open, it.Link)
		}
		data.Items = append(data.Items, it)
	}
	text.WriteString("\n-- \n" + w.footer + "\n")
	var html bytes.Buffer
	if err := mailHTML.Execute(&html, data); err != nil {
		html.Reset() // the text alone still says it all
	}
	return mail.Message{To: to, Subject: subject, Text: text.String(), HTML: html.String()}
}
