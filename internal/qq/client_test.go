package qq_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/renran/accounts/internal/qq"
	"github.com/renran/accounts/qqemu"
	"github.com/renran/accounts/qqemu/qqemutest"
)

const (
	appID    = "101000001"
	appKey   = "test-app-key"
	redirect = "http://127.0.0.1:8000/oauth/qq/callback"
)

func start(t *testing.T, unionID bool) (*qqemutest.Emulator, *qq.Client) {
	t.Helper()
	emu := qqemutest.Start(t, qqemu.Config{Apps: []qqemu.App{{AppID: appID, AppKey: appKey, RedirectURIs: []string{redirect}, UnionID: unionID}}})
	c := qq.New(qq.Config{BaseURL: emu.URL, AppID: appID, AppKey: appKey, RedirectURL: redirect, UnionID: unionID, Timeout: 500 * time.Millisecond}, nil)
	return emu, c
}

func code(t *testing.T, emu *qqemutest.Emulator, uin string) string {
	t.Helper()
	c, err := emu.IssueCode(appID, redirect, uin)
	if err != nil {
		t.Fatalf("IssueCode: %v", err)
	}
	return c
}

func qqCode(err error) int {
	var qe *qq.Error
	if errors.As(err, &qe) {
		return qe.Code
	}
	return 0
}

func TestAuthorizeURL(t *testing.T) {
	_, c := start(t, false)
	for _, mobile := range []bool{false, true} {
		u, err := url.Parse(c.AuthorizeURL("s1", mobile))
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		if u.Path != "/oauth2.0/authorize" || q.Get("response_type") != "code" || q.Get("client_id") != appID ||
			q.Get("redirect_uri") != redirect || q.Get("state") != "s1" || q.Get("scope") != "get_user_info" {
			t.Errorf("AuthorizeURL = %s", u)
		}
		if got := q.Get("display") == "mobile"; got != mobile {
			t.Errorf("AuthorizeURL(mobile=%v) display=%q", mobile, q.Get("display"))
		}
	}
}

func TestExchangeGivesOpenIDInOneCall(t *testing.T) {
	emu, c := start(t, false)
	ctx := context.Background()
	tok, err := c.Exchange(ctx, code(t, emu, "10001"))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.OpenID != emu.OpenID(appID, "10001") || len(tok.AccessToken) != 32 || tok.ExpiresIn != qqemu.DefaultExpiresIn {
		t.Errorf("Exchange = %+v, want openid %s", tok, emu.OpenID(appID, "10001"))
	}
	if n := emu.Calls("token") + emu.Calls("me"); n != 1 {
		t.Errorf("calls to QQ = %d, want 1", n)
	}
	info, err := c.UserInfo(ctx, tok.AccessToken, tok.OpenID)
	if err != nil || info.Nickname != "林枫" || !strings.Contains(info.Avatar, "/qlogo/10001/") {
		t.Errorf("UserInfo = %+v, %v", info, err)
	}
}

