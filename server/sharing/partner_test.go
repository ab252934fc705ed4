package sharing_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/problem"
	"github.com/kpilot/kpilot/server/sharing"
	"github.com/kpilot/kpilot/server/store"
	"github.com/kpilot/kpilot/server/visibility"
)

// TestOUKeyCreatesOnlyWhatThePartnerMade: a partner with an OU key
// creates assets in that OU and gets a grant for them, nothing else; a
// wrong key costs a guess.
func TestOUKeyCreatesOnlyWhatThePartnerMade(t *testing.T) {
	w, ctx := newWorld(t), t.Context()
	key, err := w.st.OUKey(ctx, w.cust.RootOU)
	require.NoError(t, err)
	r1, r1who := partner(w.r1)
	g := &guesses{}
	in := &sharing.AssetInput{Name: "NAS", Category: "Storage", Manufacturer: "Synology", Serial: "S1"}

	u, cust, err := w.s.VerifyOUKey(ctx, r1, r1who, g.guess(), " "+key+" ")
	require.NoError(t, err)
	require.Equal(t, w.cust.RootOU, u.ID)
	require.Equal(t, w.cust.ID, cust.ID)

	c, err := w.s.CreateAssetWithOUKey(ctx, r1, r1who, g.guess(), key, in)
	require.NoError(t, err)
	require.Equal(t, "storage", c.Asset.Category)
	require.Equal(t, w.cust.RootOU, c.Asset.OUID)
	require.Equal(t, w.r1.ID, c.Asset.CreatedByOrg)
	require.Equal(t, store.GrantCreated, c.Grant.Kind)
	grants, err := w.st.Grants(ctx, store.GrantFilter{PartnerOrgID: w.r1.ID, LiveOnly: true})
	require.NoError(t, err)
	require.Len(t, grants, 1, "the partner holds a grant for what it made, not for the OU's other asset")
	require.Equal(t, c.Asset.ID, grants[0].AssetID)

	_, err = w.s.CreateAssetWithOUKey(ctx, r1, r1who, g.guess(), key, in)
	requireProblem(t, err, problem.Conflict, "the organization already has an asset with this manufacturer and serial number")

	const unknown = "unknown OU key: check it, or ask the customer for the current one (keys can be rotated)"
	_, _, err = w.s.VerifyOUKey(ctx, r1, r1who, g.guess(), "kpou_wrong")
	requireProblem(t, err, problem.NotFound, unknown)
	_, _, err = w.s.VerifyOUKey(ctx, r1, r1who, g.guess(), "not-a-key")
	requireProblem(t, err, problem.NotFound, unknown)
	require.Equal(t, guesses{started: 5, right: 3, wrong: 2}, *g)

	_, err = w.s.CreateAssetWithOUKey(ctx, r1, r1who, g.guess(), key, nil)
	requireProblem(t, err, problem.Invalid, "asset: missing")
	_, err = w.s.CreateAssetWithOUKey(ctx, r1, r1who, g.guess(), key, &sharing.AssetInput{Name: "X", Category: "toaster"})
	requireProblem(t, err, problem.Invalid, `asset.category "toaster": one of server, storage, backup, network, power, printer, software, licence`)
	_, _, err = w.s.VerifyOUKey(ctx, r1, r1who, g.guess(), "")
	requireProblem(t, err, problem.Invalid, "ou_key: missing")
	require.Equal(t, 5, g.started, "malformed requests are no guesses")

	// Only partner admins redeem keys.
	_, _, err = w.s.VerifyOUKey(ctx, w.admin, w.who, g.guess(), key)
	require.ErrorIs(t, err, problem.ErrPartnerOnly)
	viewer := r1
	viewer.Role = store.Viewer
	_, _, err = w.s.VerifyOUKey(ctx, viewer, r1who, g.guess(), key)
	require.ErrorIs(t, err, problem.ErrAdminOnly)
	require.Equal(t, []string{"ou_key.verify", "ou_key.use"}, w.actions(t, w.cust.ID))
}

