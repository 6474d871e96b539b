package web_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/renran/accounts/internal/account"
)

// mailTo waits until n mails to addr whose link starts with the site's page (e.g.
// "/reset-password") are in the development outbox (mails go out from a background queue)
// and returns the newest one's link. Callers wait for each mail before asking for the next,
// so that newest in the outbox is newest issued.
func (e *env) mailTo(t testing.TB, addr, page string, n int) string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var links []string
		for _, m := range e.box.List(addr) {
			if m.Kind == "mail" && strings.HasPrefix(m.Link, e.url+page+"?") {
				links = append(links, m.Link)
			}
		}
		if len(links) >= n {
			return links[0]
		}
	}
	t.Fatalf("no mail number %d to %s with a %s link", n, addr, page)
	return ""
}

func tokenOf(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("link %q has no token", link)
	}
	return u.Query().Get("token")
}

func (b *browser) loginAs(u account.User, pw string) *browser {
	b.e.t.Helper()
	r := b.do("POST", "/users/login/", map[string]any{"account": u.Username, "password": pw})
	if r.status != 200 {
		b.e.t.Fatalf("login = %d %s", r.status, r.raw)
	}
	return b.auth(r.str("token"))
}

// withEmail gives u a confirmed address through the API.
func (e *env) withEmail(t testing.TB, u account.User, pw, addr string) {
	t.Helper()
	b := e.browser().loginAs(u, pw)
	wantStatus(t, "PUT /users/email/", b.do("PUT", "/users/email/", map[string]any{"email": addr, "password": pw}), 202, "")
	link := e.mailTo(t, addr, "/confirm-email", 1)
	wantStatus(t, "confirm", e.browser().do("POST", "/users/email/confirm/", map[string]any{"token": tokenOf(t, link)}), 204, "")
}

func TestEmail_AddAndConfirm(t *testing.T) {
	e := newEnv(t)
	u := e.user("correct horse battery")
	b := e.browser().loginAs(u, "correct horse battery")
	wantStatus(t, "wrong password", b.do("PUT", "/users/email/", map[string]any{"email": "lin@example.com", "password": "nope nope"}), 401, "invalid_credentials")
	wantStatus(t, "not an address", b.do("PUT", "/users/email/", map[string]any{"email": "lin@", "password": "correct horse battery"}), 400, "email_invalid")
	wantStatus(t, "no JWT", e.browser().do("PUT", "/users/email/", map[string]any{"email": "lin@example.com", "password": "correct horse battery"}), 401, "not_authenticated")
	wantStatus(t, "request", b.do("PUT", "/users/email/", map[string]any{"email": "Lin@Example.com", "password": "correct horse battery"}), 202, "")
	link := e.mailTo(t, "lin@example.com", "/confirm-email", 1)
	if !strings.HasPrefix(link, e.url+"/confirm-email?token=") {
		t.Errorf("confirmation link %q is not on the public URL", link)
	}
	wantStatus(t, "login by an unconfirmed address", e.browser().do("POST", "/users/login/", map[string]any{"account": "lin@example.com", "password": "correct horse battery"}), 401, "invalid_credentials")
	tok := tokenOf(t, link)
	wantStatus(t, "confirm", e.browser().do("POST", "/users/email/confirm/", map[string]any{"token": tok}), 204, "")
	wantStatus(t, "confirm replayed", e.browser().do("POST", "/users/email/confirm/", map[string]any{"token": tok}), 410, "email_token_invalid")
	wantStatus(t, "login by the confirmed address", e.browser().do("POST", "/users/login/", map[string]any{"account": "LIN@example.com", "password": "correct horse battery"}), 200, "")

	// Another account asking for the same address gets its mail, but confirming is 409.
	v := e.user("correct horse battery")
	bv := e.browser().loginAs(v, "correct horse battery")
	wantStatus(t, "another account asks", bv.do("PUT", "/users/email/", map[string]any{"email": "lin@example.com", "password": "correct horse battery"}), 202, "")
	link2 := e.mailTo(t, "lin@example.com", "/confirm-email", 2)
	wantStatus(t, "another account confirms", e.browser().do("POST", "/users/email/confirm/", map[string]any{"token": tokenOf(t, link2)}), 409, "email_taken")
}

