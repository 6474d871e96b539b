package web_test

import (
	"fmt"
	"strconv"
	"testing"
)

// The captcha against the development emulator: the service's real Tencent client calls
// DescribeCaptchaResult over HTTP, signed, on this test server's /_dev/captcha/api/.

func captchaEnv(t *testing.T, vars ...string) *env {
	v := map[string]string{"RENRAN_CAPTCHA": "dev"}
	for i := 0; i+1 < len(vars); i += 2 {
		v[vars[i]] = vars[i+1]
	}
	return newEnv(t, func(o *envOptions) { o.vars, o.proxy = v, true })
}

// solve is a fresh ticket for the site's captcha app.
func (b *browser) solve() (string, string) {
	b.e.t.Helper()
	r := b.do("POST", "/_dev/captcha/solve", nil)
	if r.status != 200 || r.str("ticket") == "" {
		b.e.t.Fatalf("POST /_dev/captcha/solve = %d %s", r.status, r.raw)
	}
	return r.str("ticket"), r.str("randstr")
}

func with(m map[string]any, ticket, randstr string) map[string]any {
	out := map[string]any{"ticket": ticket, "randstr": randstr}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestCaptcha_EveryProtectedRequest: login (policy always), bind and SMS, each without a
// ticket, with a replayed one, with another app's, with a made-up one: 400 with the
// stable code, and nothing behind the captcha ran: no hash, no SMS, no counter.
func TestCaptcha_EveryProtectedRequest(t *testing.T) {
	e := captchaEnv(t, "RENRAN_CAPTCHA_LOGIN", "always")
	u := e.user("correct horse battery")
	b := e.browser()
	pending := b.qqLogin("/", "10001")
	used, usedRS := b.solve()
	wantStatus(t, "a login with a good ticket", b.do("POST", "/users/login/", with(map[string]any{"account": u.Username, "password": "correct horse battery"}, used, usedRS)), 200, "")
	foreign, foreignRS := e.tc.IssueFor(1999999999)
	requests := []struct {
		name, method, path string
		body               map[string]any
	}{
		{"login", "POST", "/users/login/", map[string]any{"account": u.Username, "password": "correct horse battery"}},
		{"bind", "PUT", "/oauth/qq/info/", map[string]any{"qq_user": pending.str("qq_user"), "account": u.Username, "password": "correct horse battery"}},
		{"sms", "POST", "/users/sms/", map[string]any{"mobile": newMobile(), "purpose": "register"}},
	}
	hashes := e.hasher.Computed()
	sent := len(e.box.List(""))
	for _, rq := range requests {
		wantStatus(t, rq.name+" without a ticket", b.do(rq.method, rq.path, rq.body), 400, "captcha_required")
		wantStatus(t, rq.name+" with a replayed ticket", b.do(rq.method, rq.path, with(rq.body, used, usedRS)), 400, "captcha_invalid")
		wantStatus(t, rq.name+" with another app's ticket", b.do(rq.method, rq.path, with(rq.body, foreign, foreignRS)), 400, "captcha_invalid")
		wantStatus(t, rq.name+" with a made-up ticket", b.do(rq.method, rq.path, with(rq.body, "t03made-up", "@abc")), 400, "captcha_invalid")
		wantStatus(t, rq.name+" with a disaster ticket while Tencent is up", b.do(rq.method, rq.path, with(rq.body, "terror_1001_1900000001_1764000000", "@abc")), 400, "captcha_invalid")
	}
	if n := e.hasher.Computed() - hashes; n != 0 {
		t.Errorf("%d password hashes computed for requests that failed the captcha; want 0", n)
	}
	if n := len(e.box.List("")) - sent; n != 0 {
		t.Errorf("%d SMS sent for requests that failed the captcha; want 0", n)
	}
	// Nothing was counted against the account either: the owner still logs in, and binds.
	tk, rs := b.solve()
	wantStatus(t, "the owner after 15 refused attempts", b.do("POST", "/users/login/", with(requests[0].body, tk, rs)), 200, "")
	tk, rs = b.solve()
	wantStatus(t, "the bind with a good ticket", b.do("PUT", "/oauth/qq/info/", with(requests[1].body, tk, rs)), 200, "")
	tk, rs = b.solve()
	wantStatus(t, "an SMS with a good ticket", b.do("POST", "/users/sms/", with(requests[2].body, tk, rs)), 200, "")
}

// TestCaptcha_AfterFailures: with the login default, three wrong passwords need no
// captcha; the fourth attempt does (for the account, and for the address), and a solved
// one lets the owner in.
func TestCaptcha_AfterFailures(t *testing.T) {
	e := captchaEnv(t)
	u := e.user("correct horse battery")
	b := e.browser()
	login := func(pw, ip string, extra ...string) response {
		body := map[string]any{"account": u.Username, "password": pw}
		if len(extra) == 2 {
			body["ticket"], body["randstr"] = extra[0], extra[1]
		}
		return b.do("POST", "/users/login/", body, "X-Forwarded-For", ip)
	}
	for i := range 3 {
		wantStatus(t, "wrong password "+strconv.Itoa(i+1), login("wrong "+strconv.Itoa(i), fmt.Sprintf("198.51.100.%d", i+1)), 401, "invalid_credentials")
	}
	hashes := e.hasher.Computed()
	wantStatus(t, "the 4th attempt, from a new address", login("correct horse battery", "198.51.100.9"), 400, "captcha_required")
	if e.hasher.Computed() != hashes {
		t.Error("a password was hashed for an attempt without the captcha it needed")
	}
	tk, rs := b.solve()
	wantStatus(t, "the 4th attempt with a solved captcha", login("correct horse battery", "198.51.100.9", tk, rs), 200, "")

	// Per address: three failures over other accounts, then this address needs one.
	for i := range 3 {
		b.do("POST", "/users/login/", map[string]any{"account": "nobody" + strconv.Itoa(i), "password": "wrong password"}, "X-Forwarded-For", "203.0.113.7")
	}
	wantStatus(t, "the 4th attempt from the address", login("correct horse battery", "203.0.113.7"), 400, "captcha_required")
}

// TestCaptcha_SMSBomb: SMS with solved captchas is still held by the caps: many mobiles
// from one address stop at the address's 20 an hour; one mobile from many addresses stops
// at its 60-second interval.
func TestCaptcha_SMSBomb(t *testing.T) {
	e := captchaEnv(t)
	b := e.browser()
	got := map[int]int{}
	for range 30 {
		tk, rs := b.solve()
		got[b.do("POST", "/users/sms/", map[string]any{"mobile": newMobile(), "purpose": "register", "ticket": tk, "randstr": rs}, "X-Forwarded-For", "192.0.2.77").status]++
	}
	if got[200] != 20 || got[429] != 10 {
		t.Errorf("30 mobiles from one address, each with a solved captcha: %v; want 20 sent, then 429", got)
	}
	mobile := newMobile()
	got = map[int]int{}
	for i := range 10 {
		tk, rs := b.solve()
		got[b.do("POST", "/users/sms/", map[string]any{"mobile": mobile, "purpose": "register", "ticket": tk, "randstr": rs}, "X-Forwarded-For", fmt.Sprintf("198.18.0.%d", i+1)).status]++
	}
	if got[200] != 1 || got[429] != 9 {
		t.Errorf("one mobile from 10 addresses: %v; want 1 sent, then 429", got)
	}
}
