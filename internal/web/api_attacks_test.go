package web_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/renran/accounts/internal/secret"
	"github.com/renran/accounts/qqemu"
)

// TestQQInfo_State covers docs/security.md S-01 to S-04 and S-06: a bad state is refused
// with 400 before any call to QQ.
func TestQQInfo_State(t *testing.T) {
	e := newEnv(t)
	victim := e.browser()
	attacker := e.browser()
	tests := []struct {
		name string
		run  func() response
	}{
		{"missing state", func() response {
			q := victim.qqStart("/", "10001")
			return victim.do("GET", "/oauth/qq/info/?code="+q.Get("code"), nil)
		}},
		{"empty state", func() response {
			q := victim.qqStart("/", "10001")
			return victim.do("GET", "/oauth/qq/info/?code="+q.Get("code")+"&state=", nil)
		}},
		{"tutorial-style state", func() response {
			q := victim.qqStart("/", "10001")
			return victim.do("GET", "/oauth/qq/info/?code="+q.Get("code")+"&state=/", nil)
		}},
		{"forged state", func() response {
			q := victim.qqStart("/", "10001")
			q.Set("state", strings.Repeat("A", len(q.Get("state"))))
			return victim.qqCallback(q)
		}},
		{"state from another browser (login CSRF)", func() response {
			q := attacker.qqStart("/", "10003") // the attacker stops before the callback…
			return victim.qqCallback(q)         // …and makes the victim open it
		}},
		{"replayed state", func() response {
			q := victim.qqStart("/", "10001")
			victim.qqCallback(q)
			return victim.qqCallback(q)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.run()
			wantStatus(t, tt.name, r, 400, "oauth_state_invalid")
			if r.header.Get("Set-Cookie") != "" && strings.Contains(r.header.Get("Set-Cookie"), "qq_pending") {
				t.Errorf("a bad state set a pending cookie: %s", r.header.Get("Set-Cookie"))
			}
		})
	}
	// Only the one good callback ("replayed state", first use) reached QQ's token endpoint.
	if got := e.emu.Calls("token"); got != 1 {
		t.Errorf("token calls = %d, want 1: bad states must not reach QQ", got)
	}
}

// TestExpiry covers S-04, P-02 and M-05 with a fake clock: a state, a pending identity and
// an SMS code are dead once their time is up.
func TestExpiry(t *testing.T) {
	clk := &fakeClock{t: time.Now()}
	e := newEnv(t, func(o *envOptions) { o.now = clk.now })
	b := e.browser()

	q := b.qqStart("/", "10001")
	clk.add(10*time.Minute + time.Second)
	wantStatus(t, "callback after 10 minutes", b.qqCallback(q), 400, "oauth_state_invalid")

	p := b.qqLogin("/", "10001")
	u := e.user("correct horse battery")
	clk.add(10*time.Minute + time.Second)
	wantStatus(t, "bind after 10 minutes", b.do("PUT", "/oauth/qq/info/", map[string]any{"qq_user": p.str("qq_user"), "account": u.Username, "password": "correct horse battery"}), 410, "qq_user_expired")

	mobile := newMobile()
	code := b.smsCode(mobile)
	clk.add(5*time.Minute + time.Second)
	wantStatus(t, "register with a 5-minute-old code", b.do("POST", "/users/", map[string]any{"nickname": "迟到者", "mobile": mobile, "sms_code": code, "password": "a long passphrase"}), 400, "sms_code_invalid")
}

