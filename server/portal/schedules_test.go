package portal_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// An admin schedules a report with a period and a scope, sees the API's
// message at the field it names, and deletes the schedule; a viewer has
// no form and is refused; a partner cannot schedule a customer's asset it
// does not see.
func TestReportSchedules(t *testing.T) {
	s := newSite(t)
	nas := s.assets["Acme NAS"].ID
	admin := s.browser()
	admin.login("admin@acme.example")
	p := admin.get("/reports")
	require.Contains(t, p.body, "No reports are scheduled.")

	tests := []struct {
		name     string
		form     url.Values
		wantCode int
		want     string
	}{
		{"recipient not an address", url.Values{"template": {"availability"}, "format": {"pdf"}, "every": {"weekly"}, "scope": {"all"},
			"recipients": {"it@acme.example, nobody"}}, http.StatusBadRequest,
			`<p class="field-err" id="s-recipients-err">&#34;nobody&#34; is not an email address</p>`},
		{"unknown period", url.Values{"template": {"availability"}, "format": {"pdf"}, "every": {"hourly"}, "scope": {"all"},
			"recipients": {"it@acme.example"}}, http.StatusBadRequest, `<select id="s-every" name="every" aria-invalid="true">`},
		{"asset scope, weekly", url.Values{"template": {"capacity"}, "format": {"csv"}, "every": {"weekly"}, "scope": {"asset_id"},
			"asset_id": {nas}, "category": {"server"}, "recipients": {"it@acme.example boss@acme.example"}}, http.StatusOK,
			"The report schedule was saved."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			admin.get("/reports")
			p := admin.post("/reports/schedules", tt.form)
			require.Equal(t, tt.wantCode, p.code, p.body)
			require.Contains(t, p.body, tt.want)
		})
	}
	ss, err := s.store.ReportSchedulesOf(t.Context(), s.orgs["acme"].ID)
	require.NoError(t, err)
	require.Len(t, ss, 1)
	require.Equal(t, "weekly", ss[0].Every)
	require.Equal(t, "asset_id="+nas, ss[0].Query, "only the chosen scope; the category select is ignored")
	require.Equal(t, []string{"it@acme.example", "boss@acme.example"}, ss[0].Recipients)
	p = admin.get("/reports")
	require.Contains(t, p.body, "Asset: Acme NAS")
	require.Contains(t, p.body, "Weekly (covers the last 7 days)")
	p = admin.get("/reports?lang=de")
	require.Contains(t, p.body, "Wöchentlich (umfasst die letzten 7 Tage)")

	viewer := s.browser()
	viewer.login("viewer@acme.example")
	p = viewer.get("/reports")
	require.Contains(t, p.body, "Asset: Acme NAS", "a viewer sees the schedules")
	require.NotContains(t, p.body, `action="/reports/schedules`)
	p = viewer.post("/reports/schedules", url.Values{"template": {"inventory"}, "every": {"daily"}, "scope": {"all"}, "recipients": {"v@acme.example"}})
	require.Equal(t, http.StatusForbidden, p.code)
	p = viewer.post("/reports/schedules/"+ss[0].ID+"/delete", nil)
	require.Equal(t, http.StatusForbidden, p.code)

	partner := s.browser()
	partner.login("admin@r1.example")
	p = partner.get("/reports")
	require.NotContains(t, p.body, "Acme NAS", "not another organization's schedule")
	p = partner.post("/reports/schedules", url.Values{"template": {"inventory"}, "every": {"daily"}, "scope": {"asset_id"},
		"asset_id": {nas}, "recipients": {"r@r1.example"}})
	require.Equal(t, http.StatusNotFound, p.code, "an asset it does not see")
	p = partner.post("/reports/schedules/"+ss[0].ID+"/delete", nil)
	require.Equal(t, http.StatusNotFound, p.code)

	admin.get("/reports?lang=en")
	p = admin.post("/reports/schedules/"+ss[0].ID+"/delete", nil)
	require.Contains(t, p.body, "The report schedule was deleted.")
	ss, err = s.store.ReportSchedulesOf(t.Context(), s.orgs["acme"].ID)
	require.NoError(t, err)
	require.Empty(t, ss)
}
