package e2e_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/renran/accounts/internal/app/apptest"
)

// The captcha emulator in Chromium, on the embedded default (RENRAN_CAPTCHA=dev): the
// slider solved with a driven mouse at desktop size and with the keyboard at phone size,
// and the requests it protects going through; closing it leaves the form usable.

func startCaptchaSite(t *testing.T) *site {
	t.Helper()
	return &site{url: apptest.Start(t, nil).URL}
}

type rect struct{ X, Y, W, H float64 }

func box(t *testing.T, ctx context.Context, sel string) rect {
	t.Helper()
	return eval[rect](t, ctx, `(() => { const r = document.querySelector(`+"`"+sel+"`"+`).getBoundingClientRect(); return {X: r.x, Y: r.y, W: r.width, H: r.height}; })()`)
}

// gapOffset is how far the piece must travel: the gap's left edge in the picture.
func gapOffset(t *testing.T, ctx context.Context) float64 {
	t.Helper()
	must(t, ctx, chromedp.Poll[chromedp.Void](`document.querySelector('.tcaptcha-gap') && document.querySelector('.tcaptcha-gap').style.left !== ''`))
	return eval[float64](t, ctx, `parseFloat(document.querySelector('.tcaptcha-gap').style.left)`)
}

func dragSlider(t *testing.T, ctx context.Context) {
	t.Helper()
	target := gapOffset(t, ctx)
	h := box(t, ctx, ".tcaptcha-handle")
	x0, y := h.X+h.W/2, h.Y+h.H/2
	steps := []chromedp.Action[chromedp.Void]{chromedp.MouseEvent(chromedp.MousePressed, x0, y, chromedp.ButtonLeft, chromedp.ClickCount(1))}
	for i := 1; i <= 10; i++ {
		steps = append(steps, chromedp.MouseEvent(chromedp.MouseMoved, x0+target*float64(i)/10, y, chromedp.ButtonLeft))
	}
	steps = append(steps, chromedp.MouseEvent(chromedp.MouseReleased, x0+target, y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	must(t, ctx, steps...)
}

func keySlider(t *testing.T, ctx context.Context) {
	t.Helper()
	target := int(gapOffset(t, ctx))
	keys := strings.Repeat(kbRight, target/4)
	must(t, ctx, chromedp.Focus(chromedp.CSS(".tcaptcha-handle")), chromedp.KeyEvent(keys))
	for range target % 4 {
		must(t, ctx, chromedp.KeyEvent(kbRight, chromedp.KeyModifiers(chromedp.ModifierShift)))
	}
	if now := eval[string](t, ctx, `document.querySelector('.tcaptcha-handle').getAttribute('aria-valuenow')`); now != strconv.Itoa(target) {
		t.Fatalf("the slider is at %s after the arrow keys, want %d", now, target)
	}
	must(t, ctx, chromedp.KeyEvent("\r"))
}

const kbRight = kb.ArrowRight

func TestCaptchaMouseDesktop(t *testing.T) {
	s := startCaptchaSite(t)
	ctx := browser(t, false)
	mobile := newMobile()
	must(t, ctx, chromedp.Navigate(s.url+"/register"), chromedp.WaitVisible(chromedp.CSS("#register-form")))
	must(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#register-nickname"), "滑块用户"),
		chromedp.SendKeys(chromedp.CSS("#register-mobile"), mobile),
		chromedp.Click(chromedp.CSS("[data-send-code]")),
		chromedp.WaitVisible(chromedp.CSS(".tcaptcha-box")),
	)
	shot(t, ctx, "captcha-shown")
	dragSlider(t, ctx)
	must(t, ctx, chromedp.WaitNotPresent(chromedp.CSS(".tcaptcha-mask")),
		chromedp.Poll[chromedp.Void](`document.querySelector('[data-send-code]').textContent.includes('秒后重发')`))
	shot(t, ctx, "code-sent")
	code := s.smsCode(t, mobile)
	must(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#register-sms_code"), code),
		chromedp.SendKeys(chromedp.CSS("#register-password"), "a long passphrase 滑块"),
		chromedp.Click(chromedp.CSS("#register-submit")),
		chromedp.WaitVisible(chromedp.CSS("#user-profile")),
	)
	if got := text(t, ctx, "#user-nickname"); got != "滑块用户" {
		t.Errorf("user centre nickname = %q", got)
	}

	// Closed (ret 2): a message, the button usable again, nothing sent.
	must(t, ctx, chromedp.Navigate(s.url+"/register"), chromedp.WaitVisible(chromedp.CSS("#register-form")))
	other := newMobile()
	must(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#register-mobile"), other),
		chromedp.Click(chromedp.CSS("[data-send-code]")),
		chromedp.WaitVisible(chromedp.CSS(".tcaptcha-box")),
		chromedp.Click(chromedp.CSS(".tcaptcha-close")),
		chromedp.WaitNotPresent(chromedp.CSS(".tcaptcha-mask")),
		chromedp.WaitVisible(chromedp.CSS("#register-form .form-error")),
	)
	shot(t, ctx, "captcha-closed")
	if got := text(t, ctx, "#register-form .form-error"); !strings.Contains(got, "安全验证") {
		t.Errorf("after closing the captcha the form says %q", got)
	}
	if eval[bool](t, ctx, `document.querySelector('[data-send-code]').disabled`) {
		t.Error("the send button stays disabled after the captcha was closed")
	}
}

func TestCaptchaKeyboardPhone(t *testing.T) {
	s := startCaptchaSite(t)
	mobile := s.register(t, "键盘用户", "correct horse battery")
	ctx := browser(t, true)
	must(t, ctx, chromedp.Navigate(s.url+"/login?next=/user"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	must(t, ctx, chromedp.SendKeys(chromedp.CSS("#login-account"), mobile))
	// Three wrong passwords pass without a captcha (after-failures); the fourth asks.
	for range 3 {
		must(t, ctx,
			chromedp.SetValue(chromedp.CSS("#login-password"), "wrong password"),
			chromedp.Click(chromedp.CSS("#login-submit")),
			chromedp.WaitVisible(chromedp.CSS("#login-form .form-error")),
			chromedp.Poll[chromedp.Void](`!document.querySelector('#login-submit').disabled`),
		)
	}
	must(t, ctx,
		chromedp.SetValue(chromedp.CSS("#login-password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS(".tcaptcha-box")),
	)
	shot(t, ctx, "captcha-after-failures")
	keySlider(t, ctx)
	must(t, ctx, chromedp.WaitVisible(chromedp.CSS("#user-profile")))
	shot(t, ctx, "logged-in")
}

// TestCaptchaBindPhone: binding a first-time QQ user to an existing account asks for the
// captcha every time (the default), at phone size, solved with the keyboard; a wrong
// password after a solved captcha asks again.
func TestCaptchaBindPhone(t *testing.T) {
	s := startCaptchaSite(t)
	mobile := s.register(t, "绑定用户", "correct horse battery")
	ctx := browser(t, true)
	must(t, ctx, chromedp.Navigate(s.url+"/login?next=/user"), toQQ(), pickQQUser("10002"), chromedp.WaitVisible(chromedp.CSS("#cb-bind")))
	must(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#bind-account"), mobile),
		chromedp.SendKeys(chromedp.CSS("#bind-password"), "not it"),
		chromedp.Click(chromedp.CSS("#bind-submit")),
		chromedp.WaitVisible(chromedp.CSS(".tcaptcha-box")),
	)
	shot(t, ctx, "bind-captcha")
	keySlider(t, ctx)
	must(t, ctx, chromedp.WaitVisible(chromedp.CSS("#bind-form .form-error")))
	if got := text(t, ctx, "#bind-form .form-error"); got != "账号或密码错误" {
		t.Errorf("after a solved captcha and a wrong password: %q", got)
	}
	must(t, ctx,
		chromedp.SetValue(chromedp.CSS("#bind-password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("#bind-submit")),
		chromedp.WaitVisible(chromedp.CSS(".tcaptcha-box")),
	)
	keySlider(t, ctx)
	must(t, ctx, chromedp.WaitVisible(chromedp.CSS("#user-profile")))
	shot(t, ctx, "bound")
	if got := text(t, ctx, "#user-identities"); !strings.Contains(got, "小荏") {
		t.Errorf("linked accounts = %q, want the QQ nickname", got)
	}
}
