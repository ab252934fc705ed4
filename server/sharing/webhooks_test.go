package sharing_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/sharing"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

func TestRegisterWebhook(t *testing.T) {
	w, ctx := newWorld(t), t.Context()
	s := sharing.New(w.st, audit.New(w.st, nil, nil), sharing.Options{CheckURL: func(raw string) error {
		if raw != "https://hooks.example/kpilot" {
			return errors.New("url: must be https")
		}
		return nil
	}})
	const url = "https://hooks.example/kpilot"
	tests := []struct {
		name    string
		in      sharing.WebhookInput
		wantMsg string
	}{
		{"refused URL", sharing.WebhookInput{URL: "http://10.0.0.1/", Events: []string{"*"}}, "url: must be https"},
		{"no events", sharing.WebhookInput{URL: url}, "events: 1 to 20 of finding.opened, sharing.<action>, sharing.*, finding.*, *"},
		{"unknown event", sharing.WebhookInput{URL: url, Events: []string{"sharing.nope"}}, `events: "sharing.nope" is not an event`},
		{"bad description", sharing.WebhookInput{URL: url, Events: []string{"*"}, Description: "a\nb"}, "description: 1 to 200 characters on one line"},
		{"registered", sharing.WebhookInput{URL: url, Events: []string{"sharing.*", "finding.opened", "sharing.*"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := s.RegisterWebhook(ctx, w.admin, w.who, tt.in)
			if tt.wantMsg != "" {
				var pe *problem.Error
				require.ErrorAs(t, err, &pe)
				require.Equal(t, problem.Invalid, pe.Kind)
				require.Contains(t, pe.Msg, tt.wantMsg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, []string{"finding.opened", "sharing.*"}, h.Events, "sorted, without duplicates")
			require.NotEmpty(t, h.Secret)
			got, err := s.Webhook(ctx, w.admin, h.ID)
			require.NoError(t, err)
			require.Equal(t, h.URL, got.URL)
		})
	}
	_, err := w.s.RegisterWebhook(ctx, w.admin, w.who, sharing.WebhookInput{URL: url, Events: []string{"*"}})
	requireProblem(t, err, problem.Invalid, "webhooks are off on this server")

	// Only admins of the whole organization register outbound URLs,
	// whoever calls the rule.
	branch := store.OU{OrgID: w.cust.ID, ParentID: w.cust.RootOU, Name: "Branch"}
	require.NoError(t, w.st.CreateOU(ctx, &branch))
	branchAdmin, viewerAtRoot := w.admin, w.admin
	branchAdmin.OUID, viewerAtRoot.Role = branch.ID, store.Viewer
	for _, p := range []visibility.Principal{branchAdmin, viewerAtRoot} {
		_, err = s.RegisterWebhook(ctx, p, w.who, sharing.WebhookInput{URL: url, Events: []string{"*"}})
		require.ErrorIs(t, err, problem.ErrWholeOrgOnly)
	}

	for i := 1; i < sharing.MaxWebhooks; i++ {
		_, err := s.RegisterWebhook(ctx, w.admin, w.who, sharing.WebhookInput{URL: url, Events: []string{"*"}, Description: fmt.Sprint(i)})
		require.NoError(t, err)
	}
	_, err = s.RegisterWebhook(ctx, w.admin, w.who, sharing.WebhookInput{URL: url, Events: []string{"*"}})
	requireProblem(t, err, problem.Conflict, "at most 20 webhooks per organization")

	hooks, err := s.Webhooks(ctx, w.admin)
	require.NoError(t, err)
	require.Len(t, hooks, sharing.MaxWebhooks)
	r1, _ := partner(w.r1)
	_, err = s.Webhook(ctx, r1, hooks[0].ID)
	require.ErrorIs(t, err, problem.ErrNotFound, "another organization's webhook is not found")
	viewer := w.admin
	viewer.Role = store.Viewer
	requireProblem(t, s.DeleteWebhook(ctx, viewer, w.who, hooks[0].ID), problem.Forbidden,
		"only admins of the whole organization (its top OU) may do this")
	require.ErrorIs(t, s.DeleteWebhook(ctx, r1, w.who, hooks[0].ID), problem.ErrNotFound)
	require.NoError(t, s.DeleteWebhook(ctx, w.admin, w.who, hooks[0].ID))
	ds, err := s.Deliveries(ctx, hooks[1], 10)
	require.NoError(t, err)
	require.Empty(t, ds)
	require.Contains(t, w.actions(t, w.cust.ID), "webhook.delete")
}
