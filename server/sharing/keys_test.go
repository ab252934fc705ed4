package sharing_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/audit"
	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/sharing"
	"github.com/kpilot/kpilot/server/store"
)

// TestKeysAreRecordedBeforeTheyLeave: every read, rotation and mail of a
// key is in the audit trail, even when the mail then fails.
func TestKeysAreRecordedBeforeTheyLeave(t *testing.T) {
	w, ctx := newWorld(t), t.Context()
	root := store.OU{ID: w.cust.RootOU, OrgID: w.cust.ID, Name: "Acme"}

	k1, err := w.s.OUKey(ctx, w.admin, w.who, root, false)
	require.NoError(t, err)
	k2, err := w.s.OUKey(ctx, w.admin, w.who, root, true)
	require.NoError(t, err)
	require.NotEqual(t, k1, k2, "rotation replaces the key")
	sk, err := w.s.SystemKey(ctx, w.admin, w.who, w.asset, false)
	require.NoError(t, err)

	require.NoError(t, w.s.SendOUKey(ctx, w.admin, w.who, root, "partner@r1.example"))
	require.NoError(t, w.s.SendSystemKey(ctx, w.admin, w.who, w.asset, "partner@r1.example"))
	require.Equal(t, []string{"ou_key", "system_key"}, w.mails.kinds)
	require.Equal(t, "kpilot OU key for Acme", w.mails.sent[0].Subject)
	require.Contains(t, w.mails.sent[0].Text, k2)
	require.Contains(t, w.mails.sent[0].Text, "admin@acme.example has sent you")
	require.Contains(t, w.mails.sent[1].Text, sk)

	w.mails.err = errMailDown
	err = w.s.SendOUKey(ctx, w.admin, w.who, root, "partner@r1.example")
	requireProblem(t, err, problem.BadGateway, "the email could not be sent; try again later")
	require.ErrorIs(t, err, errMailDown, "the cause stays for the log")

	noMail := sharing.New(w.st, audit.New(w.st, nil, nil), sharing.Options{})
	err = noMail.SendSystemKey(ctx, w.admin, w.who, w.asset, "partner@r1.example")
	requireProblem(t, err, problem.Unavailable, "this server sends no email: configure mail in the server config")

	require.Equal(t, []string{"ou_key.read", "ou_key.rotate", "system_key.read", "ou_key.send", "system_key.send",
		"ou_key.send", "system_key.send"}, w.actions(t, w.cust.ID))

	r1, r1who := partner(w.r1)
	_, err = w.s.OUKey(ctx, r1, r1who, store.OU{ID: w.r1.RootOU, OrgID: w.r1.ID}, false)
	require.ErrorIs(t, err, problem.ErrCustomerOnly, "partners have no OU keys to hand out")
}