// TestSystemKey: a system key shows one asset to a partner, once even if
// entered twice; the key of the partner's own asset is unknown to it.
func TestSystemKey(t *testing.T) {
	w, ctx := newWorld(t), t.Context()
	key, err := w.st.SystemKey(ctx, w.asset.ID)
	require.NoError(t, err)
	r1, r1who := partner(w.r1)
	g := &guesses{}

	as, cust, err := w.s.VerifySystemKey(ctx, r1, r1who, g.guess(), key)
	require.NoError(t, err)
	require.Equal(t, w.asset.ID, as.ID)
	require.Equal(t, w.cust.ID, cust.ID)
	c1, err := w.s.UseSystemKey(ctx, r1, r1who, g.guess(), key)
	require.NoError(t, err)
	c2, err := w.s.UseSystemKey(ctx, r1, r1who, g.guess(), key)
	require.NoError(t, err)
	require.Equal(t, c1.Grant.ID, c2.Grant.ID, "the live grant is reused")

	own := store.Asset{OrgID: w.r1.ID, OUID: w.r1.RootOU, Name: "R1 lab", Category: "server"}
	require.NoError(t, w.st.CreateAsset(ctx, &own, nil))
	ownKey, err := w.st.SystemKey(ctx, own.ID)
	require.NoError(t, err)
	_, _, err = w.s.VerifySystemKey(ctx, r1, r1who, g.guess(), ownKey)
	requireProblem(t, err, problem.NotFound,
		"unknown system key: check it, or ask the customer for the current one (keys can be rotated)")
	require.Equal(t, []string{"system_key.verify", "system_key.use", "system_key.use"}, w.actions(t, w.cust.ID))
}

func TestInvitations(t *testing.T) {
	w, ctx := newWorld(t), t.Context()
	r1, _ := partner(w.r1)
	dist := store.Organization{Name: "Dist", Kind: store.Distributor, PartnerID: "P-D"}
	require.NoError(t, w.st.CreateOrganization(ctx, &dist))
	d, _ := partner(dist)
	first := &sharing.AssetInput{Name: "ESX", Category: "server"}
	tests := []struct {
		name     string
		reseller bool // InviteReseller, else InviteCustomer
		p        visibility.Principal
		in       sharing.InviteInput
		wantKind problem.Kind
		wantMsg  string
	}{
		{"customer with its first asset", false, r1, sharing.InviteInput{Company: " Initech ", Email: "Boss@Initech.example", Asset: first}, 0, ""},
		{"customer without asset", false, r1, sharing.InviteInput{Company: "Initech", Email: "boss@initech.example"},
			problem.Invalid, "asset: the customer's first asset is required"},
		{"by a customer", false, w.admin, sharing.InviteInput{Company: "Initech", Email: "boss@initech.example", Asset: first},
			problem.Forbidden, problem.ErrPartnerOnly.Msg},
		{"bad email", false, r1, sharing.InviteInput{Company: "Initech", Email: "boss", Asset: first},
			problem.Invalid, `email "boss": not an email address`},
		{"reseller", true, d, sharing.InviteInput{Company: "Reseller 9", Email: "boss@r9.example"}, 0, ""},
		{"reseller by a reseller", true, r1, sharing.InviteInput{Company: "Reseller 9", Email: "boss@r9.example"},
			problem.Forbidden, "only distributors invite resellers"},
		{"reseller with an asset", true, d, sharing.InviteInput{Company: "Reseller 9", Email: "boss@r9.example", Asset: first},
			problem.Invalid, "asset: only customer invitations carry an asset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			invite, kind := w.s.InviteCustomer, store.InviteCustomer
			if tt.reseller {
				invite, kind = w.s.InviteReseller, store.InviteReseller
			}
			inv, err := invite(ctx, tt.p, tt.in)
			if tt.wantKind != 0 {
				requireProblem(t, err, tt.wantKind, tt.wantMsg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, kind, inv.Kind)
			require.Equal(t, store.Admin, inv.Role)
			require.Equal(t, tt.p.OrgID, inv.InvitedByOrg)
			require.Equal(t, "as the first administrator of "+inv.Company, inv.What)
			require.Equal(t, tt.reseller, inv.Asset == nil)
			require.Equal(t, strings.ToLower(tt.in.Email), inv.Email)
			require.Equal(t, strings.TrimSpace(tt.in.Company), inv.Company)
		})
	}
}
