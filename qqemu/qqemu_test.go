package qqemu_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/renran/accounts/qqemu"
	"github.com/renran/accounts/qqemu/qqemutest"
)

const (
	appID    = "101000001"
	appKey   = "key"
	redirect = "http://site.example/oauth/qq/callback"
)

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func start(t *testing.T) (*qqemutest.Emulator, *clock) {
	clk := &clock{t: time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)}
	emu := qqemutest.Start(t, qqemu.Config{
		Apps: []qqemu.App{{AppID: appID, AppKey: appKey, Name: "测试站", RedirectURIs: []string{redirect, "http://site.example/cb?x=1"}}},
		Now:  clk.now,
	})
	return emu, clk
}

func get(t *testing.T, rawURL string) (*http.Response, string) {
	t.Helper()
	resp, err := noFollow.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func authorizeURL(emu *qqemutest.Emulator, v url.Values) string {
	return emu.URL + "/oauth2.0/authorize?" + v.Encode()
}

func TestAuthorizeErrorsStayOnQQ(t *testing.T) {
	emu, _ := start(t)
	tests := []struct {
		name     string
		params   url.Values
		wantCode string
		wantText string
	}{
		{"no client_id", url.Values{"response_type": {"code"}, "redirect_uri": {redirect}, "state": {"s"}}, "100001", "param client_id is wrong or lost (100001)"},
		{"unknown app", url.Values{"response_type": {"code"}, "client_id": {"999"}, "redirect_uri": {redirect}, "state": {"s"}}, "100008", "100008"},
		{"trailing slash on redirect_uri", url.Values{"response_type": {"code"}, "client_id": {appID}, "redirect_uri": {redirect + "/"}, "state": {"s"}}, "100010", "redirect uri is illegal(100010)"},
		{"other host", url.Values{"response_type": {"code"}, "client_id": {appID}, "redirect_uri": {"http://evil.example/oauth/qq/callback"}, "state": {"s"}}, "100010", "redirect uri is illegal(100010)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := get(t, authorizeURL(emu, tt.params))
			loc := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "show?which=error&") || !strings.Contains(loc, "error="+tt.wantCode) {
				t.Fatalf("authorize = %d Location %q; want 302 to QQ's error page with %s", resp.StatusCode, loc, tt.wantCode)
			}
			_, page := get(t, emu.URL+"/oauth2.0/"+loc)
			if !strings.Contains(page, tt.wantText) {
				t.Errorf("error page does not say %q", tt.wantText)
			}
			if strings.Contains(page, `href="http://site.example`) || strings.Contains(page, `href="http://evil.example`) {
				t.Error("QQ's error page links back to the site: it must never call the site on errors")
			}
		})
	}
}

var codeRE = regexp.MustCompile(`^[0-9A-F]{32}$`)

