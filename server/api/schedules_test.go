package api_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/mail"
	"github.com/kpilot/kpilot/server/mail/mailtest"
	"github.com/kpilot/kpilot/server/schedule"
	"github.com/kpilot/kpilot/server/visibility"
)

// attachment returns the first attachment of a received message.
func attachment(t *testing.T, m mailtest.Received) (string, []byte) {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(m.Raw))
	require.NoError(t, err)
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		require.NoError(t, err, "no attachment")
		if part.FileName() != "" {
			raw, err := io.ReadAll(part)
			require.NoError(t, err)
			if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
				raw, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
				require.NoError(t, err)
			}
			return part.FileName(), raw
		}
	}
}

func TestScheduledReportsAreMailedWithTheCreatorsVisibility(t *testing.T) {
	w := newWorld(t)
	require.NoError(t, w.store.DeleteReportSchedule(t.Context(), w.schedule.ID)) // only r1's below
	r := w.do("r1_admin", "POST", "/api/v1/report-schedules", map[string]any{"template": "inventory", "format": "csv",
		"every": "weekly", "recipients": []string{"meeting@reseller.example", "Boss <boss@reseller.example>"}})
	require.Equal(t, http.StatusBadRequest, r.code, "recipients are plain addresses")
	r = w.do("r1_admin", "POST", "/api/v1/report-schedules", map[string]any{"template": "inventory", "format": "csv",
		"every": "weekly", "recipients": []string{"meeting@reseller.example"}})
	require.Equal(t, http.StatusCreated, r.code, "%s", r.raw)
	next, err := time.Parse(time.RFC3339, r.body["next_run_at"].(string))
	require.NoError(t, err)
	require.Equal(t, time.Monday, next.Weekday())
	require.Equal(t, 6, next.Hour())

	for _, tt := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"template": "secrets", "every": "daily", "recipients": []string{"a@b.example"}}, "template: one of"},
		{map[string]any{"template": "backup", "every": "hourly", "recipients": []string{"a@b.example"}}, "every: daily, weekly or monthly"},
		{map[string]any{"template": "backup", "every": "daily", "recipients": []string{}}, "recipients: 1 to 20"},
		{map[string]any{"template": "backup", "every": "daily", "recipients": []string{"a@b.example"}, "scope": map[string]string{"org_id": "x"}}, `scope: "org_id"`},
	} {
		r = w.do("acme_admin", "POST", "/api/v1/report-schedules", tt.body)
		require.Equal(t, http.StatusBadRequest, r.code, "%v", tt.body)
		require.Contains(t, r.body["error"], tt.want)
	}
	// A scope the creator may not see is refused when it is set up.
	r = w.do("r1_admin", "POST", "/api/v1/report-schedules", map[string]any{"template": "inventory", "every": "daily",
		"recipients": []string{"a@b.example"}, "scope": map[string]string{"asset_id": w.assets["g1"].ID}})
	require.Equal(t, http.StatusNotFound, r.code)
	r = w.do("r1_viewer", "POST", "/api/v1/report-schedules", map[string]any{"template": "inventory", "every": "daily",
		"recipients": []string{"a@b.example"}})
	require.Equal(t, http.StatusForbidden, r.code)

	// The scheduler as the server wires it, resolving visibility through
	// the API. Nothing is due yet.
	sender, err := mail.NewSMTP("kpilot <noreply@kpilot.example>", mail.SMTPOptions{Host: w.smtp.Host, Port: w.smtp.Port,
		Username: w.smtp.Username, Password: w.smtp.Password, CAFile: w.smtp.CAFile})
	require.NoError(t, err)
	a := schedule.New(w.store, w.tsdb, visibility.NewLoader(w.store), sender, "https://kpilot.example", discard)
	require.NoError(t, a.RunDue(t.Context(), time.Now()))
	require.Empty(t, w.smtp.Messages())

	// A week later: the report arrives, made as r1 sees the assets.
	require.NoError(t, a.RunDue(t.Context(), next.Add(time.Minute)))
	m := w.smtp.Wait(t, 1)
	require.Equal(t, []string{"meeting@reseller.example"}, m.To)
	require.Equal(t, "kpilot: Inventory report (weekly)", m.Subject)
	name, data := attachment(t, m)
	require.Regexp(t, `^kpilot-inventory-\d{4}-\d{2}-\d{2}\.csv$`, name)
	require.Contains(t, string(data), w.assets["a_root"].ID, "r1 holds a grant for a_root")
	require.NotContains(t, string(data), w.assets["a_branch"].ID)
	require.NotContains(t, string(data), w.assets["g1"].ID)
	require.NoError(t, a.RunDue(t.Context(), next.Add(2*time.Minute)))
	require.Len(t, w.smtp.Messages(), 1, "once per run")

	// The grant is revoked: next week's report no longer shows the asset.
	require.Equal(t, http.StatusNoContent, w.do("acme_admin", "DELETE", "/api/v1/grants/"+w.r1Grant.ID, nil).code)
	require.NoError(t, a.RunDue(t.Context(), next.Add(7*24*time.Hour+time.Minute)))
	_, data = attachment(t, w.smtp.Wait(t, 2))
	require.NotContains(t, string(data), w.assets["a_root"].ID)

	list := w.do("r1_viewer", "GET", "/api/v1/report-schedules", nil)
	require.Len(t, list.body["schedules"], 1)
	s := list.body["schedules"].([]any)[0].(map[string]any)
	require.Equal(t, "r1_admin@example.com", s["created_by"])
	require.NotNil(t, s["last_run_at"])
	require.Empty(t, w.do("acme_admin", "GET", "/api/v1/report-schedules", nil).body["schedules"])
	id := s["id"].(string)
	require.Equal(t, http.StatusNotFound, w.do("acme_admin", "DELETE", "/api/v1/report-schedules/"+id, nil).code)
	require.Equal(t, http.StatusForbidden, w.do("r1_viewer", "DELETE", "/api/v1/report-schedules/"+id, nil).code)
	require.Equal(t, http.StatusNoContent, w.do("r1_admin", "DELETE", "/api/v1/report-schedules/"+id, nil).code)
}
