package weibo_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/renran/accounts/internal/weibo"
	"github.com/renran/accounts/weiboemu"
)

const (
	appKey   = "4043688639"
	secret   = "weibo-test-secret"
	redirect = "http://127.0.0.1:8000/oauth/weibo/callback"
)

func setup(t *testing.T) (*weibo.Client, *weiboemu.Server, *httptest.Server) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	emu := weiboemu.New(weiboemu.Config{Apps: []weiboemu.App{{AppKey: appKey, AppSecret: secret, Name: "荏苒", RedirectURIs: []string{redirect}}},
		PublicURL: "http://" + srv.Listener.Addr().String()})
	srv.Config.Handler = emu
	srv.Start()
	t.Cleanup(srv.Close)
	c := weibo.New(weibo.Config{BaseURL: srv.URL, AppKey: appKey, AppSecret: secret, RedirectURL: redirect, Timeout: time.Second}, nil)
	return c, emu, srv
}

// approve sends the browser's part: the authorize URL, approved as uid; returns the code.
func approve(t *testing.T, c *weibo.Client, uid string) string {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(c.AuthorizeURL("st-1", false) + "&weiboemu_user=" + uid)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("state") != "st-1" || !strings.HasPrefix(loc.String(), redirect+"?") {
		t.Fatalf("authorize = %d %s", resp.StatusCode, loc)
	}
	return loc.Query().Get("code")
}

func TestLoginAgainstTheEmulator(t *testing.T) {
	c, _, _ := setup(t)
	ctx := context.Background()
	uid := weiboemu.DefaultUsers[0].UID
	tok, err := c.Exchange(ctx, approve(t, c, uid))
	if err != nil || tok.UID != uid || !strings.HasPrefix(tok.AccessToken, "2.00") || tok.ExpiresIn < 157679990 {
		t.Fatalf("Exchange = %+v, %v", tok, err)
	}
	info, err := c.TokenInfo(ctx, tok.AccessToken)
	if err != nil || info.UID != uid || info.AppKey != appKey {
		t.Fatalf("TokenInfo = %+v, %v", info, err)
	}
	u, err := c.UserShow(ctx, tok.AccessToken, uid)
	if err != nil || u.ID != uid || u.ScreenName != weiboemu.DefaultUsers[0].ScreenName || !strings.Contains(u.Avatar, "/avatar/"+uid) {
		t.Fatalf("UserShow = %+v, %v", u, err)
	}
	// A returning user gets the same token again.
	again, err := c.Exchange(ctx, approve(t, c, uid))
	if err != nil || again.AccessToken != tok.AccessToken {
		t.Errorf("second login's token = %+v, %v; want the same token", again, err)
	}
}

func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	var we *weibo.Error
	t.Run("code used twice", func(t *testing.T) {
		c, _, _ := setup(t)
		code := approve(t, c, weiboemu.DefaultUsers[1].UID)
		if _, err := c.Exchange(ctx, code); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exchange(ctx, code); !errors.As(err, &we) || we.Code != 21325 || we.Status != 400 {
			t.Fatalf("second exchange: %v; want 21325 with 400", err)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		c, _, srv := setup(t)
		code := approve(t, c, weiboemu.DefaultUsers[1].UID)
		bad := weibo.New(weibo.Config{BaseURL: srv.URL, AppKey: appKey, AppSecret: "nope", RedirectURL: redirect}, nil)
		if _, err := bad.Exchange(ctx, code); !errors.As(err, &we) || we.Code != 21324 || we.Status != 401 {
			t.Fatalf("err = %v; want 21324 with 401", err)
		}
	})
	t.Run("redirect differs at the token call", func(t *testing.T) {
		c, _, srv := setup(t)
		code := approve(t, c, weiboemu.DefaultUsers[1].UID)
		other := weibo.New(weibo.Config{BaseURL: srv.URL, AppKey: appKey, AppSecret: secret, RedirectURL: redirect + "/"}, nil)
		if _, err := other.Exchange(ctx, code); !errors.As(err, &we) || we.Code != 21325 {
			t.Fatalf("err = %v; want 21325", err)
		}
	})
	for _, f := range []struct {
		kind string
		want error
	}{{"http500", weibo.ErrUnavailable}, {"garbage", weibo.ErrUnavailable}, {"timeout", weibo.ErrTimeout}} {
		t.Run(f.kind, func(t *testing.T) {
			c, emu, _ := setup(t)
			code := approve(t, c, weiboemu.DefaultUsers[1].UID)
			emu.InjectFault(weiboemu.Fault{Endpoint: "token", Kind: f.kind, Times: 1})
			if _, err := c.Exchange(ctx, code); !errors.Is(err, f.want) {
				t.Fatalf("err = %v; want %v", err, f.want)
			}
			// The code was burnt by the failed call: no second chance.
			if _, err := c.Exchange(ctx, code); !errors.As(err, &we) || we.Code != 21325 {
				t.Fatalf("retry: %v; want 21325", err)
			}
		})
	}
	t.Run("unknown user on users/show", func(t *testing.T) {
		c, _, _ := setup(t)
		tok, err := c.Exchange(ctx, approve(t, c, weiboemu.DefaultUsers[0].UID))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.UserShow(ctx, tok.AccessToken, "1234567890"); !errors.As(err, &we) || we.Code != 20003 {
			t.Fatalf("err = %v; want 20003", err)
		}
		if _, err := c.TokenInfo(ctx, "2.00forged"); !errors.As(err, &we) || we.Code != 21332 {
			t.Fatalf("forged token: %v; want 21332", err)
		}
	})
}