// TestQQURL_UnsafeNext covers: next is a local path or "/", and travels
// with the state on the server, never in it.
func TestQQURL_UnsafeNext(t *testing.T) {
	e := newEnv(t)
	for _, next := range []string{"//evil.example", `/\evil.example`, "https://evil.example", "/%2F%2Fevil.example", "///evil.example", "/%09/evil.example"} {
		b := e.browser()
		r := b.do("GET", "/oauth/qq/url/?next="+url.QueryEscape(next), nil)
		u, _ := url.Parse(r.str("url"))
		if st := u.Query().Get("state"); strings.Contains(st, "evil") || len(st) < 43 {
			t.Errorf("state %q for next=%q: want an opaque 256-bit nonce", st, next)
		}
		p := b.qqLogin(next, "10001")
		if p.str("next") != "/" {
			t.Errorf("next=%q came back as %q, want /", next, p.str("next"))
		}
	}
	// The seed's client sends the path as ?state=; it is taken as next, not as the state.
	b := e.browser()
	r := b.do("GET", "/oauth/qq/url/?state=/article/9", nil)
	u, _ := url.Parse(r.str("url"))
	if u.Query().Get("state") == "/article/9" {
		t.Fatal("the seed's ?state= alias became the OAuth state")
	}
}

// TestQQInfo_CodeUsedTwice covers C-01 and X-04: a callback submitted twice creates one
// pending identity; a used code under a fresh state is QQ's 100020, mapped to 502.
func TestQQInfo_CodeUsedTwice(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	q := b.qqStart("/", "10001")
	wantStatus(t, "first callback", b.qqCallback(q), 200, "")
	wantStatus(t, "same callback again", b.qqCallback(q), 400, "oauth_state_invalid")
	q2 := b.qqStart("/", "10001")
	q2.Set("code", q.Get("code"))
	wantStatus(t, "used code with a fresh state", b.qqCallback(q2), 502, "qq_code_invalid")
}

// TestQQInfo_QQFailures covers C-04: QQ errors, JSONP errors, bad bodies and timeouts end
// in 502/504 with nothing created.
func TestQQInfo_QQFailures(t *testing.T) {
	e := newEnv(t, func(o *envOptions) { o.qqTimeout = 300 * time.Millisecond })
	tests := []struct {
		name   string
		fault  qqemu.Fault
		status int
		code   string
	}{
		{"100019", qqemu.Fault{Endpoint: "token", Kind: "error", Code: 100019}, 502, "qq_code_invalid"},
		{"JSONP error with a trailing comma", qqemu.Fault{Endpoint: "token", Kind: "trailing_comma"}, 502, "qq_unavailable"},
		{"truncated JSONP", qqemu.Fault{Endpoint: "token", Kind: "malformed"}, 502, "qq_unavailable"},
		{"HTTP 500", qqemu.Fault{Endpoint: "token", Kind: "http500"}, 502, "qq_unavailable"},
		{"app key refused", qqemu.Fault{Endpoint: "token", Kind: "error", Code: 100009}, 502, "qq_config_error"},
		{"timeout", qqemu.Fault{Endpoint: "token", Kind: "timeout"}, 504, "qq_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser()
			q := b.qqStart("/", "10001")
			e.emu.InjectFault(qqemu.Fault{Endpoint: tt.fault.Endpoint, Kind: tt.fault.Kind, Code: tt.fault.Code, Times: 1})
			r := b.qqCallback(q)
			wantStatus(t, "callback", r, tt.status, tt.code)
			if strings.Contains(r.raw, testAppKey) || strings.Contains(r.raw, "graph") || strings.Contains(r.raw, "100") {
				t.Errorf("error body leaks internals: %s", r.raw)
			}
			if b.cookie("qq_pending") != nil {
				t.Error("a failed callback left a pending cookie")
			}
			if u, i := e.counts(); u != 0 || i != 0 {
				t.Errorf("after a failed callback: %d users, %d identities", u, i)
			}
		})
	}
	// get_user_info failing does not stop a first-time login: the profile only prefills.
	e.emu.InjectFault(qqemu.Fault{Endpoint: "user_info", Kind: "error", Code: 13002, Times: 1})
	p := e.browser().qqLogin("/", "10002")
	if p.status != 200 || p.str("qq_user") == "" || p.str("nickname") != "" {
		t.Errorf("first-time callback with get_user_info failing = %d %s", p.status, p.raw)
	}
}