func TestLoginPageApproveAndCancel(t *testing.T) {
	emu, _ := start(t)
	v := url.Values{"response_type": {"code"}, "client_id": {appID}, "redirect_uri": {redirect}, "state": {"a+b c"}, "display": {"mobile"}}
	resp, _ := get(t, authorizeURL(emu, v))
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "show?") || !strings.Contains(loc, "which=Login") || !strings.Contains(loc, "display=mobile") {
		t.Fatalf("authorize Location = %q, want the mobile login page", loc)
	}
	_, page := get(t, emu.URL+"/oauth2.0/"+loc)
	for _, want := range []string{"测试站", "林枫", "小荏", "新 QQ 用户", "取消", `class="mobile"`} {
		if !strings.Contains(page, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	form := url.Values{"client_id": {appID}, "redirect_uri": {redirect}, "state": {"a+b c"}, "scope": {"get_user_info"}, "uin": {"10002"}}
	resp, err := noFollow.PostForm(emu.URL+"/oauth2.0/approve", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || cb.Host != "site.example" || !codeRE.MatchString(cb.Query().Get("code")) || cb.Query().Get("state") != "a+b c" {
		t.Fatalf("approve = %d %s; want 302 to the site with a 32-hex code and the state verbatim", resp.StatusCode, cb)
	}
	if !strings.HasPrefix(cb.RawQuery, "code=") {
		t.Errorf("callback query %q: code must come first", cb.RawQuery)
	}

	// A redirect_uri with a query gets code and state appended with &.
	form.Set("redirect_uri", "http://site.example/cb?x=1")
	resp, _ = noFollow.PostForm(emu.URL+"/oauth2.0/approve", form)
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "http://site.example/cb?x=1&code=") {
		t.Errorf("approve with a query in redirect_uri: Location %q", loc)
	}

	// A new QQ user.
	form.Set("redirect_uri", redirect)
	form.Del("uin")
	form.Set("new", "1")
	form.Set("nickname", "新来的")
	resp, _ = noFollow.PostForm(emu.URL+"/oauth2.0/approve", form)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || len(emu.Users()) != len(qqemu.DefaultUsers)+1 {
		t.Errorf("new user approve = %d, users %d", resp.StatusCode, len(emu.Users()))
	}

	// Cancel never calls the site back.
	resp, page = get(t, emu.URL+"/oauth2.0/cancel")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" || !strings.Contains(page, "已取消") {
		t.Errorf("cancel = %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func tokenCall(t *testing.T, emu *qqemutest.Emulator, method string, v url.Values) (string, string) {
	t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = http.PostForm(emu.URL+"/oauth2.0/token", v)
	} else {
		resp, err = http.Get(emu.URL + "/oauth2.0/token?" + v.Encode())
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token status = %d, want 200 even for errors", resp.StatusCode)
	}
	return string(b), resp.Header.Get("Content-Type")
}

func TestTokenChecksInQQsOrder(t *testing.T) {
	emu, _ := start(t)
	good := func() url.Values {
		c, _ := emu.IssueCode(appID, redirect, "10001")
		return url.Values{"grant_type": {"authorization_code"}, "client_id": {appID}, "client_secret": {appKey}, "code": {c}, "redirect_uri": {redirect}}
	}
	tests := []struct {
		name   string
		mutate func(v url.Values)
		want   string
	}{
		{"grant_type", func(v url.Values) { v.Set("grant_type", "password"); v.Del("client_id") }, `"error":100004`},
		{"client_id", func(v url.Values) { v.Del("client_id"); v.Del("client_secret") }, `"error":100001,"error_description":"param client_id is wrong or lost "`},
		{"unknown appid", func(v url.Values) { v.Set("client_id", "1"); v.Del("code") }, `"error":100008`},
		{"client_secret", func(v url.Values) { v.Set("client_secret", "x"); v.Del("code") }, `"error":100009`},
		{"code missing", func(v url.Values) { v.Del("code"); v.Del("redirect_uri") }, `"error":100005`},
		{"code unknown", func(v url.Values) { v.Set("code", "ABC"); v.Del("redirect_uri") }, `"error":100019,"error_description":"code to access token error"`},
		{"redirect_uri", func(v url.Values) { v.Set("redirect_uri", redirect+"/") }, `"error":100010`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := good()
			tt.mutate(v)
			body, ct := tokenCall(t, emu, http.MethodGet, v)
			if !strings.HasPrefix(body, "callback( {") || !strings.HasSuffix(body, "} );\n") || !strings.Contains(body, tt.want) {
				t.Errorf("token body = %q, want a JSONP error with %s", body, tt.want)
			}
			if !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type = %q, want text/html", ct)
			}
		})
	}
}

