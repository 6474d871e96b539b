package wechatemu

import (
	"bytes"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

const redirect = "http://127.0.0.1:8000/oauth/wechat/callback"

func newTest(t *testing.T) (*Server, *httptest.Server, func(req *http.Request) (int, string, http.Header)) {
	emu := New(Config{Apps: []App{
		{ID: "wxweb", Secret: "s1", Name: "荏苒", Kind: Website, RedirectURIs: []string{redirect}, OpenPlatform: "op"},
		{ID: "wxmp", Secret: "s2", Name: "荏苒公众号", Kind: MP, RedirectURIs: []string{redirect}, OpenPlatform: "op"},
	}})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(req *http.Request) (int, string, http.Header) {
		t.Helper()
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	return emu, srv, do
}

func get(u string, ua ...string) *http.Request {
	r, _ := http.NewRequest("GET", u, nil)
	if len(ua) > 0 {
		r.Header.Set("User-Agent", ua[0])
	}
	return r
}

const wxUA = "Mozilla/5.0 (Linux; Android 14) Mobile MicroMessenger/8.0.47"

// The wire format, by raw HTTP.
func TestWireFormat(t *testing.T) {
	emu, srv, do := newTest(t)
	q := "appid=wxweb&redirect_uri=" + url.QueryEscape(redirect) + "&response_type=code&scope=snsapi_login&state=abc"
	st, body, _ := do(get(srv.URL + "/connect/qrconnect?" + q))
	m := regexp.MustCompile(`src="\.\./connect/qrcode/([A-Za-z0-9]+)"`).FindStringSubmatch(body)
	if st != 200 || m == nil || !strings.Contains(body, "荏苒微信读者") {
		t.Fatalf("QR page = %d", st)
	}
	st, img, h := do(get(srv.URL + "/connect/qrcode/" + m[1]))
	if _, err := png.Decode(bytes.NewReader([]byte(img))); st != 200 || h.Get("Content-Type") != "image/png" || err != nil {
		t.Errorf("QR code = %d %s %v", st, h.Get("Content-Type"), err)
	}
	st, _, h = do(get(srv.URL + "/connect/qrconnect?" + q + "&wechatemu_user=wx1"))
	loc, _ := url.Parse(h.Get("Location"))
	code := loc.Query().Get("code")
	if st != 302 || !regexp.MustCompile(`^[A-Za-z0-9]{32}$`).MatchString(code) || loc.Query().Get("state") != "abc" {
		t.Fatalf("approve = %d %s", st, loc)
	}
	tokenURL := srv.URL + "/sns/oauth2/access_token?appid=wxweb&secret=s1&grant_type=authorization_code&code=" + code
	st, body, h = do(get(tokenURL))
	re := regexp.MustCompile(`^\{"access_token":"(86_\w+)","expires_in":7200,"refresh_token":"86_\w+","openid":"(o[\w-]{27})","scope":"snsapi_login","unionid":"(o[\w-]{27})"\}$`)
	tm := re.FindStringSubmatch(body)
	if st != 200 || tm == nil || h.Get("Content-Type") != "text/plain" {
		t.Fatalf("access_token = %d %s (%s)", st, body, h.Get("Content-Type"))
	}
	st, body, _ = do(get(tokenURL))
	if st != 200 || !regexp.MustCompile(`^\{"errcode":40163,"errmsg":"code been used, rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}"\}$`).MatchString(body) {
		t.Errorf("reused code = %d %s", st, body)
	}
	st, body, _ = do(get(srv.URL + "/sns/userinfo?access_token=" + tm[1] + "&openid=" + tm[2] + "&lang=zh_CN"))
	if st != 200 || !strings.HasPrefix(body, `{"openid":"`+tm[2]+`","nickname":"荏苒微信读者","sex":0,"language":"","city":"","province":"","country":"","headimgurl":"\/avatar\/wx1\/132","privilege":[],"unionid":"`+tm[3]+`"}`) {
		t.Errorf("userinfo = %d %s", st, body)
	}
	st, body, _ = do(get(srv.URL + "/sns/auth?access_token=" + tm[1] + "&openid=" + tm[2]))
	if body != `{"errcode":0,"errmsg":"ok"}` {
		t.Errorf("sns/auth = %d %s", st, body)
	}
	st, body, _ = do(get(srv.URL + "/sns/userinfo?access_token=" + tm[1] + "&openid=" + emu.OpenID("wxweb", "wx2")))
	if !strings.HasPrefix(body, `{"errcode":40003,`) {
		t.Errorf("userinfo for another openid = %s", body)
	}
	for name, c := range map[string]struct{ q, want string }{
		"no appid":     {"secret=s1&grant_type=authorization_code&code=x", "41002"},
		"bad appid":    {"appid=wxno&secret=s1&grant_type=authorization_code&code=x", "40013"},
		"no secret":    {"appid=wxweb&grant_type=authorization_code&code=x", "41004"},
		"bad secret":   {"appid=wxweb&secret=no&grant_type=authorization_code&code=x", "40125"},
		"bad grant":    {"appid=wxweb&secret=s1&grant_type=password&code=x", "40002"},
		"no code":      {"appid=wxweb&secret=s1&grant_type=authorization_code", "41008"},
		"unknown code": {"appid=wxweb&secret=s1&grant_type=authorization_code&code=nope", "40029"},
	} {
		st, body, _ := do(get(srv.URL + "/sns/oauth2/access_token?" + c.q))
		if st != 200 || !strings.HasPrefix(body, `{"errcode":`+c.want+`,`) {
			t.Errorf("%s = %d %s; want errcode %s with HTTP 200", name, st, body, c.want)
		}
	}
}

// TestAuthorizePages: WeChat's error pages, never a redirect; the official account only
// inside WeChat; deny calls back with the state and no code.
func TestAuthorizePages(t *testing.T) {
	_, srv, do := newTest(t)
	ok := url.Values{"appid": {"wxweb"}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"snsapi_login"}, "state": {"s"}}
	for name, c := range map[string]struct {
		path, key, value, want string
	}{
		"unknown app":            {"qrconnect", "appid", "wxnone", "AppID 参数错误"},
		"official account on QR": {"qrconnect", "appid", "wxmp", "Scope 参数错误或没有 Scope 权限"},
		"other redirect":         {"qrconnect", "redirect_uri", "https://evil.example/cb", "redirect_uri 参数错误"},
		"wrong scope":            {"qrconnect", "scope", "snsapi_userinfo", "Scope 参数错误或没有 Scope 权限"},
		"website app in WeChat":  {"oauth2/authorize", "scope", "snsapi_userinfo", "10016"},
	} {
		q := url.Values{}
		for k, v := range ok {
			q[k] = v
		}
		q.Set(c.key, c.value)
		st, body, h := do(get(srv.URL+"/connect/"+c.path+"?"+q.Encode(), wxUA))
		if st != 200 || h.Get("Location") != "" || !strings.Contains(body, c.want) {
			t.Errorf("%s = %d Location %q; want WeChat's page saying %q", name, st, h.Get("Location"), c.want)
		}
	}
	mp := url.Values{"appid": {"wxmp"}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"snsapi_userinfo"}, "state": {"s"}}
	if _, body, _ := do(get(srv.URL + "/connect/oauth2/authorize?" + mp.Encode())); !strings.Contains(body, "请在微信客户端打开链接") {
		t.Error("the official account's page opened outside WeChat")
	}
	if st, body, _ := do(get(srv.URL+"/connect/oauth2/authorize?"+mp.Encode(), wxUA)); st != 200 || !strings.Contains(body, "荏苒公众号") {
		t.Errorf("the official account's page in WeChat = %d", st)
	}
	mp.Set("state", "not-only_alnum")
	if _, body, _ := do(get(srv.URL+"/connect/oauth2/authorize?"+mp.Encode(), wxUA)); !strings.Contains(body, "state 参数错误") {
		t.Error("the official account took a state that is not letters and digits")
	}
	req, _ := http.NewRequest("POST", srv.URL+"/connect/deny", strings.NewReader(ok.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if st, _, h := do(req); st != 302 || h.Get("Location") != redirect+"?state=s" {
		t.Errorf("deny = %d %q", st, h.Get("Location"))
	}
}