// TestQQBind_PendingReplay covers P-01/P-02: a handle binds once; a replay gets 410.
func TestQQBind_PendingReplay(t *testing.T) {
	e := newEnv(t)
	a, c := e.user("correct horse battery"), e.user("correct horse battery")
	b := e.browser()
	p := b.qqLogin("/", "10001")
	pend := b.cookie("qq_pending").Value
	send := func(account string) response {
		return b.do("PUT", "/oauth/qq/info/", map[string]any{"qq_user": p.str("qq_user"), "account": account, "password": "correct horse battery"},
			"Cookie", "qq_pending="+pend)
	}
	wantStatus(t, "bind to A", send(a.Username), 200, "")
	wantStatus(t, "replay to C", send(c.Username), 410, "qq_user_expired")
	if _, ids := e.counts(); ids != 1 {
		t.Errorf("identities = %d, want exactly 1", ids)
	}
	// A registration with the used handle fails the same way and creates nothing.
	r := b.do("POST", "/oauth/qq/info/", map[string]any{"qq_user": p.str("qq_user"), "nickname": "第三个", "mobile": newMobile(), "sms_code": "000000", "password": "a long passphrase"},
		"Cookie", "qq_pending="+pend)
	wantStatus(t, "register with a used handle", r, 410, "qq_user_expired")
}

// TestQQBind_PendingFromAnotherBrowser covers P-06: the handle alone is useless.
func TestQQBind_PendingFromAnotherBrowser(t *testing.T) {
	e := newEnv(t)
	victim := e.user("correct horse battery")
	attacker := e.browser()
	p := attacker.qqLogin("/", "10003")
	r := e.browser().do("PUT", "/oauth/qq/info/", map[string]any{"qq_user": p.str("qq_user"), "account": victim.Username, "password": "correct horse battery"})
	wantStatus(t, "bind from another browser", r, 410, "qq_user_expired")
	r = e.browser().do("PUT", "/oauth/qq/info/", map[string]any{"qq_user": p.str("qq_user"), "account": victim.Username, "password": "correct horse battery"},
		"Cookie", "qq_pending=forged")
	wantStatus(t, "bind with a forged browser cookie", r, 410, "qq_user_expired")
	if _, ids := e.counts(); ids != 0 {
		t.Errorf("identities = %d, want 0", ids)
	}
	// The real browser can still use it.
	wantStatus(t, "bind from the right browser", attacker.do("PUT", "/oauth/qq/info/", map[string]any{"qq_user": p.str("qq_user"), "account": victim.Username, "password": "correct horse battery"}), 200, "")
}

// TestQQBind_WrongPasswordKeepsHandle covers B-01: unknown account, wrong password and
// disabled account answer alike; the person can retry; five failures drop the handle.
func TestQQBind_WrongPasswordKeepsHandle(t *testing.T) {
	e := newEnv(t, func(o *envOptions) { o.noLimits = true })
	u := e.user("correct horse battery")
	b := e.browser()
	p := b.qqLogin("/", "10001")
	try := func(account, pw string) response {
		return b.do("PUT", "/oauth/qq/info/", map[string]any{"qq_user": p.str("qq_user"), "account": account, "password": pw})
	}
	unknown := try("nobody", "correct horse battery")
	wrong := try(u.Username, "wrong password")
	if unknown.status != 401 || unknown.raw != wrong.raw {
		t.Fatalf("unknown account %d %s vs wrong password %d %s: want the same 401", unknown.status, unknown.raw, wrong.status, wrong.raw)
	}
	wantStatus(t, "bind after two failures", try(u.Username, "correct horse battery"), 200, "")

	p2 := b.qqLogin("/", "10002")
	for i := 0; i < 5; i++ {
		b.do("PUT", "/oauth/qq/info/", map[string]any{"qq_user": p2.str("qq_user"), "account": u.Username, "password": "nope"})
	}
	r := b.do("PUT", "/oauth/qq/info/", map[string]any{"qq_user": p2.str("qq_user"), "account": u.Username, "password": "correct horse battery"})
	wantStatus(t, "bind after five failures", r, 410, "qq_user_expired")
}

