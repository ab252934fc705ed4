package api

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kpilot/kpilot/server/checkup"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// WithCheckups evaluates check-ups through r (whose defaults apply to
// organizations without rules of their own). Without it the API uses a
// runner with checkup.DefaultRules and no metrics.
func WithCheckups(r *checkup.Runner) Option { return func(a *API) { a.checkups = r } }

var errFindingsClass = &HTTPError{Code: http.StatusForbidden,
	Msg: "check-up findings are shown to the owner and service partners only"}

// orgAdmin passes admins of the caller's organization at its top OU:
// check-up rules and webhooks concern the whole organization.
func (a *API) orgAdmin(r *http.Request) (visibility.Principal, store.Organization, error) {
	p := principalFrom(r.Context())
	o, err := a.store.Organization(r.Context(), p.OrgID)
	if err != nil {
		return p, o, err
	}
	if !p.IsAdmin() || p.OUID != o.RootOU {
		return p, o, &HTTPError{Code: http.StatusForbidden, Msg: "only admins of the whole organization (its top OU) may do this"}
	}
	return p, o, nil
}

type rulesJSON struct {
	// Source is "organization" for the organization's own rules,
	// "default" for the server's.
	Source    string         `json:"source"`
	UpdatedAt *time.Time     `json:"updated_at,omitempty"`
	UpdatedBy string         `json:"updated_by,omitempty"`
	Rules     []checkup.Rule `json:"rules"`
}