func TestTokenFormatsAndSingleUse(t *testing.T) {
	emu, clk := start(t)
	c, _ := emu.IssueCode(appID, redirect, "10001")
	v := url.Values{"grant_type": {"authorization_code"}, "client_id": {appID}, "client_secret": {appKey}, "code": {c}, "redirect_uri": {redirect}}
	body, _ := tokenCall(t, emu, http.MethodPost, v)
	if !regexp.MustCompile(`^access_token=[0-9A-F]{32}&expires_in=7776000&refresh_token=[0-9A-F]{32}$`).MatchString(body) {
		t.Errorf("default token body = %q", body)
	}
	body, _ = tokenCall(t, emu, http.MethodGet, v)
	if body != "callback( {\"error\":100020,\"error_description\":\"code is reused error\"} );\n" {
		t.Errorf("reused code body = %q", body)
	}

	c, _ = emu.IssueCode(appID, redirect, "10002")
	v.Set("code", c)
	v.Set("fmt", "json")
	v.Set("need_openid", "1")
	body, _ = tokenCall(t, emu, http.MethodGet, v)
	want := regexp.MustCompile(`^\{"access_token":"[0-9A-F]{32}","expires_in":"7776000","refresh_token":"([0-9A-F]{32})","openid":"` + emu.OpenID(appID, "10002") + `"\}$`)
	m := want.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("fmt=json&need_openid=1 body = %q", body)
	}

	// Refresh: a new pair, and the old refresh token is dead.
	rv := url.Values{"grant_type": {"refresh_token"}, "client_id": {appID}, "client_secret": {appKey}, "refresh_token": {m[1]}, "fmt": {"json"}}
	if body, _ = tokenCall(t, emu, http.MethodGet, rv); !strings.Contains(body, `"access_token":"`) {
		t.Errorf("refresh = %q", body)
	}
	if body, _ = tokenCall(t, emu, http.MethodGet, rv); !strings.HasPrefix(body, `{"error":`) {
		t.Errorf("second use of a refresh token = %q, want an error", body)
	}

	// Codes expire after ten minutes.
	c, _ = emu.IssueCode(appID, redirect, "10001")
	clk.add(qqemu.CodeTTL + time.Second)
	v.Set("code", c)
	if body, _ = tokenCall(t, emu, http.MethodGet, v); body != `{"error":100019,"error_description":"code to access token error"}` {
		t.Errorf("expired code with fmt=json = %q", body)
	}
}

func TestMeAndUserInfo(t *testing.T) {
	emu, _ := start(t)
	c, _ := emu.IssueCode(appID, redirect, "10001")
	body, _ := tokenCall(t, emu, http.MethodGet, url.Values{"grant_type": {"authorization_code"}, "client_id": {appID}, "client_secret": {appKey}, "code": {c}, "redirect_uri": {redirect}})
	q, _ := url.ParseQuery(body)
	at := q.Get("access_token")
	openid := emu.OpenID(appID, "10001")

	_, me := get(t, emu.URL+"/oauth2.0/me?access_token="+at)
	if me != `callback( {"client_id":"`+appID+`","openid":"`+openid+`"} );`+"\n" {
		t.Errorf("me = %q", me)
	}
	_, me = get(t, emu.URL+"/oauth2.0/me?fmt=json&unionid=1&access_token="+at)
	if me != `{"error":100048,"error_description":"CompanyID not set"}` {
		t.Errorf("me with unionid=1 and no permission = %q", me)
	}
	_, me = get(t, emu.URL+"/oauth2.0/me?access_token=NOPE")
	if !strings.Contains(me, "100016") {
		t.Errorf("me with a bad token = %q, want 100016", me)
	}

	_, info := get(t, emu.URL+"/user/get_user_info?access_token="+at+"&oauth_consumer_key="+appID+"&openid="+openid)
	for _, want := range []string{`"ret":0`, `"is_lost":0`, `"gender_type":2`, `"year":"1990"`, `"nickname":"林枫"`, `"figureurl_qq_2":"http:\/\/`, `"vip":"0"`} {
		if !strings.Contains(info, want) {
			t.Errorf("get_user_info lacks %s: %s", want, info)
		}
	}
	_, info = get(t, emu.URL+"/user/get_user_info?access_token="+at+"&oauth_consumer_key="+appID+"&openid=OTHER")
	if info != `{"msg":"client request's parameters are invalid, invalid openid","ret":-1}` {
		t.Errorf("get_user_info with a wrong openid = %s", info)
	}
	_, info = get(t, emu.URL+"/user/get_user_info?access_token=NOPE&oauth_consumer_key="+appID+"&openid="+openid)
	if !strings.Contains(info, `"ret":1002`) {
		t.Errorf("get_user_info with a bad token = %s", info)
	}
	// A POST's query string is ignored, as QQ does.
	resp, err := http.Post(emu.URL+"/user/get_user_info?access_token="+at+"&oauth_consumer_key="+appID+"&openid="+openid, "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"ret":1002`) {
		t.Errorf("POST get_user_info with params in the query = %s, want ret 1002", b)
	}
}