// TestQQBind_AlreadyBound covers B-04: 409 both ways, nothing overwritten.
func TestQQBind_AlreadyBound(t *testing.T) {
	e := newEnv(t)
	x, y := e.user("correct horse battery"), e.user("correct horse battery")
	b := e.browser()
	p := b.qqLogin("/", "10001")
	wantStatus(t, "bind QQ 10001 to X", b.do("PUT", "/oauth/qq/info/", map[string]any{"qq_user": p.str("qq_user"), "account": x.Username, "password": "correct horse battery"}), 200, "")
	p2 := b.qqLogin("/", "10002")
	r := b.do("PUT", "/oauth/qq/info/", map[string]any{"qq_user": p2.str("qq_user"), "account": x.Username, "password": "correct horse battery"})
	wantStatus(t, "bind a second QQ to X", r, 409, "account_has_qq")
	// The handle survives that 409: the person may bind another account instead.
	wantStatus(t, "bind QQ 10002 to Y", b.do("PUT", "/oauth/qq/info/", map[string]any{"qq_user": p2.str("qq_user"), "account": y.Username, "password": "correct horse battery"}), 200, "")
	if _, ids := e.counts(); ids != 2 {
		t.Errorf("identities = %d, want 2", ids)
	}
}

// TestQQBind_ConcurrentDoubleBind covers X-01: two browsers hold pending identities for
// the same openid and bind them to two accounts at once; exactly one succeeds.
func TestQQBind_ConcurrentDoubleBind(t *testing.T) {
	e := newEnv(t, func(o *envOptions) { o.proxy = true }) // six browsers, six addresses
	const n = 6
	type attempt struct {
		b       *browser
		handle  string
		account string
	}
	var attempts []attempt
	for i := 0; i < n; i++ {
		b := e.browser()
		p := b.qqLogin("/", "10001")
		attempts = append(attempts, attempt{b: b, handle: p.str("qq_user"), account: e.user("correct horse battery").Username})
	}
	statuses := map[int]int{}
	for _, r := range concurrently(n, func(i int) response {
		a := attempts[i]
		return a.b.do("PUT", "/oauth/qq/info/", map[string]any{"qq_user": a.handle, "account": a.account, "password": "correct horse battery"},
			"X-Forwarded-For", "192.0.2."+strconv.Itoa(i+1))
	}) {
		statuses[r.status]++
		if r.status != 200 && r.str("error") != "qq_already_bound" {
			t.Errorf("losing bind = %d %s, want 409 qq_already_bound", r.status, r.raw)
		}
	}
	if statuses[200] != 1 || statuses[409] != n-1 {
		t.Errorf("statuses = %v, want one 200 and %d 409", statuses, n-1)
	}
	if _, ids := e.counts(); ids != 1 {
		t.Errorf("identities = %d, want 1", ids)
	}
}

// TestQQBind_ConcurrentSameHandle covers X-03: one handle fired twice at once binds once.
func TestQQBind_ConcurrentSameHandle(t *testing.T) {
	e := newEnv(t)
	a, c := e.user("correct horse battery"), e.user("correct horse battery")
	b := e.browser()
	p := b.qqLogin("/", "10001")
	accounts := []string{a.Username, c.Username}
	results := concurrently(2, func(i int) response {
		return b.do("PUT", "/oauth/qq/info/", map[string]any{"qq_user": p.str("qq_user"), "account": accounts[i], "password": "correct horse battery"})
	})
	ok := 0
	for _, r := range results {
		if r.status == 200 {
			ok++
		} else if r.status != 410 {
			t.Errorf("losing request = %d %s, want 410", r.status, r.raw)
		}
	}
	if _, ids := e.counts(); ok != 1 || ids != 1 {
		t.Errorf("%d binds succeeded, %d identities; want 1 and 1", ok, ids)
	}
}

