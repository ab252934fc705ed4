package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kpilot/kpilot/server/store"
)

// ReplaceAgentKPIDefinitions implements store.Store. The count that
// bounds the organization is taken inside the transaction, after the
// agent's new rows: two agents sending at the same moment on PostgreSQL
// may each see the other's old set, so the bound may be passed by at most
// what one agent's set adds (package kpis bounds that too).
func (d *DB) ReplaceAgentKPIDefinitions(ctx context.Context, orgID, agentID string, defs []store.KPIDefinition, now time.Time, max int) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM kpi_definitions WHERE org_id = $1 AND agent_id = $2`, orgID, agentID); err != nil {
			return fmt.Errorf("removing the KPI definitions of agent %s: %w", agentID, err)
		}
		for _, k := range defs {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO kpi_definitions (org_id, agent_id, measurement, field, definition, updated_at) VALUES ($1, $2, $3, $4, $5, $6)`,
				orgID, agentID, k.Measurement, k.Field, string(k.Definition), ms(now)); err != nil {
				return fmt.Errorf("storing KPI definition %s.%s of agent %s: %w", k.Measurement, k.Field, agentID, err)
			}
		}
		var n int
		if err := tx.QueryRowContext(ctx,
			`SELECT COUNT(*) FROM (SELECT DISTINCT measurement, field FROM kpi_definitions WHERE org_id = $1 AND field <> '') AS f`,
			orgID).Scan(&n); err != nil {
			return fmt.Errorf("counting the KPI definitions of organization %s: %w", orgID, err)
		}
		if n > max {
			return fmt.Errorf("organization %s would hold %d KPI definitions, at most %d: %w", orgID, n, max, store.ErrInvalid)
		}
		return nil
	})
}

// KPIDefinitions implements store.Store.
func (d *DB) KPIDefinitions(ctx context.Context, orgID string) ([]store.KPIDefinition, error) {
	return queryAll(ctx, d.db, "reading KPI definitions", func(r rowScanner) (store.KPIDefinition, error) {
		var k store.KPIDefinition
		var def string
		var at int64
		err := r.Scan(&k.Measurement, &k.Field, &def, &k.AgentID, &at)
		k.Definition, k.UpdatedAt = []byte(def), fromMS(at)
		return k, err
	}, `SELECT measurement, field, definition, agent_id, updated_at FROM kpi_definitions WHERE org_id = $1
	    ORDER BY measurement, field, updated_at DESC, agent_id`, orgID)
}
