package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestAPIScenarios is a table of single requests against a real server: method, path,
// body, expected status and error code.
func TestAPIScenarios(t *testing.T) {
	e := newEnv(t)
	const pw = "correct horse battery"
	u := e.user(pw)
	b := e.browser()
	login := b.do("POST", "/users/login/", map[string]any{"account": u.Username, "password": pw})
	tok := login.str("token")

	tests := []struct {
		name       string
		method     string
		path       string
		body       any
		hdr        []string
		wantStatus int
		wantCode   string
	}{
		{"login by username", "POST", "/users/login/", map[string]any{"account": u.Username, "password": pw}, nil, 200, ""},
		{"login by mobile", "POST", "/users/login/", map[string]any{"account": u.Mobile, "password": pw, "remember": true}, nil, 200, ""},
		{"login by e-mail, other case", "POST", "/users/login/", map[string]any{"account": strings.ToUpper(u.Email), "password": pw}, nil, 200, ""},
		{"login without trailing slash", "POST", "/users/login", map[string]any{"account": u.Username, "password": pw}, nil, 200, ""},
		{"wrong password", "POST", "/users/login/", map[string]any{"account": u.Username, "password": pw + "!"}, nil, 401, "invalid_credentials"},
		{"unknown account", "POST", "/users/login/", map[string]any{"account": "nobody", "password": pw}, nil, 401, "invalid_credentials"},
		{"empty account", "POST", "/users/login/", map[string]any{"account": "", "password": pw}, nil, 400, "account_required"},
		{"text/plain body", "POST", "/users/login/", `{"account":"a","password":"b"}`, []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type"},
		{"unknown field", "POST", "/users/login/", map[string]any{"account": "a", "password": "b", "is_staff": true}, nil, 400, "invalid_field"},
		{"wrong type", "POST", "/users/login/", map[string]any{"account": 1, "password": "b"}, nil, 400, "invalid_field"},
		{"me without a token", "GET", "/users/me/", nil, nil, 401, "not_authenticated"},
		{"me with a Bearer token", "GET", "/users/me/", nil, []string{"Authorization", "Bearer " + tok}, 200, ""},
		{"me with the seed's JWT prefix", "GET", "/users/me/", nil, []string{"Authorization", "jwt " + tok}, 200, ""},
		{"me with the token in the query", "GET", "/users/me/?token=" + tok, nil, nil, 401, "not_authenticated"},
		{"me with another scheme", "GET", "/users/me/", nil, []string{"Authorization", "Basic " + tok}, 401, "not_authenticated"},
		{"unknown route", "GET", "/nope", nil, nil, 404, "not_found"},
		{"wrong method", "DELETE", "/users/login/", nil, nil, 405, "method_not_allowed"},
		{"sms to a foreign number", "POST", "/users/sms/", map[string]any{"mobile": "+14155550100", "purpose": "register"}, nil, 400, "mobile_invalid"},
		{"sms with an unknown purpose", "POST", "/users/sms/", map[string]any{"mobile": newMobile(), "purpose": "admin"}, nil, 400, "purpose_invalid"},
		{"register with a bidi nickname", "POST", "/users/", map[string]any{"nickname": "evil\u202ename", "mobile": newMobile(), "sms_code": "123456", "password": "a long passphrase"}, nil, 400, "nickname_invalid"},
		{"register with a common password", "POST", "/users/", map[string]any{"nickname": "新用户", "mobile": newMobile(), "sms_code": "123456", "password": "password123"}, nil, 400, "password_too_common"},
		{"register without an SMS code", "POST", "/users/", map[string]any{"nickname": "新用户", "mobile": newMobile(), "sms_code": "", "password": "a long passphrase"}, nil, 400, "sms_code_invalid"},
		{"register with mass assignment", "POST", "/users/", map[string]any{"nickname": "新用户", "mobile": newMobile(), "sms_code": "1", "password": "a long passphrase", "is_staff": true}, nil, 400, "invalid_field"},
		{"qq info without a state", "GET", "/oauth/qq/info/?code=ABC", nil, nil, 400, "oauth_state_invalid"},
		{"bind with an unknown handle", "PUT", "/oauth/qq/info/", map[string]any{"qq_user": "nope", "account": u.Username, "password": pw}, nil, 410, "qq_user_expired"},
		{"register with an unknown handle", "POST", "/oauth/qq/info/", map[string]any{"qq_user": "nope", "nickname": "新用户", "mobile": newMobile(), "sms_code": "1", "password": "a long passphrase"}, nil, 410, "qq_user_expired"},
		{"healthz", "GET", "/healthz", nil, nil, 200, ""},
		{"readyz", "GET", "/readyz", nil, nil, 200, ""},
		{"dev outbox", "GET", "/_dev/outbox", nil, nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.browser().do(tt.method, tt.path, tt.body, tt.hdr...)
			wantStatus(t, tt.method+" "+tt.path, r, tt.wantStatus, tt.wantCode)
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want JSON", ct)
			}
			if r.status >= 400 && r.str("message") == "" {
				t.Errorf("error body %s has no message", r.raw)
			}
			if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("security headers missing: %v", r.header)
			}
		})
	}
}

