package web_test

import (
	"context"
	"testing"

	"github.com/renran/accounts/internal/account"
)

// TestQQLink covers linking QQ from the user centre and unlinking it, with the attacks:
// a link state finished without a session or with another user's, an identity owned by
// someone else, a second QQ, an unlink with a wrong password, the last way in.
func TestQQLink(t *testing.T) {
	e := newEnv(t)
	u := e.user("correct horse battery")
	b := e.browser().loginAs(u, "correct horse battery")
	wantStatus(t, "a link URL without a session", e.browser().do("GET", "/oauth/qq/url/?intent=link", nil), 401, "not_authenticated")

	uin := e.emu.AddUser("关联用户").UIN

	// The link flow: a state bound to u.
	start := b.do("GET", "/oauth/qq/url/?intent=link&next=/user", nil)
	if start.status != 200 {
		t.Fatalf("link URL = %d %s", start.status, start.raw)
	}
	cb := b.qqApprove(start.str("url"), uin)
	// Finished by another user's session: refused, nothing bound.
	v := e.user("correct horse battery")
	bv := b.auth(e.browser().loginAs(v, "correct horse battery").hdr.Get("Authorization")[len("Bearer "):]) // b's cookies, v's JWT
	wantStatus(t, "a link state with another user's JWT", bv.qqCallback(cb), 400, "oauth_state_invalid")
	if _, ids := e.counts(); ids != 0 {
		t.Fatalf("%d identities bound after a foreign finish", ids)
	}
	// Again, properly: without a session it is refused, with u's it links.
	start = b.do("GET", "/oauth/qq/url/?intent=link&next=/user", nil)
	cb = b.qqApprove(start.str("url"), uin)
	anon := *b
	anon.hdr = nil
	wantStatus(t, "a link state without a JWT", anon.qqCallback(cb), 400, "oauth_state_invalid")
	start = b.do("GET", "/oauth/qq/url/?intent=link&next=/user", nil)
	cb = b.qqApprove(start.str("url"), uin)
	r := b.qqCallback(cb)
	wantStatus(t, "link", r, 200, "")
	if l, _ := r.body["linked"].(map[string]any); l == nil || l["provider"] != "qq" || l["nickname"] != "关联用户" || r.str("next") != "/user" {
		t.Errorf("link answer = %s", r.raw)
	}
	me := b.do("GET", "/users/me/", nil)
	if ids, _ := me.body["identities"].([]any); len(ids) != 1 {
		t.Errorf("identities after linking = %s", me.raw)
	}
	// A second QQ for u: 409 account_has_qq.
	start = b.do("GET", "/oauth/qq/url/?intent=link", nil)
	wantStatus(t, "a second QQ", b.qqCallback(b.qqApprove(start.str("url"), e.emu.AddUser("第二个").UIN)), 409, "account_has_qq")
	// u's QQ linked by v: 409 qq_already_bound.
	bv2 := e.browser().loginAs(v, "correct horse battery")
	start = bv2.do("GET", "/oauth/qq/url/?intent=link", nil)
	wantStatus(t, "someone else's QQ", bv2.qqCallback(bv2.qqApprove(start.str("url"), uin)), 409, "qq_already_bound")

	// Unlink.
	wantStatus(t, "unlink with a wrong password", b.do("DELETE", "/oauth/qq/", map[string]any{"password": "not it"}), 401, "invalid_credentials")
	wantStatus(t, "unlink", b.do("DELETE", "/oauth/qq/", map[string]any{"password": "correct horse battery"}), 204, "")
	wantStatus(t, "unlink again", b.do("DELETE", "/oauth/qq/", map[string]any{"password": "correct horse battery"}), 404, "qq_not_linked")
	// The next QQ login of that identity is a first-time one.
	if p := e.browser().qqLogin("/", uin); p.str("qq_user") == "" {
		t.Errorf("QQ login after unlinking = %d %s, want a first-time (pending) answer", p.status, p.raw)
	}

	// An account whose only way in is QQ cannot unlink it.
	only, _, err := e.db.CreateUserWithIdentity(context.Background(), account.User{Username: "qqonly1", Mobile: newMobile(), Nickname: "只用QQ", TokenVersion: 1},
		account.Identity{Provider: account.ProviderQQ, AppID: testAppID, OpenID: e.emu.OpenID(testAppID, "10002")})
	if err != nil {
		t.Fatal(err)
	}
	l := e.browser().qqLogin("/", "10002")
	if l.str("token") == "" {
		t.Fatalf("QQ login of the QQ-only account (%d): %d %s", only.ID, l.status, l.raw)
	}
	wantStatus(t, "unlink the only way in", e.browser().auth(l.str("token")).do("DELETE", "/oauth/qq/", map[string]any{"password": "whatever"}), 409, "last_login_method")
}

// TestUnknownProvider: the provider routes answer 404 for a name no provider has, and such
// a request leaves a QQ login in progress alone.
func TestUnknownProvider(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	q := b.qqStart("/", "10001")
	for _, rq := range []struct{ method, path string }{
		{"GET", "/oauth/douban/url/"}, {"GET", "/oauth/douban/info/?code=x&state=" + q.Get("state")},
		{"PUT", "/oauth/douban/info/"}, {"POST", "/oauth/douban/info/"},
	} {
		var body any
		if rq.method != "GET" {
			body = map[string]any{}
		}
		wantStatus(t, rq.method+" "+rq.path, b.do(rq.method, rq.path, body), 404, "not_found")
	}
	u := e.user("correct horse battery")
	wantStatus(t, "DELETE /oauth/douban/ logged in", e.browser().loginAs(u, "correct horse battery").do("DELETE", "/oauth/douban/", map[string]any{"password": "correct horse battery"}), 404, "not_found")
	if p := b.qqCallback(q); p.str("qq_user") == "" {
		t.Errorf("the QQ login in progress after requests to an unknown provider: %d %s", p.status, p.raw)
	}
}