func TestExchangeErrors(t *testing.T) {
	emu, c := start(t, false)
	ctx := context.Background()
	cd := code(t, emu, "10002")
	if _, err := c.Exchange(ctx, cd); err != nil {
		t.Fatalf("first Exchange: %v", err)
	}
	if _, err := c.Exchange(ctx, cd); qqCode(err) != 100020 {
		t.Errorf("second Exchange of a code: %v, want 100020", err)
	}
	if _, err := c.Exchange(ctx, "00000000000000000000000000000000"); qqCode(err) != 100019 {
		t.Errorf("Exchange of an unknown code: %v, want 100019", err)
	}
	bad := qq.New(qq.Config{BaseURL: emu.URL, AppID: appID, AppKey: "wrong", RedirectURL: redirect}, nil)
	if _, err := bad.Exchange(ctx, code(t, emu, "10001")); qqCode(err) != 100009 {
		t.Errorf("Exchange with a wrong app key: %v, want 100009", err)
	}
	other := qq.New(qq.Config{BaseURL: emu.URL, AppID: appID, AppKey: appKey, RedirectURL: redirect + "/"}, nil)
	if _, err := other.Exchange(ctx, code(t, emu, "10001")); qqCode(err) != 100010 {
		t.Errorf("Exchange with another redirect_uri: %v, want 100010", err)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault qqemu.Fault
		check func(error) bool
		calls int64 // token calls expected: the exchange is never retried
	}{
		{"timeout", qqemu.Fault{Endpoint: "token", Kind: "timeout"}, func(err error) bool { return errors.Is(err, qq.ErrTimeout) }, 1},
		{"http 500", qqemu.Fault{Endpoint: "token", Kind: "http500"}, func(err error) bool { return errors.Is(err, qq.ErrUnavailable) }, 1},
		{"truncated body", qqemu.Fault{Endpoint: "token", Kind: "malformed"}, func(err error) bool { return errors.Is(err, qq.ErrUnavailable) }, 1},
		{"BOM before a JSONP error", qqemu.Fault{Endpoint: "token", Kind: "bom"}, func(err error) bool { return qqCode(err) == 100016 }, 1},
		{"trailing-comma JSONP", qqemu.Fault{Endpoint: "token", Kind: "trailing_comma"}, func(err error) bool { return errors.Is(err, qq.ErrUnavailable) }, 1},
		{"error 100019", qqemu.Fault{Endpoint: "token", Kind: "error", Code: 100019}, func(err error) bool { return qqCode(err) == 100019 }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, c := start(t, false)
			emu.InjectFault(tt.fault)
			_, err := c.Exchange(context.Background(), code(t, emu, "10001"))
			if err == nil || !tt.check(err) {
				t.Fatalf("Exchange under %s: error %v", tt.name, err)
			}
			if got := emu.Calls("token"); got != tt.calls {
				t.Errorf("token calls = %d, want %d (no retry of a code exchange)", got, tt.calls)
			}
			if strings.Contains(err.Error(), appKey) {
				t.Errorf("error %q leaks the app key", err)
			}
		})
	}
}

func TestMeRetriesOnceAndFallsBackWithoutUnionID(t *testing.T) {
	ctx := context.Background()
	emu, c := start(t, true)
	tok, _ := c.Exchange(ctx, code(t, emu, "10001"))
	emu.InjectFault(qqemu.Fault{Endpoint: "me", Kind: "http500", Times: 1})
	m, err := c.Me(ctx, tok.AccessToken)
	if err != nil || m.OpenID != emu.OpenID(appID, "10001") || m.UnionID != emu.UnionID(appID, "10001") {
		t.Fatalf("Me after one 500 = %+v, %v", m, err)
	}
	if emu.Calls("me") != 2 {
		t.Errorf("me calls = %d, want 2 (one retry of an idempotent GET)", emu.Calls("me"))
	}

	// Asked for a unionid without the permission, QQ answers 100048 and no openid.
	emu2 := qqemutest.Start(t, qqemu.Config{Apps: []qqemu.App{{AppID: appID, AppKey: appKey, RedirectURIs: []string{redirect}}}})
	c2 := qq.New(qq.Config{BaseURL: emu2.URL, AppID: appID, AppKey: appKey, RedirectURL: redirect, UnionID: true}, nil)
	cd, _ := emu2.IssueCode(appID, redirect, "10002")
	tok2, _ := c2.Exchange(ctx, cd)
	m2, err := c2.Me(ctx, tok2.AccessToken)
	if err != nil || m2.OpenID != emu2.OpenID(appID, "10002") || m2.UnionID != "" {
		t.Errorf("Me without the unionid permission = %+v, %v; want the openid alone", m2, err)
	}
	if _, err := c2.Me(ctx, "BADTOKEN"); qqCode(err) != 100013 {
		t.Errorf("Me with a bad token: %v, want 100013", err)
	}
}
