package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/store"
)

var kpiTests = []test{
	{"KPIDefinitionsReplacePerAgent", testKPIDefinitionsReplace},
	{"KPIDefinitionsBoundedPerOrganization", testKPIDefinitionsBound},
	{"KPIDefinitionsStayInTheirOrganization", testKPIDefinitionsTenants},
}

func kpiDef(measurement, field, def string) store.KPIDefinition {
	return store.KPIDefinition{Measurement: measurement, Field: field, Definition: []byte(def)}
}

// kpiRows is what KPIDefinitions returns, as measurement.field@agent=definition.
func kpiRows(t *testing.T, s store.Store, org string) []string {
	t.Helper()
	defs, err := s.KPIDefinitions(t.Context(), org)
	require.NoError(t, err)
	var out []string
	for _, d := range defs {
		out = append(out, d.Measurement+"."+d.Field+"@"+d.AgentID+"="+string(d.Definition))
	}
	return out
}

func testKPIDefinitionsReplace(t *testing.T, s store.Store) {
	ctx := t.Context()
	o := newOrg(t, s, "Acme")
	a1 := enrolled(t, s, o, o.RootOU, "cred-1")
	a2 := enrolled(t, s, o, o.RootOU, "cred-2")
	t0 := time.Now().Truncate(time.Millisecond)

	require.Empty(t, kpiRows(t, s, o.ID))
	require.NoError(t, s.ReplaceAgentKPIDefinitions(ctx, o.ID, a1.ID, []store.KPIDefinition{
		kpiDef("ups", "", `{"name":{"en":"UPS"}}`),
		kpiDef("ups", "load_percent", `{"unit":"percent"}`),
		kpiDef("ups", "runtime", `{"unit":"seconds"}`),
	}, t0, 10))
	require.NoError(t, s.ReplaceAgentKPIDefinitions(ctx, o.ID, a2.ID, []store.KPIDefinition{
		kpiDef("ups", "load_percent", `{"unit":"ratio"}`),
	}, t0.Add(time.Minute), 10))
	require.Equal(t, []string{
		`ups.@` + a1.ID + `={"name":{"en":"UPS"}}`,
		`ups.load_percent@` + a2.ID + `={"unit":"ratio"}`, // newer first
		`ups.load_percent@` + a1.ID + `={"unit":"percent"}`,
		`ups.runtime@` + a1.ID + `={"unit":"seconds"}`,
	}, kpiRows(t, s, o.ID))
	defs, err := s.KPIDefinitions(ctx, o.ID)
	require.NoError(t, err)
	require.Equal(t, t0.Add(time.Minute).UTC(), defs[1].UpdatedAt)
	require.Equal(t, t0.UTC(), defs[2].UpdatedAt)

	// a1 sends again: its old set is gone, a2's stays.
	require.NoError(t, s.ReplaceAgentKPIDefinitions(ctx, o.ID, a1.ID, []store.KPIDefinition{
		kpiDef("ups", "runtime", `{"unit":"seconds","kind":"gauge"}`),
	}, t0.Add(2*time.Minute), 10))
	require.Equal(t, []string{
		`ups.load_percent@` + a2.ID + `={"unit":"ratio"}`,
		`ups.runtime@` + a1.ID + `={"unit":"seconds","kind":"gauge"}`,
	}, kpiRows(t, s, o.ID))

	// An empty set removes the agent's definitions.
	require.NoError(t, s.ReplaceAgentKPIDefinitions(ctx, o.ID, a1.ID, nil, t0.Add(3*time.Minute), 10))
	require.Equal(t, []string{`ups.load_percent@` + a2.ID + `={"unit":"ratio"}`}, kpiRows(t, s, o.ID))
}

func testKPIDefinitionsBound(t *testing.T, s store.Store) {
	ctx := t.Context()
	o := newOrg(t, s, "Acme")
	a1 := enrolled(t, s, o, o.RootOU, "cred-1")
	a2 := enrolled(t, s, o, o.RootOU, "cred-2")
	now := time.Now()
	require.NoError(t, s.ReplaceAgentKPIDefinitions(ctx, o.ID, a1.ID, []store.KPIDefinition{
		kpiDef("ups", "", `{}`), kpiDef("ups", "a", `{}`), kpiDef("ups", "b", `{}`),
	}, now, 3), "measurement rows do not count")
	// The same fields from a second agent count once.
	require.NoError(t, s.ReplaceAgentKPIDefinitions(ctx, o.ID, a2.ID, []store.KPIDefinition{
		kpiDef("ups", "a", `{}`), kpiDef("ups", "c", `{}`),
	}, now.Add(time.Minute), 3))
	err := s.ReplaceAgentKPIDefinitions(ctx, o.ID, a2.ID, []store.KPIDefinition{
		kpiDef("ups", "c", `{}`), kpiDef("ups", "d", `{}`),
	}, now, 3)
	require.True(t, errors.Is(err, store.ErrInvalid), "4 distinct fields with at most 3: %v", err)
	require.Equal(t, []string{
		"ups.@" + a1.ID + "={}", "ups.a@" + a2.ID + "={}", "ups.a@" + a1.ID + "={}", "ups.b@" + a1.ID + "={}", "ups.c@" + a2.ID + "={}",
	}, kpiRows(t, s, o.ID), "a refused set changes nothing")
}

func testKPIDefinitionsTenants(t *testing.T, s store.Store) {
	ctx := t.Context()
	acme, other := newOrg(t, s, "Acme"), newOrg(t, s, "Other")
	a := enrolled(t, s, acme, acme.RootOU, "cred-acme")
	b := enrolled(t, s, other, other.RootOU, "cred-other")
	now := time.Now()
	require.NoError(t, s.ReplaceAgentKPIDefinitions(ctx, acme.ID, a.ID, []store.KPIDefinition{kpiDef("ups", "a", `{"acme":1}`)}, now, 10))
	require.NoError(t, s.ReplaceAgentKPIDefinitions(ctx, other.ID, b.ID, []store.KPIDefinition{kpiDef("ups", "a", `{"other":1}`)}, now, 1))
	require.Equal(t, []string{"ups.a@" + a.ID + `={"acme":1}`}, kpiRows(t, s, acme.ID))
	require.Equal(t, []string{"ups.a@" + b.ID + `={"other":1}`}, kpiRows(t, s, other.ID))
	require.Empty(t, kpiRows(t, s, "no-such-org"))
}