// TestRecovery_Flow: forgot → mail → reset → the old JWT is dead, the new password works,
// the token is single use; and the same answer for every address.
func TestRecovery_Flow(t *testing.T) {
	e := newEnv(t)
	u := e.user("correct horse battery")
	e.withEmail(t, u, "correct horse battery", "owner@example.com")
	old := e.browser().loginAs(u, "correct horse battery")

	// Unknown, unconfirmed (a pending change) and known addresses: one answer.
	pending := e.user("correct horse battery")
	e.browser().loginAs(pending, "correct horse battery").do("PUT", "/users/email/", map[string]any{"email": "pending@example.com", "password": "correct horse battery"})
	var bodies []string
	var took []time.Duration
	for _, addr := range []string{"nobody@example.com", "pending@example.com", "owner@example.com"} {
		var total time.Duration
		for i := range 3 { // the per-e-mail limit is 3 an hour
			t0 := time.Now()
			r := e.browser().do("POST", "/users/password/forgot/", map[string]any{"email": addr})
			total += time.Since(t0)
			if r.status != 202 {
				t.Fatalf("forgot %s = %d %s", addr, r.status, r.raw)
			}
			bodies = append(bodies, r.raw)
			if addr == "owner@example.com" {
				e.mailTo(t, addr, "/reset-password", i+1)
			}
		}
		took = append(took, total/3)
	}
	t.Logf("forgot, mean of 3: unknown %v, unconfirmed %v, known %v", took[0], took[1], took[2])
	for _, b := range bodies {
		if b != bodies[0] {
			t.Errorf("forgot answers differ: %q vs %q", b, bodies[0])
		}
	}
	wantStatus(t, "a 4th request for the address", e.browser().do("POST", "/users/password/forgot/", map[string]any{"email": "owner@example.com"}), 429, "rate_limited")
	for _, m := range e.box.List("pending@example.com") {
		if strings.Contains(m.Link, "reset-password") {
			t.Error("a reset link went to an unconfirmed address")
		}
	}
	link := e.mailTo(t, "owner@example.com", "/reset-password", 3)
	if !strings.HasPrefix(link, e.url+"/reset-password?token=") {
		t.Fatalf("reset link %q", link)
	}
	tok := tokenOf(t, link)
	wantStatus(t, "a weak new password keeps the token", e.browser().do("POST", "/users/password/reset/", map[string]any{"token": tok, "password": "12345678"}), 400, "password_too_common")
	wantStatus(t, "reset", e.browser().do("POST", "/users/password/reset/", map[string]any{"token": tok, "password": "a brand new passphrase"}), 204, "")
	wantStatus(t, "reset replayed", e.browser().do("POST", "/users/password/reset/", map[string]any{"token": tok, "password": "another new passphrase"}), 410, "reset_token_invalid")
	wantStatus(t, "a JWT from before the reset", old.do("GET", "/users/me/", nil), 401, "not_authenticated")
	wantStatus(t, "the old password", e.browser().do("POST", "/users/login/", map[string]any{"account": u.Username, "password": "correct horse battery"}), 401, "invalid_credentials")
	wantStatus(t, "the new password", e.browser().do("POST", "/users/login/", map[string]any{"account": "owner@example.com", "password": "a brand new passphrase"}), 200, "")
	wantStatus(t, "a made-up token", e.browser().do("POST", "/users/password/reset/", map[string]any{"token": "made-up", "password": "a brand new passphrase"}), 410, "reset_token_invalid")
}

// TestRecovery_TokenDeaths: a token is dead once a newer one is issued, once the password
// changed by another path, and after 30 minutes.
func TestRecovery_TokenDeaths(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, func(o *envOptions) { o.now = clock.now })
	u := e.user("correct horse battery")
	e.withEmail(t, u, "correct horse battery", "d@example.com")
	forgot := func(n int) string {
		e.browser().do("POST", "/users/password/forgot/", map[string]any{"email": "d@example.com"})
		return tokenOf(t, e.mailTo(t, "d@example.com", "/reset-password", n))
	}
	first := forgot(1)
	second := forgot(2)
	wantStatus(t, "the superseded token", e.browser().do("POST", "/users/password/reset/", map[string]any{"token": first, "password": "a brand new passphrase"}), 410, "reset_token_invalid")
	// The password changes by the user centre: the newest token dies too.
	b := e.browser().loginAs(u, "correct horse battery")
	r := b.do("PUT", "/users/password/", map[string]any{"old_password": "correct horse battery", "new_password": "changed in the centre"})
	wantStatus(t, "change password", r, 200, "")
	wantStatus(t, "a token from before a password change", e.browser().do("POST", "/users/password/reset/", map[string]any{"token": second, "password": "a brand new passphrase"}), 410, "reset_token_invalid")
	third := forgot(3)
	clock.add(31 * time.Minute)
	wantStatus(t, "an expired token", e.browser().do("POST", "/users/password/reset/", map[string]any{"token": third, "password": "a brand new passphrase"}), 410, "reset_token_invalid")
}

