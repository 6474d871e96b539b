package e2e_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestFormsForgiveCorrections: an error goes as soon as its field is changed; the wait
// before another SMS code belongs to the number it went to, so a corrected number does not
// wait out a mistyped one's countdown.
func TestFormsForgiveCorrections(t *testing.T) {
	s := startSite(t)
	ctx := browser(t, true)
	must(t, ctx,
		chromedp.Navigate(s.url+"/register"), chromedp.WaitVisible(chromedp.CSS("#register-form")),
		chromedp.Click(chromedp.CSS("#register-submit")),
		chromedp.WaitVisible(chromedp.CSS("#register-nickname-error")),
	)
	shot(t, ctx, "empty-submit")
	must(t, ctx, chromedp.SendKeys(chromedp.CSS("#register-nickname"), "改正"))
	if eval[bool](t, ctx, `!document.querySelector('#register-nickname-error').hidden`) {
		t.Error("the nickname's error stayed after the nickname was typed")
	}
	if !eval[bool](t, ctx, `!document.querySelector('#register-mobile-error').hidden`) {
		t.Error("the mobile's error went though the mobile was not touched")
	}
	first, second := newMobile(), newMobile()
	must(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#register-mobile"), first),
		chromedp.Click(chromedp.CSS("#register-form [data-send-code]")),
		chromedp.WaitVisible(chromedp.CSS("#toast")),
	)
	btn := func() (string, bool) {
		return text(t, ctx, "#register-form [data-send-code]"), eval[bool](t, ctx, `document.querySelector('#register-form [data-send-code]').disabled`)
	}
	if label, disabled := btn(); !disabled || !strings.Contains(label, "秒后重发") {
		t.Fatalf("after sending to %s the button is %q (disabled %v)", first, label, disabled)
	}
	clearMobile := func() { eval[bool](t, ctx, `(document.querySelector('#register-mobile').value = '', true)`) }
	clearMobile()
	must(t, ctx, chromedp.SendKeys(chromedp.CSS("#register-mobile"), second))
	if label, disabled := btn(); disabled || label != "发送验证码" {
		t.Errorf("for a corrected number the button is %q (disabled %v), want 发送验证码", label, disabled)
	}
	shot(t, ctx, "corrected-number")
	clearMobile()
	must(t, ctx, chromedp.SendKeys(chromedp.CSS("#register-mobile"), first))
	if label, disabled := btn(); !disabled || !strings.Contains(label, "秒后重发") {
		t.Errorf("back to the first number the button is %q (disabled %v), want its countdown", label, disabled)
	}
}

