package e2e_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/renran/accounts/internal/app/apptest"
)

func TestPasswordLogin(t *testing.T) {
	s := startSite(t)
	mobile := s.register(t, "密码用户", "correct horse battery")
	for _, remember := range []bool{false, true} {
		name := "session"
		if remember {
			name = "remember"
		}
		t.Run(name, func(t *testing.T) {
			ctx := browser(t, false)
			must(t, ctx, chromedp.Navigate(s.url+"/login?next=/user"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
			shot(t, ctx, "login-page")
			// A wrong password first: an inline error, the button usable again.
			must(t, ctx,
				chromedp.SendKeys(chromedp.CSS("#login-account"), mobile),
				chromedp.SendKeys(chromedp.CSS("#login-password"), "wrong password"),
				chromedp.Click(chromedp.CSS("#login-submit")),
				chromedp.WaitVisible(chromedp.CSS("#login-form .form-error")),
			)
			if got := text(t, ctx, "#login-form .form-error"); got != "账号或密码错误" {
				t.Errorf("error shown = %q, want 账号或密码错误", got)
			}
			if f := eval[string](t, ctx, `document.activeElement.id`); f != "login-password" {
				t.Errorf("focus after a wrong password = %q, want the password field", f)
			}
			shot(t, ctx, "wrong-password")
			if remember {
				must(t, ctx, chromedp.Click(chromedp.CSS("#login-remember")))
			}
			// Enter submits.
			must(t, ctx,
				chromedp.SendKeys(chromedp.CSS("#login-password"), "correct horse battery\r"),
				chromedp.WaitVisible(chromedp.CSS("#user-profile")),
			)
			shot(t, ctx, "user-centre")
			if got := text(t, ctx, "#user-nickname"); got != "密码用户" {
				t.Errorf("user centre nickname = %q", got)
			}
			var local, session string
			local = eval[string](t, ctx, `localStorage.getItem("user_token") || ""`)
			session = eval[string](t, ctx, `sessionStorage.getItem("user_token") || ""`)
			if remember && (local == "" || session != "") || !remember && (session == "" || local != "") {
				t.Errorf("remember=%v: localStorage token %v, sessionStorage token %v", remember, local != "", session != "")
			}
			// Log out: back to the login page, nothing stored.
			must(t, ctx, clickBelowLists("#logout"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
			local = eval[string](t, ctx, `(localStorage.getItem("user_token") || "") + (sessionStorage.getItem("user_token") || "")`)
			if local != "" {
				t.Errorf("a token is still stored after logging out")
			}
		})
	}
}

func TestQQFirstTimeExistingThenReturning(t *testing.T) {
	s := startSite(t)
	mobile := s.register(t, "老用户", "correct horse battery")
	ctx := browser(t, false)
	must(t, ctx,
		chromedp.Navigate(s.url+"/login?next=/user"),
		toQQ(),
	)
	shot(t, ctx, "qq-authorize")
	if loc := location(t, ctx); !strings.Contains(loc, "/_dev/qq/oauth2.0/show?which=Login&display=pc") {
		t.Errorf("QQ page = %s, want the desktop login page", loc)
	}
	must(t, ctx, pickQQUser("10001"), chromedp.WaitVisible(chromedp.CSS("#cb-bind")))
	shot(t, ctx, "callback-bind")
	if loc := location(t, ctx); loc != s.url+"/oauth/qq/callback" {
		t.Errorf("callback URL = %s: code and state must leave the address bar", loc)
	}
	if got := text(t, ctx, "#cb-nickname"); got != "林枫" {
		t.Errorf("QQ nickname shown = %q, want 林枫", got)
	}
	avatarOK := eval[bool](t, ctx, `document.getElementById("cb-avatar").complete && document.getElementById("cb-avatar").naturalWidth > 0 && document.getElementById("cb-avatar").src.includes("/qlogo/10001/")`)
	if !avatarOK {
		t.Error("the QQ avatar did not load")
	}
	// 已有账号: a wrong password keeps the person on the form; the right one binds.
	must(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#bind-account"), mobile),
		chromedp.SendKeys(chromedp.CSS("#bind-password"), "not it"),
		chromedp.Click(chromedp.CSS("#bind-submit")),
		chromedp.WaitVisible(chromedp.CSS("#bind-form .form-error")),
		chromedp.SendKeys(chromedp.CSS("#bind-password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("#bind-submit")),
		chromedp.WaitVisible(chromedp.CSS("#user-profile")),
	)
	shot(t, ctx, "user-centre-bound")
	if got := text(t, ctx, "#user-identities"); !strings.Contains(got, "林枫") {
		t.Errorf("linked accounts = %q, want the QQ nickname", got)
	}

	// Log out, then QQ again: a returning user goes straight on, no bind page.
	must(t, ctx,
		clickBelowLists("#logout"),
		toQQ(),
		pickQQUser("10001"),
		chromedp.WaitVisible(chromedp.CSS("#user-profile")),
	)
	shot(t, ctx, "returning-user")
	if got := text(t, ctx, "#user-nickname"); got != "老用户" {
		t.Errorf("returning QQ login landed as %q", got)
	}
}

// qqNewAccount runs the 没有账号 path for a QQ user picked on the emulator page.
func qqNewAccount(t *testing.T, s *site, phone bool) {
	ctx := browser(t, phone)
	must(t, ctx,
		chromedp.Navigate(s.url+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#qq-login")),
	)
	shot(t, ctx, "login")
	must(t, ctx,
		toQQ(),
	)
	shot(t, ctx, "qq-authorize")
	wantDisplay := "display=pc"
	bodyClass := eval[string](t, ctx, `document.body.className`)
	if phone {
		wantDisplay = "display=mobile"
		if bodyClass != "mobile" {
			t.Errorf("emulator page class = %q, want mobile", bodyClass)
		}
	}
	if loc := location(t, ctx); !strings.Contains(loc, wantDisplay) {
		t.Errorf("QQ page = %s, want %s", loc, wantDisplay)
	}
	must(t, ctx,
		pickQQUser("10002"),
		chromedp.WaitVisible(chromedp.CSS("#cb-bind")),
		chromedp.Click(chromedp.CSS("#tab-new")),
		chromedp.WaitVisible(chromedp.CSS("#qqreg-form")),
	)
	nick := value(t, ctx, "#qqreg-nickname")
	if nick != "小荏" {
		t.Errorf("nickname prefilled = %q, want 小荏", nick)
	}
	mobile := newMobile()
	must(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#qqreg-mobile"), mobile),
		chromedp.Click(chromedp.CSS("#qqreg-form [data-send-code]")),
		chromedp.WaitVisible(chromedp.CSS("#toast")),
	)
	btn := text(t, ctx, "#qqreg-form [data-send-code]")
	if !strings.Contains(btn, "秒后重发") {
		t.Errorf("send button after sending = %q, want a countdown", btn)
	}
	shot(t, ctx, "code-sent")
	code := s.smsCode(t, mobile)
	must(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#qqreg-sms_code"), code),
		chromedp.SendKeys(chromedp.CSS("#qqreg-password"), "a long passphrase"),
		chromedp.Click(chromedp.CSS("#qqreg-submit")),
		chromedp.WaitVisible(chromedp.CSS("#user-profile")),
	)
	shot(t, ctx, "user-centre")
	if got := text(t, ctx, "#user-nickname"); got != "小荏" {
		t.Errorf("new account nickname = %q", got)
	}
	if got := text(t, ctx, "#user-identities"); !strings.Contains(got, "小荏") {
		t.Errorf("linked accounts = %q", got)
	}
}

func TestQQFirstTimeNewAccount(t *testing.T) {
	qqNewAccount(t, startSite(t), false)
}

func TestPhone(t *testing.T) {
	qqNewAccount(t, startSite(t), true)
}

func TestRegister(t *testing.T) {
	s := startSite(t)
	ctx := browser(t, false)
	must(t, ctx, chromedp.Navigate(s.url+"/register"), chromedp.WaitVisible(chromedp.CSS("#register-form")))
	// Client-side checks first: empty submit marks the fields and focuses the first one.
	must(t, ctx, chromedp.Click(chromedp.CSS("#register-submit")), chromedp.WaitVisible(chromedp.CSS("#register-nickname-error")))
	focused := eval[string](t, ctx, `document.activeElement.id`)
	if focused != "register-nickname" {
		t.Errorf("focus after an empty submit = %q, want the first field", focused)
	}
	shot(t, ctx, "empty-submit")
	mobile := newMobile()
	must(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#register-nickname"), "新读者"),
		chromedp.SendKeys(chromedp.CSS("#register-mobile"), mobile),
		chromedp.Click(chromedp.CSS("#register-form [data-send-code]")),
		chromedp.WaitVisible(chromedp.CSS("#toast")),
	)
	code := s.smsCode(t, mobile)
	must(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#register-sms_code"), code),
		chromedp.SendKeys(chromedp.CSS("#register-password"), "12345678"),
		chromedp.Click(chromedp.CSS("#register-submit")),
		chromedp.WaitVisible(chromedp.CSS("#register-password-error")),
	)
	if got := text(t, ctx, "#register-password-error"); !strings.Contains(got, "太常见") {
		t.Errorf("common password error = %q", got)
	}
	shot(t, ctx, "common-password")
	eval[string](t, ctx, `document.getElementById("register-password").value = ""`)
	must(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#register-password"), "a much better passphrase"),
		chromedp.Click(chromedp.CSS("#register-submit")),
		chromedp.WaitVisible(chromedp.CSS("#user-profile")),
	)
	shot(t, ctx, "user-centre")
	if got := text(t, ctx, "#user-mobile"); got != mobile[:3]+"****"+mobile[7:] {
		t.Errorf("mobile shown = %q, want it masked", got)
	}
}

func TestExpiredCallbackLink(t *testing.T) {
	s := startSite(t)
	ctx := browser(t, false)
	must(t, ctx,
		chromedp.Navigate(s.url+"/oauth/qq/callback?code=0123456789ABCDEF0123456789ABCDEF&state=stale"),
		chromedp.WaitVisible(chromedp.CSS("#cb-error")),
	)
	shot(t, ctx, "expired")
	if got := text(t, ctx, "#cb-error-title"); got != "QQ 登录链接已失效" {
		t.Errorf("error title = %q", got)
	}
	if loc := location(t, ctx); strings.Contains(loc, "code=") || strings.Contains(loc, "state=") {
		t.Errorf("address bar still holds the code: %s", loc)
	}
	// Reloading the clean URL shows the same clear message, not a spinner forever.
	must(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#cb-error")))
	// 重新用 QQ 登录 starts over at QQ.
	must(t, ctx, chromedp.Click(chromedp.CSS("#cb-restart")), waitQQPage())
	shot(t, ctx, "restarted")
}

// TestUnavailableProviders: a provider that is off (RENRAN_WECHAT_APP_ID=off) keeps its icon,
// which says 暂未开放 when clicked.
func TestUnavailableProviders(t *testing.T) {
	s := &site{url: apptest.Start(t, map[string]string{"RENRAN_CAPTCHA": "off", "RENRAN_WECHAT_APP_ID": "off", "RENRAN_WEIBO_APP_KEY": "off"}).URL}
	ctx := browser(t, false)
	must(t, ctx,
		chromedp.Navigate(s.url+"/login"),
		chromedp.WaitVisible(chromedp.CSS(".social.wechat")),
		chromedp.Click(chromedp.CSS(".social.wechat")),
		chromedp.WaitVisible(chromedp.CSS("#toast")),
	)
	if got := text(t, ctx, "#toast"); !strings.Contains(got, "微信登录暂未开放") {
		t.Errorf("toast = %q", got)
	}
	shot(t, ctx, "wechat-unavailable")
}

// TestQQErrorsInBrowser: QQ failing and a cancelled login end on a clear message with a
// way to start again, never on a spinner.
func TestQQErrorsInBrowser(t *testing.T) {
	s := startSite(t)
	// Make the emulator's token endpoint answer 500 once, through its settings endpoint.
	req, _ := http.NewRequest(http.MethodPut, s.url+"/_dev/qq/_qqemu/settings", strings.NewReader(`{"faults":[{"endpoint":"token","kind":"http500","times":1}]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT emulator settings: %v %v", err, resp)
	}
	resp.Body.Close()
	ctx := browser(t, false)
	must(t, ctx,
		chromedp.Navigate(s.url+"/login"),
		toQQ(),
		pickQQUser("10001"),
		chromedp.WaitVisible(chromedp.CSS("#cb-error")),
	)
	shot(t, ctx, "qq-unavailable")
	if got := text(t, ctx, "#cb-error-title"); got != "暂时无法连接 QQ" {
		t.Errorf("title = %q", got)
	}
	// Start again: the fault was for one request only, so this time it works.
	must(t, ctx,
		chromedp.Click(chromedp.CSS("#cb-restart")),
		pickQQUser("10001"),
		chromedp.WaitVisible(chromedp.CSS("#cb-bind")),
	)
	// QQ sending the person back with an error (a cancelled authorisation).
	must(t, ctx,
		chromedp.Navigate(s.url+"/oauth/qq/callback?error=access_denied&state=x"),
		chromedp.WaitVisible(chromedp.CSS("#cb-error")),
	)
	shot(t, ctx, "cancelled")
	if got := text(t, ctx, "#cb-error-title"); got != "QQ 登录已取消" {
		t.Errorf("title after a cancelled login = %q", got)
	}
}

// waitQQPage waits for the emulator's QQ login page.
func waitQQPage() chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS("button[data-uin]"))
}

// toQQ clicks the login page's QQ icon and waits for the emulator's QQ login page.
func toQQ() chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS("#qq-login")),
		chromedp.Click(chromedp.CSS("#qq-login")),
		waitQQPage(),
	)
}

// clickBelowLists clicks a button of the user centre that sits under its two lists, once
// they have loaded (aria-busy false): they grow when they do, and a click aimed before
// lands on whatever moved under it.
func clickBelowLists(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS(`#user-sessions[aria-busy="false"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#user-events[aria-busy="false"]`)),
		chromedp.Click(chromedp.CSS(sel)),
	)
}

// pickQQUser picks a test QQ user on the emulator's page.
func pickQQUser(uin string) chromedp.Action[chromedp.Void] {
	sel := chromedp.CSS(`button[data-uin="` + uin + `"]`)
	return chromedp.Steps(chromedp.WaitVisible(sel), chromedp.Click(sel))
}
