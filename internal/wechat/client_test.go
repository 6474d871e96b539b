package wechat_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/renran/accounts/internal/wechat"
	"github.com/renran/accounts/wechatemu"
)

const redirect = "http://127.0.0.1:8000/oauth/wechat/callback"

var (
	web = wechatemu.App{ID: "wx0000000000000001", Secret: "web-secret", Name: "荏苒", Kind: wechatemu.Website, RedirectURIs: []string{redirect}, OpenPlatform: "op1"}
	mp  = wechatemu.App{ID: "wx0000000000000002", Secret: "mp-secret", Name: "荏苒公众号", Kind: wechatemu.MP, RedirectURIs: []string{redirect}, OpenPlatform: "op1"}
)

func setup(t *testing.T, apps ...wechatemu.App) (*wechat.Client, *wechatemu.Server) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	emu := wechatemu.New(wechatemu.Config{Apps: apps, PublicURL: "http://" + srv.Listener.Addr().String()})
	srv.Config.Handler = emu
	srv.Start()
	t.Cleanup(srv.Close)
	c := wechat.New(wechat.Config{OpenURL: srv.URL, APIURL: srv.URL, Web: wechat.App{ID: web.ID, Secret: web.Secret},
		MP: wechat.App{ID: mp.ID, Secret: mp.Secret}, RedirectURL: redirect, Timeout: time.Second}, nil)
	return c, emu
}

// approve follows the authorize URL as the emulator's user (inWeChat: with WeChat's user
// agent) and returns the code.
func approve(t *testing.T, u, user string, inWeChat bool) string {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base, _, _ := strings.Cut(u, "#")
	req, _ := http.NewRequest("GET", base+"&wechatemu_user="+user, nil)
	if inWeChat {
		req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI")
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("state") != "st" || loc.Query().Get("code") == "" {
		t.Fatalf("authorize = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

func TestWebsiteAndOfficialAccount(t *testing.T) {
	c, emu := setup(t, web, mp)
	ctx := context.Background()
	u, app := c.AuthorizeURL("st", false)
	if app != web.ID || !strings.Contains(u, "/connect/qrconnect?appid="+web.ID) || !strings.Contains(u, "scope=snsapi_login") || !strings.HasSuffix(u, "&state=st#wechat_redirect") {
		t.Fatalf("website authorize URL = %s (%s)", u, app)
	}
	tok, err := c.Exchange(ctx, app, approve(t, u, "wx1", false))
	if err != nil || tok.OpenID != emu.OpenID(web.ID, "wx1") || tok.UnionID == "" || tok.ExpiresIn != 7200 {
		t.Fatalf("website Exchange = %+v, %v", tok, err)
	}
	info, err := c.UserInfo(ctx, tok.AccessToken, tok.OpenID)
	if err != nil || info.Nickname != "荏苒微信读者" || info.UnionID != tok.UnionID || !strings.HasSuffix(info.Avatar, "/avatar/wx1/132") {
		t.Fatalf("UserInfo = %+v, %v", info, err)
	}
	if err := c.Auth(ctx, tok.AccessToken, tok.OpenID); err != nil {
		t.Errorf("Auth = %v", err)
	}

	// Inside WeChat: the official account, another openid, the same unionid.
	u, app = c.AuthorizeURL("st", true)
	if app != mp.ID || !strings.Contains(u, "/connect/oauth2/authorize?appid="+mp.ID) || !strings.Contains(u, "scope=snsapi_userinfo") {
		t.Fatalf("in-WeChat authorize URL = %s (%s)", u, app)
	}
	mtok, err := c.Exchange(ctx, app, approve(t, u, "wx1", true))
	if err != nil || mtok.OpenID == tok.OpenID || mtok.UnionID != tok.UnionID {
		t.Fatalf("official account Exchange = %+v, %v; want another openid, the same unionid", mtok, err)
	}
	// Refresh renews the token in place: the same access and refresh tokens come back.
	r, err := c.Refresh(ctx, app, mtok.RefreshToken)
	if err != nil || r.AccessToken != mtok.AccessToken || r.RefreshToken != mtok.RefreshToken {
		t.Errorf("Refresh = %+v, %v; want the same tokens renewed", r, err)
	}
}

func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	var we *wechat.Error
	c, emu := setup(t, web, mp)
	u, app := c.AuthorizeURL("st", false)
	code := approve(t, u, "wx2", false)
	tok, err := c.Exchange(ctx, app, code)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exchange(ctx, app, code); !errors.As(err, &we) || we.Code != 40163 {
		t.Errorf("second exchange: %v; want 40163", err)
	}
	// A code of the website app exchanged as the official account's: 40029.
	code = approve(t, u, "wx2", false)
	if _, err := c.Exchange(ctx, mp.ID, code); !errors.As(err, &we) || we.Code != 40029 {
		t.Errorf("code of another app: %v; want 40029", err)
	}
	// A new login revokes the older token of that app.
	if _, err := c.UserInfo(ctx, tok.AccessToken, tok.OpenID); err != nil {
		t.Fatalf("token before a new login: %v", err)
	}
	if _, err := c.Exchange(ctx, app, approve(t, u, "wx2", false)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UserInfo(ctx, tok.AccessToken, tok.OpenID); !errors.As(err, &we) || we.Code != 40001 {
		t.Errorf("token after a newer login: %v; want 40001", err)
	}
	if _, err := c.Exchange(ctx, "wxunknown", "x"); !errors.Is(err, wechat.ErrUnknownApp) {
		t.Errorf("unknown app: %v", err)
	}
	for kind, want := range map[string]error{"http500": wechat.ErrUnavailable, "garbage": wechat.ErrUnavailable, "empty": wechat.ErrUnavailable, "timeout": wechat.ErrTimeout} {
		code := approve(t, u, "wx3", false)
		emu.InjectFault(wechatemu.Fault{Endpoint: "token", Kind: kind, Times: 1})
		if _, err := c.Exchange(ctx, app, code); !errors.Is(err, want) {
			t.Errorf("%s: %v; want %v", kind, err, want)
		}
		if _, err := c.Exchange(ctx, app, code); !errors.As(err, &we) || we.Code != 40163 {
			t.Errorf("%s: the retry got %v; want 40163 (the failed call burnt the code)", kind, err)
		}
	}
	bad := wechat.New(wechat.Config{OpenURL: "http://x", APIURL: strings.TrimSuffix(u[:strings.Index(u, "/connect/")], "/"), Web: wechat.App{ID: web.ID, Secret: "wrong"}, RedirectURL: redirect}, nil)
	if _, err := bad.Exchange(ctx, web.ID, approve(t, u, "wx3", false)); !errors.As(err, &we) || we.Code != 40125 {
		t.Errorf("wrong secret: %v; want 40125", err)
	}
}

// TestNoUnionIDWithoutOpenPlatform: an official account not bound to the open platform
// gives no unionid; its openid is not the website app's.
func TestNoUnionIDWithoutOpenPlatform(t *testing.T) {
	unbound := mp
	unbound.OpenPlatform = ""
	c, _ := setup(t, web, unbound)
	u, app := c.AuthorizeURL("st", true)
	tok, err := c.Exchange(context.Background(), app, approve(t, u, "wx1", true))
	if err != nil || tok.UnionID != "" {
		t.Fatalf("Exchange = %+v, %v; want no unionid", tok, err)
	}
}
