package weiboemu

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

const (
	key      = "4043688639"
	secret   = "s3cret"
	redirect = "http://127.0.0.1:8000/oauth/weibo/callback"
)

func newTest(t *testing.T) (*Server, *httptest.Server, *http.Client) {
	emu := New(Config{Apps: []App{{AppKey: key, AppSecret: secret, Name: "荏苒", RedirectURIs: []string{redirect}}}})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return emu, srv, &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func reader(t *testing.T) func(*http.Response, error) (int, string, http.Header) {
	return func(resp *http.Response, err error) (int, string, http.Header) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
}

// The wire format, by raw HTTP: what a client of the real service must cope with.
func TestWireFormat(t *testing.T) {
	_, srv, hc := newTest(t)
	read := reader(t)
	authorize := srv.URL + "/oauth2/authorize?" + url.Values{"client_id": {key}, "redirect_uri": {redirect}, "state": {"abc"}}.Encode()

	st, body, _ := read(hc.Get(authorize + "&display=mobile"))
	if st != 200 || !strings.Contains(body, "手机版") || !strings.Contains(body, "荏苒微博读者") {
		t.Errorf("mobile authorize page = %d", st)
	}
	st, _, h := read(hc.Get(authorize + "&weiboemu_user=" + DefaultUsers[0].UID))
	loc, _ := url.Parse(h.Get("Location"))
	code := loc.Query().Get("code")
	if st != 302 || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(code) || loc.Query().Get("state") != "abc" {
		t.Fatalf("approve = %d %s", st, loc)
	}
	// The token call: GET refused; POST with the parameters in the query works.
	st, body, _ = read(hc.Get(srv.URL + "/oauth2/access_token?code=" + code))
	if st != 400 || body != `{"error":"HTTP method is not suported for this request","error_code":10021,"request":"/oauth2/access_token"}` {
		t.Errorf("GET access_token = %d %s", st, body)
	}
	q := url.Values{"client_id": {key}, "client_secret": {secret}, "grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}}
	st, body, h = read(hc.Post(srv.URL+"/oauth2/access_token?"+q.Encode(), "", nil))
	tokenRE := regexp.MustCompile(`^\{"access_token":"(2\.00[A-Za-z0-9_]{28})","remind_in":"\d+","expires_in":\d+,"uid":"6672271347","isRealName":"true"\}$`)
	m := tokenRE.FindStringSubmatch(body)
	if st != 200 || m == nil || h.Get("Content-Type") != "text/plain;charset=UTF-8" {
		t.Fatalf("access_token = %d %s (%s)", st, body, h.Get("Content-Type"))
	}
	st, body, _ = read(hc.Post(srv.URL+"/oauth2/access_token?"+q.Encode(), "", nil))
	if st != 400 || !strings.Contains(body, `"error":"invalid_grant","error_code":21325`) || !strings.Contains(body, "invalid authorization code:"+code) {
		t.Errorf("reused code = %d %s", st, body)
	}
	st, body, _ = read(hc.PostForm(srv.URL+"/oauth2/get_token_info", url.Values{"access_token": {m[1]}}))
	if st != 200 || !regexp.MustCompile(`^\{"uid":6672271347,"appkey":4043688639,"scope":null,"create_at":\d+,"expire_in":\d+\}$`).MatchString(body) {
		t.Errorf("get_token_info = %d %s", st, body)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/2/users/show.json?uid=6672271347", nil)
	req.Header.Set("Authorization", "OAuth2 "+m[1])
	st, body, _ = read(hc.Do(req))
	if st != 200 || !strings.HasPrefix(body, `{"id":6672271347,"idstr":"6672271347",`) || !strings.Contains(body, `"avatar_large":"/avatar/6672271347?size=180"`) {
		t.Errorf("users/show = %d %s", st, body)
	}
	st, body, _ = read(hc.Get(srv.URL + "/2/users/show.json?uid=123&access_token=" + m[1]))
	if st != 400 || body != `{"error":"User does not exists!","error_code":20003,"request":"/2/users/show.json"}` {
		t.Errorf("unknown user = %d %s", st, body)
	}
	st, body, _ = read(hc.Get(srv.URL + "/2/users/show.json?uid=6672271347&access_token=2.00nope"))
	if st != 401 || !strings.Contains(body, `"error_code":21332`) {
		t.Errorf("unknown token = %d %s", st, body)
	}
	for name, c := range map[string]url.Values{
		"no secret":      {"client_id": {key}, "grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {redirect}},
		"no redirect":    {"client_id": {key}, "client_secret": {secret}, "grant_type": {"authorization_code"}, "code": {"x"}},
		"bad grant type": {"client_id": {key}, "client_secret": {secret}, "grant_type": {"password"}, "code": {"x"}, "redirect_uri": {redirect}},
		"bad secret":     {"client_id": {key}, "client_secret": {"no"}, "grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {redirect}},
	} {
		st, body, _ := read(hc.PostForm(srv.URL+"/oauth2/access_token", c))
		want := map[string]string{"no secret": "21323", "no redirect": "21323", "bad grant type": "21328", "bad secret": "21324"}[name]
		if st < 400 || !strings.Contains(body, `"error_code":`+want) {
			t.Errorf("%s = %d %s; want %s", name, st, body, want)
		}
	}
}

// TestAuthorizeRefusals: a bad client or redirect gets Weibo's error page, never the site.
func TestAuthorizeRefusals(t *testing.T) {
	_, srv, hc := newTest(t)
	read := reader(t)
	for name, q := range map[string]url.Values{
		"unknown client":    {"client_id": {"1"}, "redirect_uri": {redirect}},
		"other redirect":    {"client_id": {key}, "redirect_uri": {"https://evil.example/cb"}},
		"redirect with /":   {"client_id": {key}, "redirect_uri": {redirect + "/"}},
		"bad response type": {"client_id": {key}, "redirect_uri": {redirect}, "response_type": {"token"}},
	} {
		st, body, h := read(hc.Get(srv.URL + "/oauth2/authorize?" + q.Encode()))
		if st != 400 || h.Get("Location") != "" || !strings.Contains(body, "微博") {
			t.Errorf("%s = %d Location %q", name, st, h.Get("Location"))
		}
	}
	st, _, h := read(hc.PostForm(srv.URL+"/oauth2/cancel", url.Values{"client_id": {key}, "redirect_uri": {redirect}, "state": {"s1"}}))
	if st != 302 || h.Get("Location") != redirect+"?error_uri=%2Foauth2%2Fauthorize&error=access_denied&error_description=user%20denied%20your%20request.&error_code=21330&state=s1" {
		t.Errorf("cancel = %d %s", st, h.Get("Location"))
	}
}
