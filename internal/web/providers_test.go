package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/store/storetest"
	"github.com/renran/accounts/qqemu"
	"github.com/renran/accounts/wechatemu"
	"github.com/renran/accounts/weiboemu"
)

// provider is what the table tests need of a login provider and its emulator.
type provider struct {
	name string
	// newUser adds a person to the emulator, never seen by the site: a first-time login.
	newUser func(e *env) string
	// approve lets the emulator approve the authorize URL u as user and returns the
	// callback's query.
	approve func(b *browser, u, user string) url.Values
	// fault makes the emulator's token endpoint fail once: kind error (with a code that
	// means "code invalid"), http500 or timeout.
	fault func(e *env, kind string)
	// codeInvalid is the provider's error code that a used or unknown code earns.
	codeInvalid int
}

var providers = []provider{
	{
		name:    "qq",
		newUser: func(e *env) string { return e.emu.AddUser("").UIN },
		approve: func(b *browser, u, user string) url.Values { return b.qqApprove(u, user) },
		fault: func(e *env, kind string) {
			e.emu.InjectFault(qqemu.Fault{Endpoint: "token", Kind: kind, Code: 100019, Times: 1})
		},
	},
	{
		name:    "wechat",
		newUser: func(e *env) string { return e.wx.AddUser("").ID },
		approve: func(b *browser, u, user string) url.Values { return wechatApprove(b, u, user, "") },
		fault: func(e *env, kind string) {
			e.wx.InjectFault(wechatemu.Fault{Endpoint: "token", Kind: kind, Code: 40029, Times: 1})
		},
	},
	{
		name:    "weibo",
		newUser: func(e *env) string { return e.wb.AddUser("").UID },
		approve: func(b *browser, u, user string) url.Values {
			b.e.t.Helper()
			resp, err := b.c.Get(u + "&weiboemu_user=" + user)
			if err != nil {
				b.e.t.Fatal(err)
			}
			resp.Body.Close()
			cb, err := url.Parse(resp.Header.Get("Location"))
			if err != nil || cb.Query().Get("code") == "" {
				b.e.t.Fatalf("weibo emulator authorize: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			return cb.Query()
		},
		fault: func(e *env, kind string) {
			e.wb.InjectFault(weiboemu.Fault{Endpoint: "token", Kind: kind, Code: 21325, Times: 1})
		},
	},
}

// wechatApprove follows a WeChat authorize URL (without its #wechat_redirect fragment,
// which no browser sends) as user, with the user agent ua ("" for a desktop browser).
func wechatApprove(b *browser, u, user, ua string) url.Values {
	b.e.t.Helper()
	base, _, _ := strings.Cut(u, "#")
	req, _ := http.NewRequest("GET", base+"&wechatemu_user="+url.QueryEscape(user), nil)
	if ua != "" {
		req.Header.Set("User-Agent", ua)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	resp.Body.Close()
	cb, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || cb.Query().Get("code") == "" {
		b.e.t.Fatalf("wechat emulator authorize: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return cb.Query()
}

// start asks for p's authorize URL (with the query extra) and lets the emulator approve
// as user.
func (p provider) start(b *browser, extra, user string) url.Values {
	b.e.t.Helper()
	r := b.do("GET", "/oauth/"+p.name+"/url/?next=/articles"+extra, nil)
	if r.status != 200 || r.str("url") == "" {
		b.e.t.Fatalf("GET /oauth/%s/url/ = %d %s", p.name, r.status, r.raw)
	}
	return p.approve(b, r.str("url"), user)
}

func (p provider) callback(b *browser, q url.Values) response {
	return b.do("GET", "/oauth/"+p.name+"/info/?code="+url.QueryEscape(q.Get("code"))+"&state="+url.QueryEscape(q.Get("state")), nil)
}

func (p provider) info() string { return "/oauth/" + p.name + "/info/" }

// TestProviderFlows runs the QQ scenarios for every provider: first time → 没有账号,
// returning, first time → 已有账号, link and unlink from the user centre, and the errors
// under each provider's own codes.
func TestProviderFlows(t *testing.T) {
	for _, p := range providers {
		t.Run(p.name, func(t *testing.T) {
			e := newEnv(t, func(o *envOptions) { o.noLimits = true })
			person := p.newUser(e)

			// First time → 没有账号: register with an SMS code, bound in one go.
			b := e.browser()
			pending := p.callback(b, p.start(b, "", person))
			if pending.status != 200 || pending.str("qq_user") == "" || pending.str("next") != "/articles" {
				t.Fatalf("first time = %d %s; want a pending identity", pending.status, pending.raw)
			}
			mobile := newMobile()
			reg := b.do("POST", p.info(), map[string]any{"qq_user": pending.str("qq_user"), "nickname": "新" + p.name + "读者",
				"mobile": mobile, "sms_code": b.smsCode(mobile), "password": "a long passphrase"})
			wantStatus(t, "register", reg, 201, "")
			me := b.auth(reg.str("token")).do("GET", "/users/me/", nil)
			ids, _ := me.body["identities"].([]any)
			if len(ids) != 1 || ids[0].(map[string]any)["provider"] != p.name {
				t.Fatalf("/users/me/ identities = %v; want one %s identity", me.body["identities"], p.name)
			}

			// Returning: logged in as that account, nothing new created.
			users, idents := e.counts()
			b2 := e.browser()
			back := p.callback(b2, p.start(b2, "", person))
			wantStatus(t, "returning", back, 200, "")
			if back.str("token") == "" || back.str("username") != me.str("username") {
				t.Fatalf("returning = %s; want %s logged in", back.raw, me.str("username"))
			}
			if u2, i2 := e.counts(); u2 != users || i2 != idents {
				t.Errorf("a returning login created rows: %d/%d users, %d/%d identities", u2, users, i2, idents)
			}

			// The same callback again: the state was used up.
			q := p.start(b2, "", person)
			wantStatus(t, "first use", p.callback(b2, q), 200, "")
			wantStatus(t, "replayed callback", p.callback(b2, q), 400, "oauth_state_invalid")
			// A state minted for this provider is no good at another one's callback.
			elsewhere := provider{name: "qq"}
			if p.name == "qq" {
				elsewhere = provider{name: "weibo"}
			}
			wantStatus(t, "a state used at another provider", elsewhere.callback(b2, p.start(b2, "", person)), 400, "oauth_state_invalid")

			// First time → 已有账号, and the pending handle is this browser's only.
			owner := e.user("correct horse battery")
			other := p.newUser(e)
			b3 := e.browser()
			pend := p.callback(b3, p.start(b3, "", other))
			thief := e.browser()
			wantStatus(t, "pending handle from another browser",
				thief.do("PUT", p.info(), map[string]any{"qq_user": pend.str("qq_user"), "account": owner.Username, "password": "correct horse battery"}),
				410, p.name+"_user_expired")
			bound := b3.do("PUT", p.info(), map[string]any{"qq_user": pend.str("qq_user"), "account": owner.Username, "password": "correct horse battery"})
			wantStatus(t, "bind to an existing account", bound, 200, "")
			if bound.str("username") != owner.Username {
				t.Errorf("bound to %q; want %q", bound.str("username"), owner.Username)
			}

			// The same identity cannot be linked to a second account from the user centre.
			second := e.user("correct horse battery")
			b4 := e.browser()
			tok4 := b4.do("POST", "/users/login/", map[string]any{"account": second.Username, "password": "correct horse battery"}).str("token")
			r := b4.auth(tok4).do("GET", "/oauth/"+p.name+"/url/?intent=link&next=/user", nil)
			q4 := p.approve(b4, r.str("url"), other)
			wantStatus(t, "link an identity bound elsewhere", b4.auth(tok4).do("GET", p.info()+"?code="+url.QueryEscape(q4.Get("code"))+"&state="+url.QueryEscape(q4.Get("state")), nil),
				409, p.name+"_already_bound")

			// Link a new one, then unlink it with the password.
			fresh := p.newUser(e)
			r = b4.auth(tok4).do("GET", "/oauth/"+p.name+"/url/?intent=link&next=/user", nil)
			q4 = p.approve(b4, r.str("url"), fresh)
			linked := b4.auth(tok4).do("GET", p.info()+"?code="+url.QueryEscape(q4.Get("code"))+"&state="+url.QueryEscape(q4.Get("state")), nil)
			wantStatus(t, "link", linked, 200, "")
			if l, _ := linked.body["linked"].(map[string]any); l == nil || l["provider"] != p.name {
				t.Fatalf("link = %s", linked.raw)
			}
			wantStatus(t, "unlink with a wrong password", b4.auth(tok4).do("DELETE", "/oauth/"+p.name+"/", map[string]any{"password": "wrong password here"}), 401, "invalid_credentials")
			wantStatus(t, "unlink", b4.auth(tok4).do("DELETE", "/oauth/"+p.name+"/", map[string]any{"password": "correct horse battery"}), 204, "")
			wantStatus(t, "unlink again", b4.auth(tok4).do("DELETE", "/oauth/"+p.name+"/", map[string]any{"password": "correct horse battery"}), 404, p.name+"_not_linked")
			// Unlinked, the identity is a first-time one again.
			b5 := e.browser()
			if again := p.callback(b5, p.start(b5, "", fresh)); again.status != 200 || again.str("qq_user") == "" {
				t.Errorf("after unlink = %d %s; want a pending identity", again.status, again.raw)
			}
			// Weibo: every login asked get_token_info whose token it was (docs/weibo.md §12).
			if p.name == "weibo" && (e.wb.Calls("token_info") != e.wb.Calls("token") || e.wb.Calls("token") != 7) {
				t.Errorf("weibo: %d token calls, %d get_token_info calls; want 7 each: one a login that reached Weibo (the replay never does)", e.wb.Calls("token"), e.wb.Calls("token_info"))
			}
		})
	}
}

// TestProviderFailures: a provider's errors and timeouts answer 502/504 under the
// provider's own codes, and create nothing; concurrent registrations with one pending
// identity make one account.
func TestProviderFailures(t *testing.T) {
	for _, p := range providers {
		t.Run(p.name, func(t *testing.T) {
			e := newEnv(t, func(o *envOptions) { o.noLimits = true; o.qqTimeout = 300e6 })
			for _, c := range []struct {
				kind   string
				status int
				code   string
			}{
				{"error", 502, p.name + "_code_invalid"},
				{"http500", 502, p.name + "_unavailable"},
				{"timeout", 504, p.name + "_timeout"},
			} {
				users, idents := e.counts()
				b := e.browser()
				q := p.start(b, "", p.newUser(e))
				p.fault(e, c.kind)
				wantStatus(t, c.kind, p.callback(b, q), c.status, c.code)
				if u2, i2 := e.counts(); u2 != users || i2 != idents {
					t.Errorf("%s created rows", c.kind)
				}
			}

			b := e.browser()
			pend := p.callback(b, p.start(b, "", p.newUser(e)))
			mobiles := []string{newMobile(), newMobile(), newMobile(), newMobile()}
			codes := make([]string, len(mobiles))
			for i, m := range mobiles {
				codes[i] = b.smsCode(m)
			}
			var mu sync.Mutex
			created := 0
			concurrently(len(mobiles), func(i int) response {
				r := b.do("POST", p.info(), map[string]any{"qq_user": pend.str("qq_user"), "nickname": "并发" + p.name + string(rune('a'+i)),
					"mobile": mobiles[i], "sms_code": codes[i], "password": "a long passphrase"})
				if r.status == 201 {
					mu.Lock()
					created++
					mu.Unlock()
				}
				return r
			})
			if created != 1 {
				t.Errorf("%d registrations with one pending identity succeeded; want 1", created)
			}

			// Concurrent 已有账号 binds of one pending identity to four accounts: one wins.
			owners := make([]string, 4)
			for i := range owners {
				owners[i] = e.user("correct horse battery").Username
			}
			b2 := e.browser()
			pend2 := p.callback(b2, p.start(b2, "", p.newUser(e)))
			bound := 0
			concurrently(len(owners), func(i int) response {
				r := b2.do("PUT", p.info(), map[string]any{"qq_user": pend2.str("qq_user"), "account": owners[i], "password": "correct horse battery"})
				if r.status == 200 {
					mu.Lock()
					bound++
					mu.Unlock()
				}
				return r
			})
			if _, idents := e.counts(); bound != 1 {
				t.Errorf("%d concurrent binds of one pending identity succeeded (%d identities); want 1", bound, idents)
			}
		})
	}
}

const microMessengerUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"

// wechatLogin starts a WeChat login in b (inside WeChat's browser when inWeChat) as the
// emulator's user and forwards the callback; it returns the answer and the app id the
// authorize URL named.
func wechatLogin(t *testing.T, b *browser, user string, inWeChat bool) (response, string) {
	t.Helper()
	ua := ""
	var hdr []string
	if inWeChat {
		ua = microMessengerUA
		hdr = []string{"User-Agent", ua}
	}
	r := b.do("GET", "/oauth/wechat/url/?next=/user", nil, hdr...)
	u, err := url.Parse(r.str("url"))
	if r.status != 200 || err != nil {
		t.Fatalf("GET /oauth/wechat/url/ = %d %s", r.status, r.raw)
	}
	if u.Fragment != "wechat_redirect" {
		t.Errorf("authorize URL %s: want #wechat_redirect after the query", r.str("url"))
	}
	q := wechatApprove(b, r.str("url"), user, ua)
	return provider{name: "wechat"}.callback(b, q), u.Query().Get("appid")
}

// TestWeChatUnionID: the same person on the website app and then inside WeChat's browser
// (the official account) lands in one account with two identity rows, when both apps are
// bound to one open-platform account; without a unionid, the second is a stranger.
func TestWeChatUnionID(t *testing.T) {
	for _, bound := range []bool{true, false} {
		t.Run(map[bool]string{true: "bound", false: "official account not bound"}[bound], func(t *testing.T) {
			e := newEnv(t, func(o *envOptions) { o.noLimits = true; o.wechatMPUnbound = !bound })
			person := e.wx.AddUser("同一个人").ID

			b := e.browser()
			pending, app := wechatLogin(t, b, person, false)
			if app != testWeChatApp || pending.str("qq_user") == "" {
				t.Fatalf("website login = %s (app %s); want a pending identity of the website app", pending.raw, app)
			}
			mobile := newMobile()
			reg := b.do("POST", "/oauth/wechat/info/", map[string]any{"qq_user": pending.str("qq_user"), "nickname": "同一个人",
				"mobile": mobile, "sms_code": b.smsCode(mobile), "password": "a long passphrase"})
			wantStatus(t, "register", reg, 201, "")

			phone := e.browser()
			second, app := wechatLogin(t, phone, person, true)
			if app != testWeChatMP {
				t.Fatalf("inside WeChat the authorize URL named app %s; want the official account %s", app, testWeChatMP)
			}
			users, idents := e.counts()
			if !bound {
				if second.status != 200 || second.str("qq_user") == "" || second.str("token") != "" {
					t.Fatalf("without a unionid = %d %s; want a first-time (pending) identity, never a guess", second.status, second.raw)
				}
				if users != 1 || idents != 1 {
					t.Errorf("%d users, %d identities; want 1 and 1 until the stranger registers", users, idents)
				}
				return
			}
			wantStatus(t, "the same person inside WeChat", second, 200, "")
			if second.str("username") != reg.str("username") {
				t.Fatalf("inside WeChat logged in as %q; want %q", second.str("username"), reg.str("username"))
			}
			me := phone.auth(second.str("token")).do("GET", "/users/me/", nil)
			ids, _ := me.body["identities"].([]any)
			if users != 1 || idents != 2 || len(ids) != 2 {
				t.Fatalf("%d users, %d identities, /users/me/ lists %d; want one account with two WeChat identities", users, idents, len(ids))
			}
			// The third time inside WeChat is an ordinary returning login.
			third, _ := wechatLogin(t, e.browser(), person, true)
			if third.str("username") != reg.str("username") {
				t.Errorf("returning inside WeChat = %s", third.raw)
			}
			// Another person's official-account identity cannot join this account.
			tok := reg.str("token")
			r := b.auth(tok).do("GET", "/oauth/wechat/url/?intent=link&next=/user", nil, "User-Agent", microMessengerUA)
			q := wechatApprove(b, r.str("url"), e.wx.AddUser("别人").ID, microMessengerUA)
			wantStatus(t, "link a second WeChat person", b.auth(tok).do("GET", "/oauth/wechat/info/?code="+url.QueryEscape(q.Get("code"))+"&state="+url.QueryEscape(q.Get("state")), nil),
				409, "account_has_wechat")
		})
	}
}

// TestUnlinkWithoutPassword: an account without a password (made by QQ, or imported from
// the old site) may unlink one provider while another remains, and not the last one.
func TestUnlinkWithoutPassword(t *testing.T) {
	e := newEnv(t, func(o *envOptions) { o.noLimits = true })
	ctx := context.Background()
	u, err := e.db.CreateUser(ctx, storetest.NewUser())
	if err != nil {
		t.Fatal(err)
	}
	weiboUser := e.wb.AddUser("").UID
	for _, id := range []account.Identity{
		{Provider: "qq", AppID: testAppID, OpenID: e.emu.OpenID(testAppID, "10001"), UserID: u.ID},
		{Provider: "weibo", AppID: testWeiboKey, OpenID: weiboUser, UserID: u.ID},
	} {
		if _, err := e.db.BindIdentity(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	b := e.browser()
	login := b.qqLogin("/", "10001")
	if login.str("username") != u.Username {
		t.Fatalf("QQ login = %s", login.raw)
	}
	a := b.auth(login.str("token"))
	wantStatus(t, "unlink Weibo, QQ remains", a.do("DELETE", "/oauth/weibo/", map[string]any{"password": ""}), 204, "")
	wantStatus(t, "unlink QQ, the last way in", a.do("DELETE", "/oauth/qq/", map[string]any{"password": ""}), 409, "last_login_method")
}