// TestQQRegister_FailsHalfWay covers G-06: the openid is bound meanwhile, so the user
// insert is rolled back with the binding; the SMS code is not used up.
func TestQQRegister_FailsHalfWay(t *testing.T) {
	e := newEnv(t)
	x := e.user("correct horse battery")
	b1, b2 := e.browser(), e.browser()
	p1 := b1.qqLogin("/", "10001")
	p2 := b2.qqLogin("/", "10001")
	wantStatus(t, "bind in the other browser", b2.do("PUT", "/oauth/qq/info/", map[string]any{"qq_user": p2.str("qq_user"), "account": x.Username, "password": "correct horse battery"}), 200, "")
	users0, _ := e.counts()
	mobile := newMobile()
	code := b1.smsCode(mobile)
	r := b1.do("POST", "/oauth/qq/info/", map[string]any{"qq_user": p1.str("qq_user"), "nickname": "半途而废", "mobile": mobile, "sms_code": code, "password": "a long passphrase"})
	wantStatus(t, "register with an openid bound meanwhile", r, 409, "qq_already_bound")
	if users, ids := e.counts(); users != users0 || ids != 1 {
		t.Errorf("after the failed registration: %d users (want %d), %d identities (want 1)", users, users0, ids)
	}
	r = b1.do("POST", "/users/", map[string]any{"nickname": "半途而废", "mobile": mobile, "sms_code": code, "password": "a long passphrase"})
	wantStatus(t, "the same SMS code still registers", r, 201, "")
}

// TestRegister_MobileTaken covers G-01: no merge; 409 only after the code proves the number.
func TestRegister_MobileTaken(t *testing.T) {
	e := newEnv(t)
	u := e.user("correct horse battery")
	b := e.browser()
	r := b.do("POST", "/users/", map[string]any{"nickname": "冒名者", "mobile": u.Mobile, "sms_code": "000000", "password": "correct horse battery"})
	wantStatus(t, "taken mobile, wrong code", r, 400, "sms_code_invalid")
	code := b.smsCode(u.Mobile)
	r = b.do("POST", "/users/", map[string]any{"nickname": "冒名者", "mobile": u.Mobile, "sms_code": code, "password": "correct horse battery"})
	wantStatus(t, "taken mobile, right code", r, 409, "mobile_taken")
}

// TestSMS_ResendInterval covers M-01: one send per 60 s per mobile, also when fired at once.
func TestSMS_ResendInterval(t *testing.T) {
	e := newEnv(t)
	mobile := newMobile()
	rs := concurrently(5, func(int) response {
		return e.browser().do("POST", "/users/sms/", map[string]any{"mobile": mobile, "purpose": "register"})
	})
	ok := 0
	for _, r := range rs {
		switch r.status {
		case 200:
			ok++
			if r.body["expires_in"].(float64) != 300 || r.body["resend_after"].(float64) != 60 {
				t.Errorf("sms body = %s", r.raw)
			}
		case 429:
			if ra, _ := strconv.Atoi(r.header.Get("Retry-After")); ra < 1 || ra > 60 || r.str("error") != "sms_too_frequent" {
				t.Errorf("429 with Retry-After %q: %s", r.header.Get("Retry-After"), r.raw)
			}
		default:
			t.Errorf("sms = %d %s", r.status, r.raw)
		}
	}
	if ok != 1 || len(e.box.List(mobile)) != 1 {
		t.Errorf("%d sends succeeded, %d SMS in the outbox; want 1 and 1", ok, len(e.box.List(mobile)))
	}
	if strings.Contains(e.logs.String(), e.box.List(mobile)[0].Code) {
		t.Error("the SMS code reached the log")
	}
}