func TestPasswordLogin(t *testing.T) {
	e := newEnv(t)
	u := e.user("correct horse battery")
	b := e.browser()
	r := b.do("POST", "/users/login/", map[string]any{"account": u.Mobile, "password": "correct horse battery", "next": "/article/7?from=login"})
	wantStatus(t, "login", r, 200, "")
	if r.str("token") == "" || r.str("username") != u.Username || r.str("nickname") != u.Nickname || r.body["id"].(float64) != float64(u.ID) ||
		r.str("next") != "/article/7?from=login" {
		t.Fatalf("login body = %s", r.raw)
	}
	if _, ok := r.body["avatar"]; !ok {
		t.Errorf("login body lacks avatar: %s", r.raw)
	}
	me := b.auth(r.str("token")).do("GET", "/users/me/", nil)
	wantStatus(t, "me", me, 200, "")
	if me.str("mobile") != u.Mobile[:3]+"****"+u.Mobile[7:] || me.str("email") != u.Email {
		t.Errorf("me = %s", me.raw)
	}
	// The same error, field-less, for an unknown account and a wrong password.
	a := b.do("POST", "/users/login/", map[string]any{"account": "nobody", "password": "x"})
	w := b.do("POST", "/users/login/", map[string]any{"account": u.Username, "password": "x"})
	if a.raw != w.raw || a.str("field") != "" {
		t.Errorf("unknown account answered %s, wrong password %s: want the same body", a.raw, w.raw)
	}
}

// TestQQFirstTimeBindExisting: 已有账号, then the same QQ user returns.
func TestQQFirstTimeBindExisting(t *testing.T) {
	e := newEnv(t)
	u := e.user("correct horse battery")
	b := e.browser()
	p := b.qqLogin("/user", "10001")
	wantStatus(t, "first-time callback", p, 200, "")
	if p.str("qq_user") == "" || p.str("nickname") != "林枫" || !strings.Contains(p.str("avatar"), "/qlogo/10001/") || p.str("next") != "/user" || p.str("token") != "" {
		t.Fatalf("pending answer = %s", p.raw)
	}
	if strings.Contains(p.raw, "access_token") || strings.Contains(p.raw, e.emu.OpenID(testAppID, "10001")) {
		t.Errorf("pending answer leaks QQ's token or openid: %s", p.raw)
	}
	c := b.cookie("qq_pending")
	if c == nil {
		t.Fatal("no pending cookie")
	}
	r := b.do("PUT", "/oauth/qq/info/", map[string]any{"qq_user": p.str("qq_user"), "account": u.Username, "password": "correct horse battery"})
	wantStatus(t, "bind", r, 200, "")
	if r.str("token") == "" || r.body["id"].(float64) != float64(u.ID) || r.str("next") != "/user" {
		t.Fatalf("bind body = %s", r.raw)
	}
	if b.cookie("qq_pending") != nil {
		t.Error("pending cookie not cleared after binding")
	}
	me := b.auth(r.str("token")).do("GET", "/users/me/", nil)
	ids, _ := me.body["identities"].([]any)
	if len(ids) != 1 || ids[0].(map[string]any)["provider"] != "qq" || ids[0].(map[string]any)["nickname"] != "林枫" || ids[0].(map[string]any)["bound_at"] == "" {
		t.Fatalf("me identities = %s", me.raw)
	}

	// Returning user: one call to QQ, straight to a login body.
	before := e.emu.Calls("token") + e.emu.Calls("me") + e.emu.Calls("user_info")
	again := e.browser().qqLogin("/article/1", "10001")
	wantStatus(t, "returning callback", again, 200, "")
	if again.str("token") == "" || again.body["id"].(float64) != float64(u.ID) || again.str("next") != "/article/1" {
		t.Fatalf("returning body = %s", again.raw)
	}
	if got := e.emu.Calls("token") + e.emu.Calls("me") + e.emu.Calls("user_info") - before; got != 1 {
		t.Errorf("a returning login made %d calls to QQ, want 1", got)
	}
}

