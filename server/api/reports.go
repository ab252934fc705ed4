package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/report"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// inventoryColumns are the inventory report's columns: the asset's
// identity from the store, its configuration from the latest inventory.
var inventoryColumns = []report.Column{
	{Key: "customer", Label: "Customer", Width: 0.11},
	{Key: "ou", Label: "OU", Width: 0.08},
	{Key: "asset_id", Label: "Asset ID", Width: 0},
	{Key: "asset", Label: "Asset", Width: 0.11},
	{Key: "category", Label: "Category", Width: 0.06},
	{Key: "manufacturer", Label: "Manufacturer", Width: 0.08},
	{Key: "model", Label: "Model", Width: 0.11},
	{Key: "serial", Label: "Serial", Width: 0.08},
	{Key: "version", Label: "Firmware / OS", Width: 0.08},
	{Key: "cpu_count", Label: "CPUs", Kind: report.Count, Width: 0.04},
	{Key: "memory_bytes", Label: "Memory", Kind: report.Bytes, Width: 0.05},
	{Key: "status", Label: "Status", Width: 0.05},
	{Key: "last_poll_at", Label: "Last poll", Kind: report.Time, Width: 0.08},
}

// inventoryReport answers GET /api/v1/reports/inventory?format=csv|pdf:
// every asset the caller may see (narrowed by asset_id, ou_id, customer_id
// and category) with its configuration. Visibility comes first, through
// visibleAssets, exactly as for GET /assets.
func (a *API) inventoryReport(w http.ResponseWriter, r *http.Request) error {
	format, err := reportFormat(r)
	if err != nil {
		return err
	}
	sc, err := a.reportScope(r)
	if err != nil {
		return err
	}
	assets, names, scope := sc.assets, sc.names, sc.label
	now := a.now()
	t := report.Table{Title: "Inventory report", Scope: scope, Generated: now, Columns: inventoryColumns}
	for _, as := range assets {
		attrs, err := a.inventoryAttributes(r, as.ID)
		if err != nil {
			return err
		}
		model := as.Product
		if model == "" {
			model = attrString(attrs, "model")
		}
		version := as.Version
		for _, k := range []string{"os_version", "firmware_version", "bios_version", "firmware"} {
			if version == "" {
				version = attrString(attrs, k)
			}
		}
		t.Rows = append(t.Rows, []any{names[as.OrgID], sc.ou(as), as.ID, as.Name, as.Category, as.Manufacturer,
			model, as.Serial, version, attrInt(attrs, "cpu_count"), attrInt(attrs, "memory_bytes"),
			assetStatus(as, now), as.LastPollAt})
	}

	return writeReport(w, t, "inventory", format, now)
}

func reportFormat(r *http.Request) (string, error) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "pdf" {
		return "", badRequest("format: csv or pdf")
	}
	return format, nil
}

// writeReport renders t as an attachment named after the template.
func writeReport(w http.ResponseWriter, t report.Table, template, format string, now time.Time) error {
	var buf bytes.Buffer
	var err error
	name := "kpilot-" + template + "-" + now.UTC().Format("2006-01-02")
	if format == "pdf" {
		err = report.WritePDF(&buf, t)
		w.Header().Set("Content-Type", "application/pdf")
	} else {
		err = report.WriteCSV(&buf, t)
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	}
	if err != nil {
		return fmt.Errorf("%s report: %w", template, err)
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, name, format))
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(buf.Bytes())
	return err
}

// reportScope is what a report covers: the caller's visible assets,
// narrowed by asset_id, ou_id, customer_id and category, sorted by
// customer and name.
type reportScope struct {
	p       visibility.Principal
	assets  []store.Asset
	names   map[string]string // organization id → name
	ouNames map[string]string // the caller's own OUs (its subtree)
	label   string
}

// ou is the OU name of an asset for the caller ("" for other customers').
func (sc reportScope) ou(as store.Asset) string {
	if as.OrgID == sc.p.OrgID {
		return sc.ouNames[as.OUID]
	}
	return ""
}

func (a *API) reportScope(r *http.Request) (reportScope, error) {
	q := r.URL.Query()
	p, _, assets, names, err := a.visibleAssets(r)
	if err != nil {
		return reportScope{}, err
	}
	sc := reportScope{p: p, names: names, ouNames: map[string]string{}, label: "All assets you may see"}
	own, err := a.store.OUs(r.Context(), p.OrgID)
	if err != nil {
		return sc, err
	}
	mine := visibility.Subtree(p.OrgID, p.OUID, own)
	for _, u := range own {
		if mine[u.ID] {
			sc.ouNames[u.ID] = u.Name
		}
	}
	if id := q.Get("ou_id"); id != "" {
		if _, ok := sc.ouNames[id]; !ok {
			return sc, errNotFound
		}
		sub := visibility.Subtree(p.OrgID, id, own)
		assets = slices.DeleteFunc(assets, func(as store.Asset) bool { return as.OrgID != p.OrgID || !sub[as.OUID] })
		sc.label = "Organization unit " + sc.ouNames[id]
	}
	if id := q.Get("asset_id"); id != "" {
		assets = slices.DeleteFunc(assets, func(as store.Asset) bool { return as.ID != id })
		if len(assets) == 0 {
			return sc, errNotFound
		}
		sc.label = "Asset " + assets[0].Name
	}
	if id := q.Get("customer_id"); id != "" {
		sc.label = "Customer " + names[id]
	}
	if c := q.Get("category"); c != "" {
		sc.label += ", category " + c
	}
	slices.SortFunc(assets, func(x, y store.Asset) int {
		return cmpJoin(names[x.OrgID], names[y.OrgID], x.Name, y.Name, x.ID, y.ID)
	})
	sc.assets = assets
	return sc, nil
}

// inventoryAttributes is the attributes of an asset's latest inventory,
// or nil when none was collected.
func (a *API) inventoryAttributes(r *http.Request, assetID string) (map[string]any, error) {
	_, doc, err := a.store.Inventory(r.Context(), assetID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var inv struct {
		Attributes map[string]any `json:"attributes"`
	}
	if err := json.Unmarshal(doc, &inv); err != nil {
		return nil, fmt.Errorf("inventory of %s: %w", assetID, err)
	}
	return inv.Attributes, nil
}

func attrString(m map[string]any, k string) string {
	if s, ok := m[k].(string); ok {
		return s
	}
	return ""
}

// attrInt is a whole-number attribute, or nil (an empty cell).
func attrInt(m map[string]any, k string) any {
	if f, ok := m[k].(float64); ok && f >= 0 {
		return int64(f)
	}
	return nil
}

// cmpJoin compares pairs in order: the first pair that differs decides.
func cmpJoin(pairs ...string) int {
	for i := 0; i+1 < len(pairs); i += 2 {
		if c := strings.Compare(strings.ToLower(pairs[i]), strings.ToLower(pairs[i+1])); c != 0 {
			return c
		}
	}
	return 0
}
