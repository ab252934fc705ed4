package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/kpilot/kpilot/server/report"
)

// inventoryReport answers GET /api/v1/reports/inventory?format=csv|pdf:
// every asset the caller may see (narrowed by asset_id, ou_id, customer_id
// and category) with its configuration. Visibility comes first, exactly
// as for GET /assets.
func (a *API) inventoryReport(w http.ResponseWriter, r *http.Request) error {
	format, err := reportFormat(r)
	if err != nil {
		return err
	}
	sc, err := a.reportScope(r, report.FilterFrom(r.URL.Query()))
	if err != nil {
		return err
	}
	now := a.now()
	t, err := report.Inventory(r.Context(), a.store, sc, now)
	if err != nil {
		return reportError(err)
	}
	return writeReport(w, t, "inventory", format, now)
}

func reportFormat(r *http.Request) (string, error) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = report.CSV
	}
	if format != report.CSV && format != report.PDF {
		return "", badRequest("format: csv or pdf")
	}
	return format, nil
}

// reportScope resolves what a report covers: the caller's visible
// assets, narrowed by f. An asset or OU the caller may not see is 404.
func (a *API) reportScope(r *http.Request, f report.Filter) (report.Scope, error) {
	p, set, err := a.visibleSet(r)
	if err != nil {
		return report.Scope{}, err
	}
	return report.ResolveScope(r.Context(), a.store, p, set, f) // report.ErrNotFound is a 404
}

// reportError is a builder's failure as the client sees it: KPI data
// that could not be read is 503, to be retried later.
func reportError(err error) error {
	if errors.Is(err, report.ErrUnavailable) {
		return unavailable("InfluxDB", err)
	}
	return err
}

// writeReport renders t as an attachment named after the template.
func writeReport(w http.ResponseWriter, t report.Table, template, format string, now time.Time) error {
	var buf bytes.Buffer
	if err := report.Write(&buf, t, format); err != nil {
		return fmt.Errorf("%s report: %w", template, err)
	}
	if format == report.PDF {
		w.Header().Set("Content-Type", "application/pdf")
	} else {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, report.FileName(template, format, now)))
	w.Header().Set("Cache-Control", "no-store")
	_, err := w.Write(buf.Bytes())
	return err
}