// TestQQFirstTimeRegister: 没有账号 with an SMS code, account and binding in one go.
func TestQQFirstTimeRegister(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	p := b.qqLogin("/user", "10002")
	wantStatus(t, "first-time callback", p, 200, "")
	mobile := newMobile()
	code := b.smsCode(mobile)
	r := b.do("POST", "/oauth/qq/info/", map[string]any{"qq_user": p.str("qq_user"), "nickname": p.str("nickname"), "mobile": mobile, "sms_code": code, "password": "a long passphrase"})
	wantStatus(t, "register with QQ", r, http.StatusCreated, "")
	if r.str("token") == "" || r.str("nickname") != "小荏" || !strings.HasPrefix(r.str("username"), "rr_") || r.str("avatar") == "" {
		t.Fatalf("register body = %s", r.raw)
	}
	users, ids := e.counts()
	if users != 1 || ids != 1 {
		t.Errorf("after registering: %d users, %d identities; want 1 and 1", users, ids)
	}
	// The new account logs in with its mobile and password, and QQ logs it in too.
	wantStatus(t, "login by mobile", b.do("POST", "/users/login/", map[string]any{"account": mobile, "password": "a long passphrase"}), 200, "")
	again := e.browser().qqLogin("/", "10002")
	if again.str("token") == "" || again.str("username") != r.str("username") {
		t.Errorf("returning QQ login after registering = %s", again.raw)
	}
}

func TestRegister(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	mobile := newMobile()
	code := b.smsCode(mobile)
	r := b.do("POST", "/users/", map[string]any{"nickname": "荏苒读者", "mobile": "+86 " + mobile, "sms_code": code, "password": "月光🌙 照在 床前", "next": "//evil.example"})
	wantStatus(t, "register", r, http.StatusCreated, "")
	if r.str("nickname") != "荏苒读者" || r.str("next") != "/" {
		t.Fatalf("register body = %s", r.raw)
	}
	wantStatus(t, "login with the unicode passphrase", b.do("POST", "/users/login/", map[string]any{"account": mobile, "password": "月光🌙 照在 床前"}), 200, "")
	// The code is used up.
	r = b.do("POST", "/users/", map[string]any{"nickname": "另一个", "mobile": mobile, "sms_code": code, "password": "a long passphrase"})
	wantStatus(t, "register again with the same code", r, 400, "sms_code_invalid")
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	u := e.user("correct horse battery")
	b := e.browser()
	login := func() string {
		return b.do("POST", "/users/login/", map[string]any{"account": u.Username, "password": "correct horse battery"}).str("token")
	}
	t1, t2 := login(), login()
	wantStatus(t, "logout", b.auth(t1).do("POST", "/users/logout/", nil), 204, "")
	wantStatus(t, "me with the logged-out token", b.auth(t1).do("GET", "/users/me/", nil), 401, "not_authenticated")
	wantStatus(t, "me with another token", b.auth(t2).do("GET", "/users/me/", nil), 200, "")
	t3 := login()
	wantStatus(t, "logout everywhere", b.auth(t3).do("POST", "/users/logout/", map[string]any{"all": true}), 204, "")
	for _, tok := range []string{t2, t3} {
		wantStatus(t, "me after logging out everywhere", b.auth(tok).do("GET", "/users/me/", nil), 401, "not_authenticated")
	}
	wantStatus(t, "me with a new token", b.auth(login()).do("GET", "/users/me/", nil), 200, "")
}

// TestQQUnionID: with the unionid permission, the binding records the unionid (which only
// /me gives), and a returning login costs two calls to QQ instead of one.
func TestQQUnionID(t *testing.T) {
	e := newEnv(t, func(o *envOptions) { o.unionID = true })
	u := e.user("correct horse battery")
	b := e.browser()
	p := b.qqLogin("/", "10001")
	wantStatus(t, "bind", b.do("PUT", "/oauth/qq/info/", map[string]any{"qq_user": p.str("qq_user"), "account": u.Username, "password": "correct horse battery"}), 200, "")
	id, _, err := e.db.IdentityByOpenID(context.Background(), "qq", testAppID, e.emu.OpenID(testAppID, "10001"))
	if err != nil || id.UnionID != e.emu.UnionID(testAppID, "10001") {
		t.Fatalf("identity = %+v, %v; want unionid %s", id, err, e.emu.UnionID(testAppID, "10001"))
	}
	before := e.emu.Calls("token") + e.emu.Calls("me")
	wantStatus(t, "returning", e.browser().qqLogin("/", "10001"), 200, "")
	if got := e.emu.Calls("token") + e.emu.Calls("me") - before; got != 2 {
		t.Errorf("returning login with unionid made %d calls, want 2", got)
	}
}

// TestUnmatchedRoutes: the catch-all answers unknown paths with the JSON 404 and known
// paths with another method with a JSON 405 naming the allowed methods.
func TestUnmatchedRoutes(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	r := b.do("DELETE", "/oauth/qq/info/", nil)
	wantStatus(t, "DELETE /oauth/qq/info/", r, 405, "method_not_allowed")
	if got := r.header.Get("Allow"); got != "GET, POST, PUT" {
		t.Errorf("Allow = %q, want GET, POST, PUT", got)
	}
	wantStatus(t, "GET /users/nope/", b.do("GET", "/users/nope/", nil), 404, "not_found")
	wantStatus(t, "POST /login (a page)", b.do("POST", "/login", map[string]any{}), 405, "method_not_allowed")
}