// getCheckupRules answers the caller's organization's check-up rules;
// ?format=yaml answers the YAML document (as it was sent, comments kept).
func (a *API) getCheckupRules(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	own, err := a.store.CheckupRules(r.Context(), p.OrgID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if r.URL.Query().Get("format") == "yaml" {
		doc := own.Doc
		if doc == nil {
			doc = a.checkups.DefaultsYAML()
		}
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, err := w.Write(doc)
		return err
	}
	rs, mine, err := a.checkups.Rules(r.Context(), p.OrgID)
	if err != nil {
		return err
	}
	out := rulesJSON{Source: "default", Rules: rs.Rules}
	if mine {
		out.Source, out.UpdatedAt = "organization", timePtr(own.UpdatedAt)
		if u, err := a.store.User(r.Context(), own.UpdatedBy); err == nil {
			out.UpdatedBy = u.Email
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// maxRulesBytes bounds a rule document.
const maxRulesBytes = 256 << 10

// putCheckupRules replaces the organization's rules with the YAML (or
// JSON) document in the body. Scopes may name only the organization's
// own OUs and assets.
func (a *API) putCheckupRules(w http.ResponseWriter, r *http.Request) error {
	p, o, err := a.orgAdmin(r)
	if err != nil {
		return err
	}
	doc, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRulesBytes))
	if err != nil {
		return &HTTPError{Code: http.StatusRequestEntityTooLarge, Msg: "rules: at most 256 KiB"}
	}
	rs, err := checkup.Parse(doc)
	if err != nil {
		return badRequest("%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	ous, err := a.store.OUs(r.Context(), o.ID)
	if err != nil {
		return err
	}
	assets, err := a.store.Assets(r.Context(), o.ID)
	if err != nil {
		return err
	}
	var bad []string
	for _, rule := range rs.Rules {
		for _, id := range rule.Assets.OUs {
			if !slices.ContainsFunc(ous, func(u store.OU) bool { return u.ID == id }) {
				bad = append(bad, "rule "+rule.ID+": OU "+strconv.Quote(id)+" is not one of this organization's")
			}
		}
		for _, id := range append(slices.Clone(rule.Assets.IDs), rule.Assets.Exclude...) {
			if !slices.ContainsFunc(assets, func(as store.Asset) bool { return as.ID == id }) {
				bad = append(bad, "rule "+rule.ID+": asset "+strconv.Quote(id)+" is not one of this organization's")
			}
		}
	}
	if len(bad) > 0 {
		return badRequest("%s", strings.Join(bad, "; "))
	}
	if err := a.store.PutCheckupRules(r.Context(), store.CheckupRules{OrgID: o.ID, Doc: doc, UpdatedBy: p.UserID, UpdatedAt: a.now()}); err != nil {
		return err
	}
	if err := a.audit(r, o.ID, "checkup_rules.update", "organization", o.ID, map[string]any{"rules": len(rs.Rules)}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rulesJSON{Source: "organization", UpdatedAt: timePtr(a.now()), Rules: rs.Rules})
	return nil
}

// deleteCheckupRules returns the organization to the server's defaults.
func (a *API) deleteCheckupRules(w http.ResponseWriter, r *http.Request) error {
	_, o, err := a.orgAdmin(r)
	if err != nil {
		return err
	}
	if err := a.store.PutCheckupRules(r.Context(), store.CheckupRules{OrgID: o.ID}); err != nil {
		return err
	}
	if err := a.audit(r, o.ID, "checkup_rules.reset", "organization", o.ID, nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// runCheckups evaluates the organization's check-ups now instead of at
// the next scheduled run.
func (a *API) runCheckups(w http.ResponseWriter, r *http.Request) error {
	p, o, err := a.orgAdmin(r)
	if err != nil {
		return err
	}
	opened, err := a.checkups.Evaluate(r.Context(), o.ID)
	if err != nil {
		return unavailable("evaluating check-ups (InfluxDB or the rules)", err)
	}
	out, err := a.findingsJSON(r, p, opened, map[string]string{o.ID: o.Name})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"opened": out})
	return nil
}

type findingJSON struct {
	ID       string         `json:"id"`
	RuleID   string         `json:"rule_id"`
	Kind     string         `json:"kind"`
	Severity store.Severity `json:"severity"`
	Subject  string         `json:"subject"`
	Text     string         `json:"text"`
	State    string         `json:"state"` // open or resolved
	Asset    *orgRef        `json:"asset,omitempty"`
	Agent    *orgRef        `json:"agent,omitempty"`
	// Customer names the asset's organization when it is not the caller's.
	Customer     *orgRef    `json:"customer,omitempty"`
	OUID         string     `json:"ou_id,omitempty"`
	OpenedAt     time.Time  `json:"opened_at"`
	LastSeenAt   time.Time  `json:"last_seen_at"`
	ResolvedAt   *time.Time `json:"resolved_at"`
	Acknowledged *ackJSON   `json:"acknowledged"`
}

type ackJSON struct {
	At   time.Time `json:"at"`
	By   string    `json:"by,omitempty"` // the user's email, for the owner only
	Note string    `json:"note"`
}

// findingsJSON renders findings for p; names maps organization ids to
// names.
func (a *API) findingsJSON(r *http.Request, p visibility.Principal, fs []store.Finding, names map[string]string) ([]findingJSON, error) {
	assetNames, agentNames := map[string]string{}, map[string]string{}
	emails := map[string]string{}
	out := make([]findingJSON, 0, len(fs))
	for _, f := range fs {
		j := findingJSON{ID: f.ID, RuleID: f.RuleID, Kind: f.Kind, Severity: f.Severity, Subject: f.Subject, Text: f.Text,
			State: "open", OpenedAt: f.OpenedAt, LastSeenAt: f.LastSeenAt, ResolvedAt: timePtr(f.ResolvedAt)}
		if !f.Open() {
			j.State = "resolved"
		}
		if f.OrgID != p.OrgID {
			j.Customer = &orgRef{ID: f.OrgID, Name: names[f.OrgID]}
		} else {
			j.OUID = f.OUID
		}
		if f.AssetID != "" {
			name, ok := assetNames[f.AssetID]
			if !ok {
				as, err := a.store.Asset(r.Context(), f.AssetID)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return nil, err
				}
				name, assetNames[f.AssetID] = as.Name, as.Name
			}
			j.Asset = &orgRef{ID: f.AssetID, Name: name}
		}
		if f.AgentID != "" {
			if _, ok := agentNames[f.AgentID]; !ok {
				ags, err := a.store.Agents(r.Context(), f.OrgID)
				if err != nil {
					return nil, err
				}
				for _, ag := range ags {
					agentNames[ag.ID] = ag.Name
				}
			}
			j.Agent = &orgRef{ID: f.AgentID, Name: agentNames[f.AgentID]}
		}
		if !f.AckedAt.IsZero() {
			j.Acknowledged = &ackJSON{At: f.AckedAt, Note: f.AckNote}
			if f.OrgID == p.OrgID {
				email, ok := emails[f.AckedBy]
				if !ok {
					if u, err := a.store.User(r.Context(), f.AckedBy); err == nil {
						email = u.Email
					}
					emails[f.AckedBy] = email
				}
				j.Acknowledged.By = email
			}
		}
		out = append(out, j)
	}
	return out, nil
}

// listFindings answers GET /api/v1/findings: the findings of every asset
// the caller sees as owner or service partner (narrowed by asset_id,
// customer_id, category), and of the agents in the caller's own OU
// subtree. state is open (default), resolved or all; severity the
// lowest severity shown; since drops findings resolved before it.
func (a *API) listFindings(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var open *bool
	switch q.Get("state") {
	case "", "open":
		t := true
		open = &t
	case "resolved":
		f := false
		open = &f
	case "all":
	default:
		return badRequest("state: open, resolved or all")
	}
	minSev := store.Severity(q.Get("severity"))
	if minSev != "" && minSev.Rank() == 0 {
		return badRequest("severity: info, warning or critical")
	}
	limit, err := limitParam(q, 500, 5000)
	if err != nil {
		return err
	}
	var since time.Time
	if s := q.Get("since"); s != "" {
		t, err := parseTime(s, time.Time{}, a.now())
		if err != nil {
			return badRequest("since: %v", err)
		}
		since = t
	}
	p, set, assets, names, err := a.visibleAssets(r)
	if err != nil {
		return err
	}
	byOrg := map[string][]string{}
	var orgs []string
	onlyAsset := q.Get("asset_id")
	for _, as := range assets {
		if onlyAsset != "" && as.ID != onlyAsset {
			continue
		}
		if !set.Access(as).SeesFindings() {
			if onlyAsset != "" {
				return errFindingsClass
			}
			continue
		}
		if _, ok := byOrg[as.OrgID]; !ok {
			orgs = append(orgs, as.OrgID)
		}
		byOrg[as.OrgID] = append(byOrg[as.OrgID], as.ID)
	}
	if onlyAsset != "" && len(orgs) == 0 {
		return errNotFound
	}
	// Agents: the caller's own organization's, in its OU subtree, unless
	// the question is about one asset or another customer.
	withAgents := onlyAsset == "" && (q.Get("customer_id") == "" || q.Get("customer_id") == p.OrgID) && q.Get("category") == ""
	if withAgents && !slices.Contains(orgs, p.OrgID) {
		orgs = append(orgs, p.OrgID)
		byOrg[p.OrgID] = []string{}
	}
	var mine map[string]bool
	if withAgents {
		ous, err := a.store.OUs(r.Context(), p.OrgID)
		if err != nil {
			return err
		}
		mine = visibility.Subtree(p.OrgID, p.OUID, ous)
	}
	var all []store.Finding
	for _, org := range orgs {
		fs, err := a.store.Findings(r.Context(), store.FindingFilter{OrgID: org, AssetIDs: byOrg[org],
			Agents: withAgents && org == p.OrgID, Open: open, Since: since, Limit: limit})
		if err != nil {
			return err
		}
		for _, f := range fs {
			if f.AgentID != "" && !mine[f.OUID] {
				continue
			}
			if f.Severity.Rank() < minSev.Rank() {
				continue
			}
			all = append(all, f)
		}
	}
	slices.SortFunc(all, func(x, y store.Finding) int {
		if c := y.OpenedAt.Compare(x.OpenedAt); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	if len(all) > limit {
		all = all[:limit]
	}
	out, err := a.findingsJSON(r, p, all, names)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"findings": out})
	return nil
}

// visibleFinding loads the finding {id} if the caller may see it: its
// asset at service class or more, or its agent in the caller's own OU
// subtree. Anything else is 404, like a finding that does not exist.
func (a *API) visibleFinding(r *http.Request) (visibility.Principal, store.Finding, visibility.Class, error) {
	p := principalFrom(r.Context())
	f, err := a.store.Finding(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return p, f, visibility.None, errNotFound
	}
	if err != nil {
		return p, f, visibility.None, err
	}
	if f.AgentID != "" {
		if f.OrgID != p.OrgID {
			return p, store.Finding{}, visibility.None, errNotFound
		}
		ous, err := a.store.OUs(r.Context(), p.OrgID)
		if err != nil {
			return p, f, visibility.None, err
		}
		if !visibility.Subtree(p.OrgID, p.OUID, ous)[f.OUID] {
			return p, store.Finding{}, visibility.None, errNotFound
		}
		return p, f, visibility.Owner, nil
	}
	_, _, acc, err := a.visibleAssetID(r, f.AssetID)
	if err != nil {
		return p, store.Finding{}, visibility.None, err
	}
	if !acc.SeesFindings() {
		return p, store.Finding{}, acc.Class, errNotFound
	}
	return p, f, acc.Class, nil
}

func (a *API) getFinding(w http.ResponseWriter, r *http.Request) error {
	p, f, _, err := a.visibleFinding(r)
	if err != nil {
		return err
	}
	names := map[string]string{}
	if f.OrgID != p.OrgID {
		o, err := a.store.Organization(r.Context(), f.OrgID)
		if err != nil {
			return err
		}
		names[o.ID] = o.Name
	}
	out, err := a.findingsJSON(r, p, []store.Finding{f}, names)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"finding": out[0]})
	return nil
}

// ackFinding acknowledges a finding with a note. Only admins of the
// asset's own organization may: partner access is read-only, always.
func (a *API) ackFinding(w http.ResponseWriter, r *http.Request) error {
	p, f, c, err := a.visibleFinding(r)
	if err != nil {
		return err
	}
	if c != visibility.Owner || !p.IsAdmin() {
		return &HTTPError{Code: http.StatusForbidden, Msg: "only admins of the asset's own organization may acknowledge findings; partner access is read-only"}
	}
	var req struct {
		Note string `json:"note"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	note := strings.TrimSpace(req.Note)
	if len(note) > 1000 || strings.ContainsFunc(note, func(c rune) bool { return c < 0x20 && c != '\n' && c != '\t' }) {
		return badRequest("note: at most 1000 characters, no control characters")
	}
	now := a.now()
	if err := a.store.AckFinding(r.Context(), f.ID, p.UserID, note, now); err != nil {
		return err
	}
	if err := a.audit(r, f.OrgID, "finding.acknowledge", "finding", f.ID, map[string]any{"note": note}); err != nil {
		return err
	}
	f.AckedAt, f.AckedBy, f.AckNote = now.UTC().Truncate(time.Millisecond), p.UserID, note
	out, err := a.findingsJSON(r, p, []store.Finding{f}, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"finding": out[0]})
	return nil
}