// TestRecovery_PoisonedHost: the link is built from RENRAN_PUBLIC_URL, never from Host or
// X-Forwarded-Host.
func TestRecovery_PoisonedHost(t *testing.T) {
	e := newEnv(t, func(o *envOptions) { o.proxy = true })
	u := e.user("correct horse battery")
	e.withEmail(t, u, "correct horse battery", "p@example.com")
	e.browser().do("POST", "/users/password/forgot/", map[string]any{"email": "p@example.com"},
		"Host", "evil.example", "X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "https")
	link := e.mailTo(t, "p@example.com", "/reset-password", 1)
	if !strings.HasPrefix(link, e.url+"/reset-password?token=") || strings.Contains(link, "evil") {
		t.Errorf("reset link = %q, want it on %s", link, e.url)
	}
}

// TestChangePassword: the old password is checked (and counted); every other token dies;
// the answer carries a new one.
func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	u := e.user("correct horse battery")
	a := e.browser().loginAs(u, "correct horse battery")
	other := e.browser().loginAs(u, "correct horse battery")
	wantStatus(t, "wrong old password", a.do("PUT", "/users/password/", map[string]any{"old_password": "not it", "new_password": "a brand new passphrase"}), 401, "invalid_credentials")
	wantStatus(t, "a common new password", a.do("PUT", "/users/password/", map[string]any{"old_password": "correct horse battery", "new_password": "password123"}), 400, "password_too_common")
	r := a.do("PUT", "/users/password/", map[string]any{"old_password": "correct horse battery", "new_password": "a brand new passphrase"})
	wantStatus(t, "change", r, 200, "")
	wantStatus(t, "the other browser", other.do("GET", "/users/me/", nil), 401, "not_authenticated")
	wantStatus(t, "this browser's old token", a.do("GET", "/users/me/", nil), 401, "not_authenticated")
	wantStatus(t, "the new token", e.browser().auth(r.str("token")).do("GET", "/users/me/", nil), 200, "")
	// Wrong old passwords count against the account like failed logins.
	for range 12 {
		e.browser().auth(r.str("token")).do("PUT", "/users/password/", map[string]any{"old_password": "guess", "new_password": "another passphrase"})
	}
	wantStatus(t, "a login after 12 wrong old passwords", e.browser().do("POST", "/users/login/", map[string]any{"account": u.Username, "password": "a brand new passphrase"}), 429, "too_many_attempts")
}

// TestEvents: the user centre's history, newest first, with the device, only the user's own.
func TestEvents(t *testing.T) {
	e := newEnv(t)
	u := e.user("correct horse battery")
	b := e.browser().loginAs(u, "correct horse battery")
	r := b.do("PUT", "/users/password/", map[string]any{"old_password": "correct horse battery", "new_password": "a brand new passphrase"},
		"User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
	nb := e.browser().auth(r.str("token"))
	var evs []any
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		res := nb.do("GET", "/users/me/events/", nil)
		evs, _ = res.body["events"].([]any)
		if len(evs) >= 2 { // the change, and the login (batched by the journal)
			break
		}
	}
	if len(evs) < 2 {
		t.Fatalf("events = %v", evs)
	}
	first := evs[0].(map[string]any)
	if first["kind"] != "password_change" || first["title"] != "修改密码" || first["device"] != "Safari · iPhone" {
		t.Errorf("newest event = %v", first)
	}
	wantStatus(t, "events without a JWT", e.browser().do("GET", "/users/me/events/", nil), 401, "not_authenticated")
	other := e.browser().loginAs(e.user("correct horse battery"), "correct horse battery")
	if res := other.do("GET", "/users/me/events/", nil); strings.Contains(res.raw, "password_change") {
		t.Error("another user sees this user's events")
	}
}

// BenchmarkForgot measures forgot's answer for an unknown and a known address (limits
// off, so that one address can be asked b.N times), each request after the previous one's
// background work (the timer is stopped for 2 ms between them):
//
//	go test -run '^$' -bench Forgot -benchtime 2000x ./internal/web
func BenchmarkForgot(b *testing.B) {
	e := newEnv(b, func(o *envOptions) { o.noLimits = true })
	u := e.user("correct horse battery")
	e.withEmail(b, u, "correct horse battery", "timing@example.com")
	for _, addr := range []string{"nobody@example.com", "timing@example.com"} {
		name := "unknown"
		if addr == "timing@example.com" {
			name = "known"
		}
		b.Run(name, func(b *testing.B) {
			br := e.browser()
			for b.Loop() {
				if r := br.do("POST", "/users/password/forgot/", map[string]any{"email": addr}); r.status != 202 {
					b.Fatalf("forgot = %d %s", r.status, r.raw)
				}
				b.StopTimer()
				time.Sleep(2 * time.Millisecond)
				b.StartTimer()
			}
		})
	}
}
