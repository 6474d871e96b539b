package e2e_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// logIn logs in on the login page and waits for the user centre.
func logIn(s *site, account, password string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(s.url+"/login?next=/user"), chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#login-account"), account),
		chromedp.SendKeys(chromedp.CSS("#login-password"), password+"\r"),
		chromedp.WaitVisible(chromedp.CSS("#user-profile")),
	)
}

// mailLink waits for the newest mail to addr in the development outbox and returns its link.
func (s *site) mailLink(t *testing.T, addr string, n int) string {
	t.Helper()
	for i := 0; i < 100; i++ {
		resp, err := http.Get(s.url + "/_dev/outbox?to=" + addr)
		if err != nil {
			t.Fatal(err)
		}
		var list []struct{ Kind, Link string }
		_ = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		var links []string
		for _, m := range list {
			if m.Kind == "mail" && m.Link != "" { // notices carry no link
				links = append(links, m.Link)
			}
		}
		if len(links) >= n {
			return links[0]
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no mail %d for %s", n, addr)
	return ""
}

// TestEmailAndRecovery: add and confirm an e-mail in the user centre, then 忘记密码 → the
// mail → the reset page (the token leaves the address bar) → log in with the new password;
// then change the password in the user centre and see another browser logged out.
func TestEmailAndRecovery(t *testing.T) {
	s := startSite(t)
	mobile := s.register(t, "找回用户", "correct horse battery")
	ctx := browser(t, false)
	must(t, ctx,
		logIn(s, mobile, "correct horse battery"),
		chromedp.Click(chromedp.CSS("#email-summary")),
		chromedp.SendKeys(chromedp.CSS("#email-email"), "zhao@example.com"),
		chromedp.SendKeys(chromedp.CSS("#email-password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("#email-submit")),
		chromedp.WaitVisible(chromedp.CSS("#toast")),
	)
	shot(t, ctx, "email-requested")
	link := s.mailLink(t, "zhao@example.com", 1)
	must(t, ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#confirm-done")))
	if got := text(t, ctx, "#confirm-message"); !strings.Contains(got, "邮箱已确认") {
		t.Errorf("confirm page says %q", got)
	}
	if loc := location(t, ctx); strings.Contains(loc, "token") {
		t.Errorf("the confirmation token stayed in the address bar: %s", loc)
	}

	// Another session (through the API): the reset will end it.
	st, m := s.post(t, "/users/login/", map[string]any{"account": "zhao@example.com", "password": "correct horse battery"})
	if st != 200 {
		t.Fatalf("login by the confirmed e-mail = %d %v", st, m)
	}
	otherToken, _ := m["token"].(string)

	must(t, ctx,
		chromedp.Navigate(s.url+"/user"), chromedp.WaitVisible(chromedp.CSS("#user-profile")),
		clickBelowLists("#logout"), chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.Click(chromedp.CSS("#login-forgot")), chromedp.WaitVisible(chromedp.CSS("#forgot-form")),
		chromedp.SendKeys(chromedp.CSS("#forgot-email"), "zhao@example.com"),
		chromedp.Click(chromedp.CSS("#forgot-submit")),
		chromedp.WaitVisible(chromedp.CSS("#forgot-done")),
	)
	shot(t, ctx, "forgot-sent")
	reset := s.mailLink(t, "zhao@example.com", 2)
	must(t, ctx, chromedp.Navigate(reset), chromedp.WaitVisible(chromedp.CSS("#reset-form")))
	if loc := location(t, ctx); loc != s.url+"/reset-password" {
		t.Errorf("reset page at %s: the token must leave the address bar", loc)
	}
	must(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#reset-password"), "a brand new passphrase"),
		chromedp.SendKeys(chromedp.CSS("#reset-password2"), "a brand new passphrase typo"),
		chromedp.Click(chromedp.CSS("#reset-submit")),
		chromedp.WaitVisible(chromedp.CSS("#reset-password2-error")),
		chromedp.SetValue(chromedp.CSS("#reset-password2"), "a brand new passphrase"),
		chromedp.Click(chromedp.CSS("#reset-submit")),
		chromedp.WaitVisible(chromedp.CSS("#reset-done")),
	)
	shot(t, ctx, "reset-done")
	must(t, ctx,
		chromedp.Click(chromedp.CSS("#reset-login")), chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#login-account"), "zhao@example.com"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), "a brand new passphrase\r"),
		chromedp.WaitVisible(chromedp.CSS("#user-profile")),
	)
	if got := text(t, ctx, "#user-email"); got != "zhao@example.com" {
		t.Errorf("user centre e-mail = %q", got)
	}
	// The other session ended with the reset.
	req, _ := http.NewRequest("GET", s.url+"/users/me/", nil)
	req.Header.Set("Authorization", "Bearer "+otherToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("a session from before the reset: %v %v, want 401", resp, err)
	}

	// Another browser (its own cookies and storage, in the same Chromium) logged in too.
	other, cancelOther := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancelOther()
	must(t, other, logIn(s, mobile, "a brand new passphrase"), chromedp.WaitVisible(chromedp.CSS("#user-profile")))

	// Change the password in the user centre.
	must(t, ctx,
		chromedp.Click(chromedp.CSS("#password-box summary")),
		chromedp.SendKeys(chromedp.CSS("#password-old_password"), "a brand new passphrase"),
		chromedp.SendKeys(chromedp.CSS("#password-new_password"), "changed in the user centre"),
		chromedp.Click(chromedp.CSS("#password-submit")),
		chromedp.WaitVisible(chromedp.CSS("#toast")),
		chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#user-profile")), // the new token works
	)
	shot(t, ctx, "password-changed")
	// The other browser's session ended with the change: its next page sends it to log in.
	must(t, other, chromedp.Navigate(s.url+"/user"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	shot(t, other, "other-browser-logged-out")
}

// TestLinkQQFromUserCentre: 绑定 QQ in the user centre goes through the emulator and comes
// back linked; 解除绑定 asks for the password and unlinks.
func TestLinkQQFromUserCentre(t *testing.T) {
	s := startSite(t)
	mobile := s.register(t, "关联用户", "correct horse battery")
	ctx := browser(t, false)
	must(t, ctx,
		logIn(s, mobile, "correct horse battery"),
		chromedp.WaitVisible(chromedp.CSS("#qq-link")),
		chromedp.Click(chromedp.CSS("#qq-link")),
		waitQQPage(), pickQQUser("10002"),
		chromedp.WaitVisible(chromedp.CSS("#qq-unlink")),
	)
	shot(t, ctx, "linked")
	if got := text(t, ctx, "#user-identities"); !strings.Contains(got, "小荏") {
		t.Errorf("linked accounts = %q", got)
	}
	must(t, ctx,
		chromedp.Click(chromedp.CSS("#qq-unlink")),
		chromedp.WaitVisible(chromedp.CSS("#unlink-form")),
		chromedp.SendKeys(chromedp.CSS("#unlink-password"), "wrong password"),
		chromedp.Click(chromedp.CSS("#unlink-submit")),
		chromedp.WaitVisible(chromedp.CSS("#unlink-form .form-error")),
		chromedp.SetValue(chromedp.CSS("#unlink-password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("#unlink-submit")),
		chromedp.WaitVisible(chromedp.CSS("#qq-link")),
	)
	shot(t, ctx, "unlinked")
}