func TestOpenIDsAreDeterministicPerApp(t *testing.T) {
	a := qqemu.New(qqemu.Config{Apps: []qqemu.App{{AppID: "1"}, {AppID: "2"}}})
	b := qqemu.New(qqemu.Config{Apps: []qqemu.App{{AppID: "1"}, {AppID: "2"}}})
	if a.OpenID("1", "10001") != b.OpenID("1", "10001") {
		t.Error("openid differs between runs")
	}
	if a.OpenID("1", "10001") == a.OpenID("2", "10001") {
		t.Error("openid is the same in two apps")
	}
	if a.UnionID("1", "10001") != a.UnionID("2", "10001") || !regexp.MustCompile(`^UID_[0-9A-F]{32}$`).MatchString(a.UnionID("1", "10001")) {
		t.Errorf("unionid %q vs %q", a.UnionID("1", "10001"), a.UnionID("2", "10001"))
	}
}

func TestSettingsEndpoint(t *testing.T) {
	emu, _ := start(t)
	req, _ := http.NewRequest(http.MethodPut, emu.URL+"/_qqemu/settings", strings.NewReader(`{"latency_ms":5,"expires_in":5184000,"faults":[{"endpoint":"me","kind":"http500","times":1}]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"latency_ms":5`) || !strings.Contains(string(b), `"kind":"http500"`) {
		t.Fatalf("PUT settings = %d %s", resp.StatusCode, b)
	}
	r, _ := get(t, emu.URL+"/oauth2.0/me?access_token=x")
	if r.StatusCode != http.StatusInternalServerError {
		t.Errorf("me after injecting http500 = %d", r.StatusCode)
	}
	if r, _ = get(t, emu.URL+"/oauth2.0/me?access_token=x"); r.StatusCode != 200 {
		t.Errorf("me after the fault's one time = %d", r.StatusCode)
	}
}

// TestUnreviewedApp: an app QQ has not approved admits only its developers' QQ users;
// others end on QQ's error page with 100011, and the site is never called.
func TestUnreviewedApp(t *testing.T) {
	emu := qqemutest.Start(t, qqemu.Config{Apps: []qqemu.App{{AppID: appID, AppKey: appKey, RedirectURIs: []string{redirect}, Unreviewed: true, Developers: []string{"10001"}}}})
	form := url.Values{"client_id": {appID}, "redirect_uri": {redirect}, "state": {"s"}, "uin": {"10002"}}
	resp, err := noFollow.PostForm(emu.URL+"/oauth2.0/approve", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "show?") || !strings.Contains(loc, "error=100011") {
		t.Errorf("a non-developer approving an unreviewed app: Location %q, want QQ's 100011 page", loc)
	}
	form.Set("uin", "10001")
	resp, _ = noFollow.PostForm(emu.URL+"/oauth2.0/approve", form)
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, redirect+"?code=") {
		t.Errorf("the developer approving: Location %q, want the site with a code", loc)
	}
}

