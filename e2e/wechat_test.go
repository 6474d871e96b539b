package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"
)

const microMessengerUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"

// inWeChat is a phone whose browser is WeChat's own.
type inWeChat struct{}

func (inWeChat) Device() device.Info {
	return device.Info{Name: "WeChat on a phone", UserAgent: microMessengerUA, Width: 375, Height: 812, Scale: 2, Mobile: true, Touch: true}
}

// pickWeChatUser confirms as a test WeChat user on the emulator's page.
func pickWeChatUser(id string) chromedp.Action[chromedp.Void] {
	sel := chromedp.CSS(`button[name="user"][value="` + id + `"]`)
	return chromedp.Steps(chromedp.WaitVisible(sel), chromedp.Click(sel))
}

// TestWeChatQRFirstTimeNewAccountThenReturning: on a computer, 微信 shows WeChat's QR page
// (a real QR code); the first time → 没有账号; logged out, 微信 again goes straight in.
func TestWeChatQRFirstTimeNewAccountThenReturning(t *testing.T) {
	s := startSite(t)
	ctx := browser(t, false)
	must(t, ctx,
		chromedp.Navigate(s.url+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#wechat-login")),
		chromedp.Click(chromedp.CSS("#wechat-login")),
		chromedp.WaitVisible(chromedp.CSS("#qrcode")),
	)
	shot(t, ctx, "wechat-qr")
	if loc := location(t, ctx); !strings.Contains(loc, "/_dev/wechat/connect/qrconnect?") || !strings.Contains(loc, "scope=snsapi_login") {
		t.Errorf("WeChat page = %s, want the website app's QR page", loc)
	}
	if !get(t, ctx, chromedp.Poll[bool](`document.getElementById("qrcode").complete && document.getElementById("qrcode").naturalWidth >= 200`,
		chromedp.WithPollingTimeout(5*time.Second))) {
		t.Error("the QR code image did not load")
	}
	must(t, ctx, pickWeChatUser("wx1"), chromedp.WaitVisible(chromedp.CSS("#cb-bind")))
	shot(t, ctx, "wechat-callback-bind")
	if loc := location(t, ctx); loc != s.url+"/oauth/wechat/callback" {
		t.Errorf("callback URL = %s", loc)
	}
	if got := text(t, ctx, "#cb-nickname"); got != "荏苒微信读者" {
		t.Errorf("WeChat nickname shown = %q", got)
	}
	if !eval[bool](t, ctx, `document.getElementById("cb-avatar").complete && document.getElementById("cb-avatar").naturalWidth > 0 && document.getElementById("cb-avatar").src.includes("/_dev/wechat/avatar/wx1/132")`) {
		t.Error("the WeChat avatar did not load")
	}
	s.registerOnCallback(t, ctx, "荏苒微信读者")
	shot(t, ctx, "wechat-user-centre")
	if got := text(t, ctx, "#user-identities"); !strings.Contains(got, "微信：荏苒微信读者") {
		t.Errorf("linked accounts = %q", got)
	}
	must(t, ctx,
		clickBelowLists("#logout"),
		chromedp.WaitVisible(chromedp.CSS("#wechat-login")),
		chromedp.Click(chromedp.CSS("#wechat-login")),
		pickWeChatUser("wx1"),
		chromedp.WaitVisible(chromedp.CSS("#user-profile")),
	)
	if got := text(t, ctx, "#user-nickname"); got != "荏苒微信读者" {
		t.Errorf("returning WeChat login landed as %q", got)
	}

	// 取消登录 on WeChat's page comes back with the state and no code: cancelled, not broken.
	must(t, ctx,
		clickBelowLists("#logout"),
		chromedp.WaitVisible(chromedp.CSS("#wechat-login")),
		chromedp.Click(chromedp.CSS("#wechat-login")),
		chromedp.WaitVisible(chromedp.CSS("button.deny")),
		chromedp.Click(chromedp.CSS("button.deny")),
		chromedp.WaitVisible(chromedp.CSS("#cb-error")),
	)
	shot(t, ctx, "wechat-cancelled")
	if got := text(t, ctx, "#cb-error-title"); got != "微信登录已取消" {
		t.Errorf("title after 取消登录 = %q", got)
	}
}

// TestWeChatInAppExistingAccount: in WeChat's own browser (MicroMessenger) the login takes
// the official account's authorize page, not the QR page; 已有账号 binds it.
func TestWeChatInAppExistingAccount(t *testing.T) {
	s := startSite(t)
	mobile := s.register(t, "微信里的老用户", "correct horse battery")
	ctx := browser(t, false)
	must(t, ctx, chromedp.Emulate(inWeChat{}),
		chromedp.Navigate(s.url+"/login?next=/user"),
		chromedp.WaitVisible(chromedp.CSS("#wechat-login")),
		chromedp.Click(chromedp.CSS("#wechat-login")),
		chromedp.WaitVisible(chromedp.CSS(`button[name="user"]`)),
	)
	shot(t, ctx, "wechat-official-account")
	if loc := location(t, ctx); !strings.Contains(loc, "/_dev/wechat/connect/oauth2/authorize?") || !strings.Contains(loc, "scope=snsapi_userinfo") {
		t.Errorf("WeChat page inside WeChat = %s, want the official account's authorize page", loc)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#qrcode').length`); n != 0 {
		t.Error("a QR code inside WeChat's browser: the phone showing it cannot scan it")
	}
	must(t, ctx,
		pickWeChatUser("wx2"),
		chromedp.WaitVisible(chromedp.CSS("#cb-bind")),
		chromedp.SendKeys(chromedp.CSS("#bind-account"), mobile),
		chromedp.SendKeys(chromedp.CSS("#bind-password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("#bind-submit")),
		chromedp.WaitVisible(chromedp.CSS("#user-profile")),
	)
	shot(t, ctx, "wechat-in-app-bound")
	if got := text(t, ctx, "#user-identities"); !strings.Contains(got, "微信：小荏🌸") {
		t.Errorf("linked accounts = %q", got)
	}
}
