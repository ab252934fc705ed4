package portal_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/auth"
	"github.com/kpilot/kpilot/server/store"
)

// TestAssetEditInChromium: Acme's admin edits an asset in Chromium (an
// empty name is refused with the API's message at the field, then a new
// name and a pinned category are saved), moves it into the Branch OU and
// deletes it after ticking the confirmation. An asset its agent polled a
// minute ago is not deleted: the page says which agent and target.
func TestAssetEditInChromium(t *testing.T) {
	s := newSite(t)
	shots := newShooter(t)
	ctx, acme := t.Context(), s.orgs["acme"]
	branch := store.OU{OrgID: acme.ID, ParentID: acme.RootOU, Name: "Branch"}
	require.NoError(t, s.store.CreateOU(ctx, &branch))
	esx := s.assets["Acme ESX"]
	polled := reportedAsset(t, s, "core-sw.acme.example")

	var errs []string
	tb := chromeTab(t, s, &errs)
	tb.login("admin@acme.example")
	tb.open("/assets/" + esx.ID + "?lang=en")
	tb.follow(chromedp.Click("#asset-edit", chromedp.ByID), chromedp.WaitReady("main", chromedp.ByQuery))
	require.Contains(t, tb.text("h1"), "Edit Acme ESX")
	require.Contains(t, tb.text("main"), "Reported by the agent")

	tb.run(chromedp.SetValue("#name", " ", chromedp.ByID))
	tb.submit("#edit-form")
	require.Contains(t, tb.text("#name-err"), "1 to 200 characters on one line", "the API's message at its field")
	tb.run(shots.shot("asset-edit"))

	tb.run(chromedp.SetValue("#name", "Acme ESX Prod", chromedp.ByID), chromedp.SetValue("#category", "storage", chromedp.ByID),
		chromedp.SetValue("#location", "Munich DC, rack 4", chromedp.ByID), chromedp.SetValue("#notes", "RMA case 4711", chromedp.ByID))
	tb.submit("#edit-form")
	require.Contains(t, tb.text(".flash.ok"), "Asset saved.")
	require.Contains(t, tb.text("h1"), "Acme ESX Prod")
	require.Contains(t, tb.text("#asset-location"), "Location: Munich DC, rack 4")
	require.Contains(t, tb.text("#asset-notes"), "RMA case 4711")
	got, err := s.store.Asset(ctx, esx.ID)
	require.NoError(t, err)
	require.Equal(t, "storage", got.Category)
	require.True(t, got.CategoryPinned)

	tb.open("/assets/" + esx.ID + "/edit?lang=en")
	tb.run(chromedp.SetValue("#ou_id", branch.ID, chromedp.ByID))
	tb.submit("#move-form")
	require.Contains(t, tb.text(".flash.ok"), "Asset moved.")
	got, err = s.store.Asset(ctx, esx.ID)
	require.NoError(t, err)
	require.Equal(t, branch.ID, got.OUID)

	tb.open("/assets/" + esx.ID + "/edit?lang=en")
	tb.submit("#delete-form")
	require.Contains(t, tb.text("#confirm-err"), "Tick the box to confirm.")
	tb.run(chromedp.Click("#confirm", chromedp.ByID))
	tb.submit("#delete-form")
	require.Contains(t, tb.text(".flash.ok"), "Asset deleted.")
	require.NotContains(t, tb.text("main"), "Acme ESX Prod")
	_, err = s.store.Asset(ctx, esx.ID)
	require.ErrorIs(t, err, store.ErrNotFound)

	tb.open("/assets/" + polled.ID + "/edit?lang=en")
	tb.run(chromedp.Click("#confirm", chromedp.ByID))
	tb.submit("#delete-form")
	require.Contains(t, tb.text(".flash.err"), `agent "site-agent" still reports this asset`)
	require.Contains(t, tb.text(".flash.err"), `remove target "core-sw.acme.example" from its configuration`)
	tb.run(shots.shot("asset-edit-refused"))
	_, err = s.store.Asset(ctx, polled.ID)
	require.NoError(t, err, "still there")

	tb.open("/assets/" + polled.ID + "/edit?lang=de")
	require.Contains(t, tb.text("main"), "Vom Agenten gemeldet")
	require.Empty(t, errs, "the pages run without script errors (CSP included)")
}

// TestAssetEditNotOfferedToViewers: a viewer gets no edit link, and the
// edit page says who may change the asset; its forms, posted anyway,
// are refused by the API.
func TestAssetEditNotOfferedToViewers(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.login("viewer@acme.example")
	esx := s.assets["Acme ESX"]
	p := b.get("/assets/" + esx.ID + "?lang=en")
	require.NotContains(t, p.body, `id="asset-edit"`)
	p = b.get("/assets/" + esx.ID + "/edit?lang=en")
	require.Contains(t, p.body, "organization may change it.")
	require.NotContains(t, p.body, `id="edit-form"`)
	p = b.post("/assets/"+esx.ID+"/edit", url.Values{"name": {"Hijacked"}})
	require.Equal(t, 403, p.code, "%s", p.body)
	got, err := s.store.Asset(t.Context(), esx.ID)
	require.NoError(t, err)
	require.Equal(t, "Acme ESX", got.Name)
}

// reportedAsset is an asset that an agent "site-agent" of Acme's root OU
// created under target name key and polled a minute ago.
func reportedAsset(t *testing.T, s *site, key string) store.Asset {
	t.Helper()
	ctx, o, now := t.Context(), s.orgs["acme"], time.Now()
	_, hash := auth.NewToken(auth.PrefixEnrollment)
	require.NoError(t, s.store.CreateEnrollmentToken(ctx, store.EnrollmentToken{TokenHash: hash, OrgID: o.ID, OUID: o.RootOU,
		CreatedBy: "test", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	_, credHash := auth.NewToken(auth.PrefixAgent)
	ag := store.Agent{Name: "site-agent", TokenHash: credHash}
	require.NoError(t, s.store.EnrollAgent(ctx, hash, now, &ag))
	a, err := s.store.EnsureAsset(ctx, ag, key, nil, 0)
	require.NoError(t, err)
	require.NoError(t, s.store.SetAssetPolls(ctx, []store.AssetPoll{{AssetID: a.ID, At: now.Add(-time.Minute), Up: true}}))
	return a
}