func TestIsLostAndCancelLink(t *testing.T) {
	emu := qqemutest.Start(t, qqemu.Config{
		Apps:  []qqemu.App{{AppID: appID, AppKey: appKey, RedirectURIs: []string{redirect}}},
		Users: []qqemu.User{{UIN: "1", Nickname: "残缺", IsLost: true}},
	})
	c, _ := emu.IssueCode(appID, redirect, "1")
	body, _ := tokenCall(t, emu, http.MethodGet, url.Values{"grant_type": {"authorization_code"}, "client_id": {appID}, "client_secret": {appKey}, "code": {c}, "redirect_uri": {redirect}})
	q, _ := url.ParseQuery(body)
	_, info := get(t, emu.URL+"/user/get_user_info?access_token="+q.Get("access_token")+"&oauth_consumer_key="+appID+"&openid="+emu.OpenID(appID, "1"))
	if !strings.Contains(info, `"is_lost":1`) {
		t.Errorf("get_user_info for a user with lost data = %s", info)
	}
	_, page := get(t, emu.URL+"/oauth2.0/cancel?client_id="+appID+"&redirect_uri="+url.QueryEscape(redirect))
	if !strings.Contains(page, `href="http://site.example/"`) || strings.Contains(page, "code=") {
		t.Errorf("cancel page should link to the site's home, without a code: %s", page)
	}
	_, page = get(t, emu.URL+"/oauth2.0/cancel?client_id="+appID+"&redirect_uri="+url.QueryEscape("http://evil.example/"))
	if strings.Contains(page, "evil.example") {
		t.Error("cancel page links to an unregistered redirect URI")
	}
}

// TestNewUsersAreNewAcrossRuns: two emulators with separate state (two runs of the
// program against one database) never give their new users the same QQ number or openid;
// the default users keep theirs.
func TestNewUsersAreNewAcrossRuns(t *testing.T) {
	cfg := qqemu.Config{Apps: []qqemu.App{{AppID: appID, AppKey: appKey, RedirectURIs: []string{redirect}}}}
	a, b := qqemu.New(cfg), qqemu.New(cfg)
	seen := map[string]bool{}
	for _, s := range []*qqemu.Server{a, b} {
		for range 3 {
			u := s.AddUser("")
			id := s.OpenID(appID, u.UIN)
			if seen[id] {
				t.Fatalf("new user %s has an openid an earlier run gave a new user", u.UIN)
			}
			seen[id] = true
		}
	}
	if a.OpenID(appID, "10001") != b.OpenID(appID, "10001") {
		t.Error("test user 10001 has another openid in another run")
	}
}

// A user logging in again and again keeps the newest 16 tokens of an app; the oldest is
// revoked, so a long load test does not grow the emulator without bound.
func TestTokensPerUserAreBounded(t *testing.T) {
	emu, _ := start(t)
	var tokens []string
	for range 17 {
		c, _ := emu.IssueCode(appID, redirect, "10001")
		body, _ := tokenCall(t, emu, http.MethodGet, url.Values{"grant_type": {"authorization_code"}, "client_id": {appID},
			"client_secret": {appKey}, "code": {c}, "redirect_uri": {redirect}})
		q, _ := url.ParseQuery(body)
		tokens = append(tokens, q.Get("access_token"))
	}
	if _, me := get(t, emu.URL+"/oauth2.0/me?fmt=json&access_token="+tokens[0]); !strings.Contains(me, "100013") {
		t.Errorf("me with the oldest of 17 tokens = %q, want 100013 (no longer known)", me)
	}
	for _, at := range tokens[1:] {
		if _, me := get(t, emu.URL+"/oauth2.0/me?fmt=json&access_token="+at); !strings.Contains(me, `"openid"`) {
			t.Errorf("me with one of the newest 16 tokens = %q", me)
		}
	}
	// Another user's tokens are theirs: 10002's first one still works.
	c, _ := emu.IssueCode(appID, redirect, "10002")
	body, _ := tokenCall(t, emu, http.MethodGet, url.Values{"grant_type": {"authorization_code"}, "client_id": {appID},
		"client_secret": {appKey}, "code": {c}, "redirect_uri": {redirect}})
	q, _ := url.ParseQuery(body)
	if _, me := get(t, emu.URL+"/oauth2.0/me?fmt=json&access_token="+q.Get("access_token")); !strings.Contains(me, `"openid"`) {
		t.Errorf("another user's token = %q", me)
	}
}
