package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/renran/accounts/internal/app/apptest"
)

// TestSessionsInTheUserCentre: logged in with 记住我 in one browser and without in
// another, the user centre lists both; 退出此设备 ends the other one, which lands on /login
// with a message at its next page.
func TestSessionsInTheUserCentre(t *testing.T) {
	s := startSite(t)
	mobile := s.register(t, "两台设备", "correct horse battery")
	desk := browser(t, false)
	must(t, desk,
		chromedp.Navigate(s.url+"/login?next=/user"), chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#login-account"), mobile),
		chromedp.Click(chromedp.CSS("#login-remember")),
		chromedp.SendKeys(chromedp.CSS("#login-password"), "correct horse battery\r"),
		chromedp.WaitVisible(chromedp.CSS("#user-profile")),
	)
	if eval[string](t, desk, `localStorage.getItem('user_refresh') || ''`) == "" {
		t.Error("记住我: the refresh token is not in localStorage")
	}
	phone := browser(t, true)
	must(t, phone, logIn(s, mobile, "correct horse battery"))
	if eval[string](t, phone, `sessionStorage.getItem('user_refresh') || ''`) == "" || eval[string](t, phone, `localStorage.getItem('user_refresh') || ''`) != "" {
		t.Error("without 记住我: the refresh token belongs in sessionStorage only")
	}
	must(t, desk, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#user-sessions [data-session] button")))
	// Three: this browser, the phone, and the registration (through the API, by a program).
	rows := eval[[]string](t, desk, `[...document.querySelectorAll('#user-sessions [data-session]')].map(li => li.textContent)`)
	all := strings.Join(rows, "\n")
	if len(rows) != 3 || !strings.Contains(all, "Chrome · Linux（当前设备）") || !strings.Contains(all, "Safari · iPhone") || !strings.Contains(all, "记住我") {
		t.Fatalf("sessions in the user centre = %q", rows)
	}
	shot(t, desk, "two-sessions")
	must(t, desk,
		chromedp.Click(chromedp.CSS(`#user-sessions [data-session] button[aria-label*="iPhone"]`)),
		chromedp.WaitVisible(chromedp.CSS("#toast")),
	)
	waitFor(t, func() bool {
		return eval[int](t, desk, `document.querySelectorAll('#user-sessions [data-session]').length`) == 2
	}, "the ended session to leave the list")
	shot(t, desk, "other-ended")
	// The phone's next page: its session is gone, refreshing fails, it is sent to log in.
	must(t, phone, chromedp.Navigate(s.url+"/user"), chromedp.WaitVisible(chromedp.CSS("#login-notice")))
	if got := text(t, phone, "#login-notice"); !strings.Contains(got, "登录已失效") {
		t.Errorf("the ended browser's login page says %q", got)
	}
	if v := eval[string](t, phone, `sessionStorage.getItem('user_token') || ''`); v != "" {
		t.Error("the ended browser kept its token")
	}
	shot(t, phone, "landed-on-login")
}

// TestSilentRefresh: with 3-second access tokens, a page left open renews its token
// before it expires, and a page whose token the server refuses renews it on the 401 and
// shows the user centre without passing through /login.
func TestSilentRefresh(t *testing.T) {
	s := &site{url: apptest.Start(t, map[string]string{"RENRAN_CAPTCHA": "off", "RENRAN_ACCESS_TOKEN_TTL": "3s"}).URL}
	mobile := s.register(t, "静默续期", "correct horse battery")
	ctx := browser(t, false)
	must(t, ctx, logIn(s, mobile, "correct horse battery"))
	first := eval[string](t, ctx, `sessionStorage.getItem('user_token')`)
	waitFor(t, func() bool { return eval[string](t, ctx, `sessionStorage.getItem('user_token')`) != first }, "the token to be renewed by the timer")
	// The renewed token is one the server accepts. (Waiting out the first token would prove
	// nothing more: the server allows 30 s of clock skew past exp.)
	if st := eval[int](t, ctx, `(() => { const x = new XMLHttpRequest(); x.open('GET', '/users/me/', false);
		x.setRequestHeader('Authorization', 'Bearer ' + sessionStorage.getItem('user_token')); x.send(); return x.status; })()`); st != 200 {
		t.Errorf("the renewed token's /users/me/ = %v, want 200", st)
	}
	// A token the server refuses (here: its signature broken, which the server answers as
	// it answers an expired one, 401 not_authenticated) in a page that believes it fresh
	// (no early renewal): the first request gets the 401, renews once and retries. (A page
	// without requests of its own, so that nothing renews meanwhile.)
	must(t, ctx, chromedp.Navigate(s.url+"/terms"), chromedp.WaitVisible(chromedp.CSS(".prose")))
	stale := eval[string](t, ctx, `(() => { const t = sessionStorage.getItem('user_token');
		const bad = t.slice(0, -4) + (t.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA');
		sessionStorage.setItem('user_token', bad); sessionStorage.setItem('user_token_exp', String(Date.now() + 3600e3)); return bad; })()`)
	must(t, ctx, chromedp.Navigate(s.url+"/user"), chromedp.WaitVisible(chromedp.CSS("#user-profile")))
	if loc := location(t, ctx); loc != s.url+"/user" {
		t.Errorf("after a 401 and a renewal the page is %s", loc)
	}
	if eval[string](t, ctx, `sessionStorage.getItem('user_token')`) == stale {
		t.Error("the refused token was not replaced")
	}
	shot(t, ctx, "renewed-on-401")
}

// waitFor polls cond for up to 15 seconds.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
