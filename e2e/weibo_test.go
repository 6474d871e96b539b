package e2e_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// toWeibo clicks the login page's 微博 icon and waits for the emulator's Weibo page.
func toWeibo() chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS("#weibo-login")),
		chromedp.Click(chromedp.CSS("#weibo-login")),
		chromedp.WaitVisible(chromedp.CSS(`button[name="uid"]`)),
	)
}

// pickWeiboUser authorises as a test Weibo user on the emulator's page.
func pickWeiboUser(uid string) chromedp.Action[chromedp.Void] {
	sel := chromedp.CSS(`button[name="uid"][value="` + uid + `"]`)
	return chromedp.Steps(chromedp.WaitVisible(sel), chromedp.Click(sel))
}

// TestWeiboFirstTimeNewAccountThenReturning: 微博 on the login page → Weibo's page → the
// callback page in Weibo's words → 没有账号 with an SMS code → the user centre lists 微博;
// logged out, 微博 again goes straight in.
func TestWeiboFirstTimeNewAccountThenReturning(t *testing.T) {
	s := startSite(t)
	ctx := browser(t, false)
	must(t, ctx, chromedp.Navigate(s.url+"/login"), chromedp.WaitVisible(chromedp.CSS("#weibo-login")))
	if n := eval[int](t, ctx, `document.querySelectorAll('.social.weibo.unavailable').length`); n != 0 {
		t.Error("the 微博 icon still says 暂未开放")
	}
	must(t, ctx, toWeibo())
	shot(t, ctx, "weibo-authorize")
	if loc := location(t, ctx); !strings.Contains(loc, "/_dev/weibo/oauth2/authorize?") || strings.Contains(loc, "display=mobile") {
		t.Errorf("Weibo page = %s, want the desktop authorize page", loc)
	}
	must(t, ctx, pickWeiboUser("6672271347"), chromedp.WaitVisible(chromedp.CSS("#cb-bind")))
	shot(t, ctx, "weibo-callback-bind")
	if loc := location(t, ctx); loc != s.url+"/oauth/weibo/callback" {
		t.Errorf("callback URL = %s: code and state must leave the address bar", loc)
	}
	if got := text(t, ctx, "#cb-nickname"); got != "荏苒微博读者" {
		t.Errorf("Weibo nickname shown = %q", got)
	}
	if got := text(t, ctx, "#bind-submit"); got != "登录并关联微博" {
		t.Errorf("bind button = %q; want it to name 微博", got)
	}
	if !eval[bool](t, ctx, `document.getElementById("cb-avatar").complete && document.getElementById("cb-avatar").naturalWidth > 0 && document.getElementById("cb-avatar").src.includes("/_dev/weibo/avatar/6672271347")`) {
		t.Error("the Weibo avatar did not load")
	}
	s.registerOnCallback(t, ctx, "荏苒微博读者")
	shot(t, ctx, "weibo-user-centre")
	ids := text(t, ctx, "#user-identities")
	if !strings.Contains(ids, "微博：荏苒微博读者") || !strings.Contains(ids, "QQ：未关联") || !strings.Contains(ids, "微信：未关联") {
		t.Errorf("linked accounts = %q", ids)
	}

	must(t, ctx,
		clickBelowLists("#logout"),
		toWeibo(),
		pickWeiboUser("6672271347"),
		chromedp.WaitVisible(chromedp.CSS("#user-profile")),
	)
	if got := text(t, ctx, "#user-nickname"); got != "荏苒微博读者" {
		t.Errorf("returning Weibo login landed as %q", got)
	}

	// Unlink from the user centre (the account has a password), then 取消 on Weibo's page.
	must(t, ctx,
		chromedp.Click(chromedp.CSS("#weibo-unlink")),
		chromedp.WaitVisible(chromedp.CSS("#unlink-form")),
	)
	if got := text(t, ctx, "#unlink-label"); got != "输入密码以解除微博关联" {
		t.Errorf("unlink label = %q", got)
	}
	must(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#unlink-password"), "a long passphrase"),
		chromedp.Click(chromedp.CSS("#unlink-submit")),
		chromedp.WaitVisible(chromedp.CSS("#weibo-link")),
	)
	shot(t, ctx, "weibo-unlinked")
	must(t, ctx,
		chromedp.Click(chromedp.CSS("#weibo-link")),
		chromedp.WaitVisible(chromedp.CSS(`button[name="uid"]`)),
		chromedp.Click(chromedp.CSS("button.cancel")),
		chromedp.WaitVisible(chromedp.CSS("#cb-error")),
	)
	shot(t, ctx, "weibo-cancelled")
	if got := text(t, ctx, "#cb-error-title"); got != "微博登录已取消" {
		t.Errorf("title after 取消 = %q", got)
	}
	if got := text(t, ctx, "#cb-restart"); got != "重新用微博登录" {
		t.Errorf("restart button = %q", got)
	}
}

// TestWeiboPhoneExistingAccount: on a phone, Weibo's page is the mobile one
// (display=mobile); 已有账号 binds Weibo to an account made with a password.
func TestWeiboPhoneExistingAccount(t *testing.T) {
	s := startSite(t)
	mobile := s.register(t, "手机老用户", "correct horse battery")
	ctx := browser(t, true)
	must(t, ctx, chromedp.Navigate(s.url+"/login?next=/user"), toWeibo())
	shot(t, ctx, "weibo-authorize-phone")
	if loc := location(t, ctx); !strings.Contains(loc, "display=mobile") {
		t.Errorf("Weibo page on a phone = %s, want display=mobile", loc)
	}
	if cls := eval[string](t, ctx, `document.body.className`); cls != "mobile" {
		t.Errorf("emulator page class = %q, want mobile", cls)
	}
	must(t, ctx,
		pickWeiboUser("7214960791"),
		chromedp.WaitVisible(chromedp.CSS("#cb-bind")),
		chromedp.SendKeys(chromedp.CSS("#bind-account"), mobile),
		chromedp.SendKeys(chromedp.CSS("#bind-password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("#bind-submit")),
		chromedp.WaitVisible(chromedp.CSS("#user-profile")),
	)
	shot(t, ctx, "weibo-phone-bound")
	if got := text(t, ctx, "#user-identities"); !strings.Contains(got, "微博：小荏的微博😀") {
		t.Errorf("linked accounts = %q", got)
	}
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("the user centre is %d px wide on a 375 px phone", w)
	}
}