// TestCallbackResumesAfterReload: reloading the callback page while choosing 已有账号 /
// 没有账号 keeps the QQ step (the pending identity lives ten minutes); then binding works.
func TestCallbackResumesAfterReload(t *testing.T) {
	s := startSite(t)
	mobile := s.register(t, "续上绑定", "correct horse battery")
	ctx := browser(t, true)
	must(t, ctx,
		chromedp.Navigate(s.url+"/login"), toQQ(),
		chromedp.Click(chromedp.CSS("#new-user")),
		chromedp.WaitVisible(chromedp.CSS("#cb-bind")),
	)
	nick := text(t, ctx, "#cb-nickname")
	must(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#cb-bind")))
	if got := text(t, ctx, "#cb-nickname"); got != nick || nick == "" {
		t.Errorf("after a reload the page shows QQ %q, want %q", got, nick)
	}
	shot(t, ctx, "resumed")
	must(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#bind-account"), mobile),
		chromedp.SendKeys(chromedp.CSS("#bind-password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("#bind-submit")),
		chromedp.WaitVisible(chromedp.CSS("#user-profile")),
	)
	if got := text(t, ctx, "#user-identities"); !strings.Contains(got, nick) {
		t.Errorf("linked accounts after binding = %q, want %s", got, nick)
	}
	// A reload after the binding is done (the handle is used up) says so, no stale form.
	must(t, ctx, chromedp.Navigate(s.url+"/oauth/qq/callback"), chromedp.WaitVisible(chromedp.CSS("#cb-error")))
}

// TestQQRememberAndLogoutFeedback: 记住我 counts for QQ logins; logging out says so; log out
// everywhere asks first; /login while logged in says as whom instead of a second login form.
func TestQQRememberAndLogoutFeedback(t *testing.T) {
	s := startSite(t)
	ctx := browser(t, false)
	// 10001 becomes a returning user: a first login binds it to a new account.
	mobile := s.register(t, "记住QQ", "correct horse battery")
	must(t, ctx,
		chromedp.Navigate(s.url+"/login"), toQQ(), pickQQUser("10001"),
		chromedp.WaitVisible(chromedp.CSS("#cb-bind")),
		chromedp.SendKeys(chromedp.CSS("#bind-account"), mobile),
		chromedp.SendKeys(chromedp.CSS("#bind-password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("#bind-submit")),
		chromedp.WaitVisible(chromedp.CSS("#user-profile")),
		clickBelowLists("#logout"),
		chromedp.WaitVisible(chromedp.CSS("#login-notice")),
	)
	if got := text(t, ctx, "#login-notice"); got != "已退出登录" {
		t.Errorf("after 退出登录 the login page says %q", got)
	}
	must(t, ctx,
		chromedp.Click(chromedp.CSS("#login-remember")),
		toQQ(), pickQQUser("10001"),
		chromedp.WaitVisible(chromedp.CSS("#user-profile")),
	)
	if eval[string](t, ctx, `localStorage.getItem('user_refresh') || ''`) == "" {
		t.Error("a QQ login with 记住我 kept its tokens out of localStorage")
	}
	if rows := eval[string](t, ctx, `document.querySelector('#user-sessions').textContent`); !strings.Contains(rows, "QQ 登录 · 记住我") {
		t.Errorf("the session list says %q, want a remembered QQ login", rows)
	}
	// /login while logged in.
	must(t, ctx, chromedp.Navigate(s.url+"/login"), chromedp.WaitVisible(chromedp.CSS("#login-signed-in")))
	if got := text(t, ctx, "#login-signed-nick"); got != "记住QQ" {
		t.Errorf("/login while logged in names %q", got)
	}
	shot(t, ctx, "login-while-logged-in")
	must(t, ctx,
		chromedp.Click(chromedp.CSS("#login-continue")), chromedp.WaitVisible(chromedp.CSS("#user-profile")),
		clickBelowLists("#logout-all"),
		chromedp.WaitVisible(chromedp.CSS("#logout-all-confirm")),
	)
	shot(t, ctx, "logout-all-confirm")
	must(t, ctx, chromedp.Click(chromedp.CSS("#logout-all-no")))
	if !eval[bool](t, ctx, `document.querySelector('#logout-all-confirm').hidden`) || location(t, ctx) != s.url+"/user" {
		t.Error("取消 did not keep the person logged in on the user centre")
	}
	must(t, ctx,
		clickBelowLists("#logout-all"),
		chromedp.Click(chromedp.CSS("#logout-all-yes")),
		chromedp.WaitVisible(chromedp.CSS("#login-notice")),
	)
	if got := text(t, ctx, "#login-notice"); got != "已在所有设备上退出登录" {
		t.Errorf("after log out everywhere the login page says %q", got)
	}
	// Sent from /user without a login: the login page says why.
	must(t, ctx, chromedp.Navigate(s.url+"/user"), chromedp.WaitVisible(chromedp.CSS("#login-notice")))
	if got := text(t, ctx, "#login-notice"); got != "请先登录" {
		t.Errorf("sent from /user the login page says %q", got)
	}
}

// TestPagesFitAPhone: no page scrolls sideways at 375 px, and a browser opening an unknown
// address gets the 404 page.
func TestPagesFitAPhone(t *testing.T) {
	s := startSite(t)
	mobile := s.register(t, "手机宽度", "correct horse battery") // the outbox has an SMS and the dev page a row
	ctx := browser(t, true)
	for _, path := range []string{"/_dev/", "/login", "/register", "/terms", "/privacy", "/nonexistent"} {
		must(t, ctx, chromedp.Navigate(s.url+path), chromedp.WaitVisible(chromedp.CSS(".card")))
		if path == "/_dev/" {
			must(t, ctx, chromedp.WaitVisible(chromedp.CSS("#outbox-rows .code")))
		}
		if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 375 {
			t.Errorf("%s is %d px wide at 375", path, w)
			shot(t, ctx, "too-wide"+strings.ReplaceAll(path, "/", "-"))
		}
	}
	if got := text(t, ctx, "h1"); got != "页面不存在" {
		t.Errorf("/nonexistent in a browser shows %q", got)
	}
	shot(t, ctx, "not-found")
	// The user centre's two buttons: each on one line, neither stretched by the other.
	must(t, ctx, logIn(s, mobile, "correct horse battery"))
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("/user is %d px wide at 375", w)
	}
	heights := eval[[]float64](t, ctx, `['#logout', '#logout-all'].map(s => document.querySelector(s).getBoundingClientRect().height)`)
	lines := eval[[]float64](t, ctx, `['#logout', '#logout-all'].map(s => { const r = document.createRange(); r.selectNodeContents(document.querySelector(s)); return r.getClientRects().length; })`)
	if len(heights) != 2 || heights[0] != heights[1] || lines[0] != 1 || lines[1] != 1 {
		t.Errorf("退出登录 / 在所有设备上退出 at 375 px: heights %v, lines of text %v; want equal heights, one line each", heights, lines)
	}
	shot(t, ctx, "user-centre")
}
