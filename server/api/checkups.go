package api

import (
	"io"
	"net/http"
	"time"

	"github.com/kpilot/kpilot/server/checkup"
	"github.com/kpilot/kpilot/server/findings"
	"github.com/kpilot/kpilot/server/params"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// WithCheckups evaluates check-ups through r (whose defaults apply to
// organizations without rules of their own). Without it the API uses a
// runner with checkup.DefaultRules and no metrics.
func WithCheckups(r *checkup.Runner) Option { return func(a *API) { a.checkups = r } }

// orgAdmin passes admins of the caller's organization at its top OU.
func (a *API) orgAdmin(r *http.Request) (visibility.Principal, store.Organization, error) {
	p := principalFrom(r.Context())
	o, err := a.findings.OrgAdmin(r.Context(), p)
	return p, o, err
}

type rulesJSON struct {
	Source    string         `json:"source"` // organization (its own) or default (the server's)
	UpdatedAt *time.Time     `json:"updated_at,omitempty"`
	UpdatedBy string         `json:"updated_by,omitempty"`
	Rules     []checkup.Rule `json:"rules"`
}

func toRulesJSON(rs findings.Rules) rulesJSON {
	source := map[bool]string{true: "organization", false: "default"}[rs.Own]
	return rulesJSON{Source: source, UpdatedAt: timePtr(rs.UpdatedAt), UpdatedBy: rs.UpdatedBy, Rules: rs.Rules}
}

// getCheckupRules answers the caller's organization's check-up rules;
// ?format=yaml answers the YAML document (as it was sent, comments kept).
func (a *API) getCheckupRules(w http.ResponseWriter, r *http.Request) error {
	ctx, p, _ := a.caller(r)
	if r.URL.Query().Get("format") != "yaml" {
		rs, err := a.findings.Rules(ctx, p)
		return reply(w, http.StatusOK, toRulesJSON(rs), err)
	}
	doc, err := a.findings.RulesDoc(ctx, p)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(doc)
	return err
}

const maxRulesBytes = 256 << 10 // the largest rule document

// putCheckupRules reads the document only once the caller may set rules.
func (a *API) putCheckupRules(w http.ResponseWriter, r *http.Request) error {
	if _, _, err := a.orgAdmin(r); err != nil {
		return err
	}
	doc, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRulesBytes))
	if err != nil {
		return &HTTPError{Code: http.StatusRequestEntityTooLarge, Msg: "rules: at most 256 KiB"}
	}
	ctx, p, who := a.caller(r)
	rs, err := a.findings.PutRules(ctx, p, who, doc)
	return reply(w, http.StatusOK, toRulesJSON(rs), err)
}

func (a *API) deleteCheckupRules(w http.ResponseWriter, r *http.Request) error {
	ctx, p, who := a.caller(r)
	return noContent(w, a.findings.ResetRules(ctx, p, who))
}

func (a *API) runCheckups(w http.ResponseWriter, r *http.Request) error {
	vs, err := a.findings.Run(r.Context(), principalFrom(r.Context()))
	return reply(w, http.StatusOK, map[string]any{"opened": each(vs, toFindingJSON)}, err)
}

type findingJSON struct {
	ID           string         `json:"id"`
	RuleID       string         `json:"rule_id"`
	Kind         string         `json:"kind"`
	Severity     store.Severity `json:"severity"`
	Subject      string         `json:"subject"`
	Text         string         `json:"text"`
	State        string         `json:"state"` // open or resolved
	Asset        *orgRef        `json:"asset,omitempty"`
	Agent        *orgRef        `json:"agent,omitempty"`
	Customer     *orgRef        `json:"customer,omitempty"`
	OUID         string         `json:"ou_id,omitempty"`
	OpenedAt     time.Time      `json:"opened_at"`
	LastSeenAt   time.Time      `json:"last_seen_at"`
	ResolvedAt   *time.Time     `json:"resolved_at"`
	Acknowledged *ackJSON       `json:"acknowledged"`
	SuppressedBy string         `json:"suppressed_by,omitempty"`
	Maintenance  string         `json:"maintenance_window_id,omitempty"`
}

type ackJSON struct {
	At   time.Time `json:"at"`
	By   string    `json:"by,omitempty"` // the user's email, for the owner only
	Note string    `json:"note"`
}

func toFindingJSON(v findings.View) findingJSON {
	return findingJSON{ID: v.ID, RuleID: v.RuleID, Kind: v.Kind, Severity: v.Severity, Subject: v.Subject, Text: v.Text,
		State: v.State, Asset: (*orgRef)(v.Asset), Agent: (*orgRef)(v.Agent), Customer: (*orgRef)(v.Customer), OUID: v.OUID,
		OpenedAt: v.OpenedAt, LastSeenAt: v.LastSeenAt, ResolvedAt: timePtr(v.ResolvedAt), Acknowledged: (*ackJSON)(v.Acknowledged),
		SuppressedBy: v.SuppressedBy, Maintenance: v.MaintenanceID}
}

// listFindings answers the findings the caller sees, narrowed by asset_id,
// customer_id, category, state, severity, since and limit.
func (a *API) listFindings(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := findings.NewFilter(q.Get("state"), q.Get("severity"))
	if err != nil {
		return err
	}
	if f.Limit, err = limitParam(q, findings.DefaultLimit, 5000); err != nil {
		return err
	}
	if s := q.Get("since"); s != "" {
		if f.Since, err = params.Time(s, time.Time{}, a.now()); err != nil {
			return badRequest("since: %v", err)
		}
	}
	f.AssetID, f.CustomerID, f.Category = q.Get("asset_id"), q.Get("customer_id"), q.Get("category")
	vs, err := a.findings.List(r.Context(), principalFrom(r.Context()), f)
	return reply(w, http.StatusOK, map[string]any{"findings": each(vs, toFindingJSON)}, err)
}

func (a *API) getFinding(w http.ResponseWriter, r *http.Request) error {
	v, err := a.findings.Get(r.Context(), principalFrom(r.Context()), r.PathValue("id"))
	return reply(w, http.StatusOK, map[string]any{"finding": toFindingJSON(v)}, err)
}

// ackFinding reads the note only once the caller may acknowledge.
func (a *API) ackFinding(w http.ResponseWriter, r *http.Request) error {
	ctx, p, who := a.caller(r)
	if err := a.findings.MayAcknowledge(ctx, p, r.PathValue("id")); err != nil {
		return err
	}
	var req struct {
		Note string `json:"note"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	v, err := a.findings.Acknowledge(ctx, p, who, r.PathValue("id"), req.Note)
	return reply(w, http.StatusOK, map[string]any{"finding": toFindingJSON(v)}, err)
}
