package e2e_test

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

//go:embed testdata/axe.min.js
var axeSource string

type axeNode struct {
	Target []string `json:"target"`
	HTML   string   `json:"html"`
}

type axeViolation struct {
	ID     string    `json:"id"`
	Impact string    `json:"impact"`
	Help   string    `json:"help"`
	Nodes  []axeNode `json:"nodes"`
}

// checkA11y runs axe-core on the page ctx shows and fails on serious or critical
// violations of WCAG 2.2 A and AA.
func checkA11y(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
		t.Fatalf("%s: inject axe-core: %v", page, err)
	}
	const run = `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}, resultTypes: ['violations']})
		.then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => ({target: n.target, html: n.html.slice(0, 160)}))})))`
	vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](run, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: axe.run: %v", page, err)
	}
	for _, v := range vs {
		if v.Impact != "serious" && v.Impact != "critical" {
			continue
		}
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprintf("%v %s", n.Target, n.HTML))
		}
		t.Errorf("%s: %s (%s): %s\n    %s", page, v.ID, v.Impact, v.Help, strings.Join(where, "\n    "))
	}
}

// TestAccessibility visits every page, at desktop and phone size, and checks each with
// axe-core: login (also with an error shown), register, the QQ emulator's page, the
// callback's bind tabs, the user centre, find-password, reset-password, confirm-email, the
// development page, and the captcha dialog.
func TestAccessibility(t *testing.T) {
	s := startCaptchaSite(t)
	mobile := s.register(t, "无障碍用户", "correct horse battery")
	for _, phone := range []bool{false, true} {
		name := "desktop"
		if phone {
			name = "phone"
		}
		t.Run(name, func(t *testing.T) {
			ctx := browser(t, phone)
			visit := func(path, ready string) {
				t.Helper()
				must(t, ctx, chromedp.Navigate(s.url+path), chromedp.WaitVisible(chromedp.CSS(ready)))
				checkA11y(t, ctx, path)
			}
			visit("/login", "#login-form")
			must(t, ctx, chromedp.SendKeys(chromedp.CSS("#login-account"), mobile),
				chromedp.SendKeys(chromedp.CSS("#login-password"), "wrong password"),
				chromedp.Click(chromedp.CSS("#login-submit")), chromedp.WaitVisible(chromedp.CSS("#login-form .form-error")),
				// the button fades back from its busy look: check it once it has
				chromedp.Poll[chromedp.Void](`getComputedStyle(document.querySelector('#login-submit')).opacity === '1'`))
			checkA11y(t, ctx, "/login with an error")
			visit("/register", "#register-form")
			must(t, ctx, chromedp.SendKeys(chromedp.CSS("#register-mobile"), newMobile()),
				chromedp.Click(chromedp.CSS("[data-send-code]")), chromedp.WaitVisible(chromedp.CSS(".tcaptcha-box")))
			checkA11y(t, ctx, "the captcha dialog")
			visit("/find-password", "#forgot-form")
			visit("/reset-password?token=x", "#reset-form")
			visit("/confirm-email", "#confirm-done")
			visit("/_dev/", "#outbox-rows")
			visit("/terms", ".prose")
			visit("/privacy", ".prose")
			visit("/nonexistent", ".card")
			visit("/login", "#login-form")
			must(t, ctx, toQQ())
			checkA11y(t, ctx, "the QQ emulator's authorize page")
			must(t, ctx, pickQQUser("10001"), chromedp.WaitVisible(chromedp.CSS("#cb-bind")))
			checkA11y(t, ctx, "the callback's bind tabs")
			must(t, ctx, logIn(s, mobile, "correct horse battery"))
			checkA11y(t, ctx, "/user")
			must(t, ctx, clickBelowLists("#logout-all"), chromedp.WaitVisible(chromedp.CSS("#logout-all-confirm")))
			checkA11y(t, ctx, "/user asking before log out everywhere")
			visit("/login", "#login-signed-in")
		})
	}
}