// TestSMS_DeadAfterFiveWrong covers M-03 and G-02.
func TestSMS_DeadAfterFiveWrong(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	mobile, other := newMobile(), newMobile()
	code := b.smsCode(mobile)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	reg := func(m, c string) response {
		return b.do("POST", "/users/", map[string]any{"nickname": "猜码人", "mobile": m, "sms_code": c, "password": "a long passphrase"})
	}
	wantStatus(t, "code used for another mobile", reg(other, code), 400, "sms_code_invalid")
	for i := 0; i < 5; i++ {
		wantStatus(t, "wrong code", reg(mobile, wrong), 400, "sms_code_invalid")
	}
	wantStatus(t, "right code after five wrong ones", reg(mobile, code), 400, "sms_code_invalid")
	if u, _ := e.counts(); u != 0 {
		t.Errorf("users = %d, want 0", u)
	}
}

// TestLogin_Throttle covers L-01/L-05: ten failures lock the account for the window with
// 429 and Retry-After, whatever the IP; a right password then waits too.
func TestLogin_Throttle(t *testing.T) {
	e := newEnv(t)
	u := e.user("correct horse battery")
	b := e.browser()
	for i := 0; i < 11; i++ { // the 11th goes through the first back-off gate
		wantStatus(t, "failure "+strconv.Itoa(i+1), b.do("POST", "/users/login/", map[string]any{"account": u.Username, "password": "guess" + strconv.Itoa(i)}), 401, "invalid_credentials")
	}
	r := b.do("POST", "/users/login/", map[string]any{"account": u.Username, "password": "correct horse battery"})
	wantStatus(t, "12th attempt, within the back-off", r, 429, "too_many_attempts")
	if ra, _ := strconv.Atoi(r.header.Get("Retry-After")); ra < 1 {
		t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	// The bind path shares the counter.
	p := b.qqLogin("/", "10001")
	r = b.do("PUT", "/oauth/qq/info/", map[string]any{"qq_user": p.str("qq_user"), "account": u.Username, "password": "correct horse battery"})
	wantStatus(t, "bind to a locked account", r, 429, "too_many_attempts")
	// Other accounts are unaffected.
	v := e.user("another passphrase")
	wantStatus(t, "another account", b.do("POST", "/users/login/", map[string]any{"account": v.Username, "password": "another passphrase"}), 200, "")
}

// TestOrigin_Foreign covers S-07 and P-06: a cross-site request with a foreign Origin is
// refused before anything happens.
func TestOrigin_Foreign(t *testing.T) {
	e := newEnv(t)
	u := e.user("correct horse battery")
	b := e.browser()
	r := b.do("POST", "/users/login/", map[string]any{"account": u.Username, "password": "correct horse battery"}, "Origin", "https://evil.example")
	wantStatus(t, "login from a foreign origin", r, 403, "origin_forbidden")
	p := b.qqLogin("/", "10001")
	r = b.do("PUT", "/oauth/qq/info/", map[string]any{"qq_user": p.str("qq_user"), "account": u.Username, "password": "correct horse battery"}, "Origin", "null")
	wantStatus(t, "bind from an opaque origin", r, 403, "origin_forbidden")
	r = b.do("PUT", "/oauth/qq/info/", map[string]any{"qq_user": p.str("qq_user"), "account": u.Username, "password": "correct horse battery"}, "Origin", e.url)
	wantStatus(t, "bind from the site itself", r, 200, "")
}

// TestCookies covers K-05 for the cookies: HttpOnly, SameSite=Lax, Path=/.
func TestCookies(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	r := b.do("GET", "/oauth/qq/url/", nil)
	sc := r.header.Get("Set-Cookie")
	for _, want := range []string{"qq_state=", "HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=600"} {
		if !strings.Contains(sc, want) {
			t.Errorf("state cookie %q lacks %s", sc, want)
		}
	}
	p := b.qqLogin("/", "10001")
	sc = strings.Join(p.header.Values("Set-Cookie"), "\n")
	for _, want := range []string{"qq_pending=", "HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=600"} {
		if !strings.Contains(sc, want) {
			t.Errorf("pending cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(sc, p.str("qq_user")) {
		t.Error("the pending cookie holds the handle itself: the two must be separate secrets")
	}
}

// TestJWT_AlgNoneAndExpired covers J-01 and J-04 through the API.
func TestJWT_AlgNoneAndExpired(t *testing.T) {
	e := newEnv(t)
	u := e.user("correct horse battery")
	key := secret.Derive(testSecret, "jwt")
	now := time.Now()
	claims := func(exp time.Time) jwt.MapClaims {
		return jwt.MapClaims{"iss": "renran", "aud": "renran-api", "sub": strconv.FormatInt(u.ID, 10), "iat": now.Add(-2 * time.Hour).Unix(), "exp": exp.Unix(), "jti": "x", "ver": 1, "uct": u.CreatedAt.UnixMilli()}
	}
	sign := func(m jwt.SigningMethod, k any, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(m, c)
		tok.Header["typ"] = "at+jwt"
		s, err := tok.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct{ name, tok string }{
		{"alg none", sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(now.Add(time.Hour)))},
		{"expired", sign(jwt.SigningMethodHS256, key, claims(now.Add(-time.Hour)))},
		{"signed with the master secret", sign(jwt.SigningMethodHS256, testSecret, claims(now.Add(time.Hour)))},
	}
	for _, tt := range tests {
		wantStatus(t, tt.name, e.browser().auth(tt.tok).do("GET", "/users/me/", nil), 401, "not_authenticated")
	}
	wantStatus(t, "control: a good token", e.browser().auth(sign(jwt.SigningMethodHS256, key, claims(now.Add(time.Hour)))).do("GET", "/users/me/", nil), 200, "")
}

// TestBadInput covers V-01 and V-02.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	huge := `{"account":"a","password":"` + strings.Repeat("p", 1<<20) + `"}`
	wantStatus(t, "1 MB password", b.do("POST", "/users/login/", huge), 413, "body_too_large")
	deep := `{"account":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`
	wantStatus(t, "deeply nested", b.do("POST", "/users/login/", deep), 400, "invalid_json")
	for _, acct := range []string{"' OR '1'='1", "admin'--", "<script>alert(1)</script>", "\x00", strings.Repeat("字", 300)} {
		r := b.do("POST", "/users/login/", map[string]any{"account": acct, "password": "x' OR 1=1 --"})
		if r.status != 401 && r.status != 429 {
			t.Errorf("login with account %q = %d %s, want 401", acct, r.status, r.raw)
		}
	}
	long := strings.Repeat("x", 200)
	r := b.do("POST", "/users/login/", map[string]any{"account": "someone", "password": long})
	wantStatus(t, "a 200-character password", r, 401, "invalid_credentials")
}

// TestSecretsNotLogged covers K-01: after the flows, the log holds no password, token,
// code, state, handle or app key.
func TestSecretsNotLogged(t *testing.T) {
	e := newEnv(t)
	const pw = "secret passphrase 42"
	u := e.user(pw)
	b := e.browser()
	login := b.do("POST", "/users/login/", map[string]any{"account": u.Username, "password": pw})
	q := b.qqStart("/", "10001")
	p := b.qqCallback(q)
	pending := b.cookie("qq_pending")
	if pending == nil {
		t.Fatal("no pending cookie after a first-time callback")
	}
	b.do("PUT", "/oauth/qq/info/", map[string]any{"qq_user": p.str("qq_user"), "account": u.Username, "password": pw})
	mobile := newMobile()
	code := b.smsCode(mobile)
	b.do("POST", "/users/", map[string]any{"nickname": "日志检查", "mobile": mobile, "sms_code": code, "password": pw})
	e.emu.InjectFault(qqemu.Fault{Endpoint: "token", Kind: "error", Code: 100009, Times: 1})
	b.qqLogin("/", "10002")
	e.svc.Close() // flush the journal

	logs := e.logs.String()
	for name, s := range map[string]string{
		"password": pw, "jwt": login.str("token"), "code": q.Get("code"), "state": q.Get("state"),
		"pending handle": p.str("qq_user"), "sms code": code, "app key": testAppKey, "pending cookie": pending.Value,
	} {
		if s == "" {
			t.Errorf("nothing to look for as the %s: the check would pass vacuously", name)
		} else if strings.Contains(logs, s) {
			t.Errorf("the log holds the %s", name)
		}
	}
	if !strings.Contains(logs, "path=/oauth/qq/info/ ") || strings.Contains(logs, "path=/oauth/qq/info/?") {
		t.Errorf("access log should show paths without query strings")
	}
	events, _ := e.db.AuditEvents(context.Background(), u.ID)
	if len(events) < 2 {
		t.Errorf("audit events for the user = %d, want login and bind", len(events))
	}
}

// TestSMS_ResendReplacesCode covers M-05: after a resend the old code is dead.
func TestSMS_ResendReplacesCode(t *testing.T) {
	e := newEnv(t, func(o *envOptions) { o.noLimits = true })
	b := e.browser()
	mobile := newMobile()
	old := b.smsCode(mobile)
	fresh := b.smsCode(mobile)
	for fresh == old { // one chance in a million
		fresh = b.smsCode(mobile)
	}
	reg := func(code string) response {
		return b.do("POST", "/users/", map[string]any{"nickname": "重发者", "mobile": mobile, "sms_code": code, "password": "a long passphrase"})
	}
	wantStatus(t, "the code before the resend", reg(old), 400, "sms_code_invalid")
	wantStatus(t, "the code after the resend", reg(fresh), 201, "")
}

// TestRegister_ConcurrentSameCode covers X-03 for SMS codes: one code fired twice at once
// creates one account.
func TestRegister_ConcurrentSameCode(t *testing.T) {
	e := newEnv(t, func(o *envOptions) { o.proxy = true })
	b := e.browser()
	mobile := newMobile()
	code := b.smsCode(mobile)
	results := concurrently(4, func(i int) response { // from four addresses, so all four reach the code check
		return e.browser().do("POST", "/users/", map[string]any{"nickname": "并发" + strconv.Itoa(i), "mobile": mobile, "sms_code": code, "password": "a long passphrase"},
			"X-Forwarded-For", "192.0.2."+strconv.Itoa(i+1))
	})
	created := 0
	for _, r := range results {
		if r.status == 201 {
			created++
		} else if r.status != 409 && r.status != 400 {
			t.Errorf("losing registration = %d %s", r.status, r.raw)
		}
	}
	if users, _ := e.counts(); created != 1 || users != 1 {
		t.Errorf("%d registrations succeeded, %d users; want 1 and 1", created, users)
	}
}

// TestSMS_PerIPLimit covers M-02/L-06: one IP asking for codes to many numbers is stopped
// with 429 and Retry-After after 20 in an hour.
func TestSMS_PerIPLimit(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for i := 0; i < 20; i++ {
		wantStatus(t, "send "+strconv.Itoa(i+1), b.do("POST", "/users/sms/", map[string]any{"mobile": newMobile(), "purpose": "register"}), 200, "")
	}
	r := b.do("POST", "/users/sms/", map[string]any{"mobile": newMobile(), "purpose": "register"})
	wantStatus(t, "21st send from one IP", r, 429, "rate_limited")
	if ra, _ := strconv.Atoi(r.header.Get("Retry-After")); ra < 60 {
		t.Errorf("Retry-After = %q, want the rest of the hour", r.header.Get("Retry-After"))
	}
}
