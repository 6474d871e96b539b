package weiboprovider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/weibo"
)

// TestIdentifyChecksTheToken: a token whose get_token_info names another app, or another
// user than the exchange said, is no login (Weibo's doc warns against trusting the uid of
// the token answer alone).
func TestIdentifyChecksTheToken(t *testing.T) {
	for _, c := range []struct {
		name, appkey, uid string
		ok                bool
	}{
		{"the same app and user", "3000000001", "6672271347", true},
		{"another app's token", "3999999999", "6672271347", false},
		{"another user", "3000000001", "1404376560", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/oauth2/access_token":
					io.WriteString(w, `{"access_token":"2.00abc","remind_in":"100","expires_in":100,"uid":"6672271347"}`)
				case "/oauth2/get_token_info":
					fmt.Fprintf(w, `{"uid":%s,"appkey":%s,"scope":null,"create_at":1,"expire_in":100}`, c.uid, c.appkey)
				}
			}))
			defer srv.Close()
			p := New(weibo.New(weibo.Config{BaseURL: srv.URL, AppKey: "3000000001", AppSecret: "s", RedirectURL: "https://x/cb"}, nil))
			ext, err := p.Identify(context.Background(), "3000000001", "code")
			if c.ok {
				if err != nil || ext.Subject != "6672271347" {
					t.Fatalf("Identify = %+v, %v", ext, err)
				}
				return
			}
			var pe *account.ProviderError
			if !errors.As(err, &pe) || pe.Err != account.ErrQQError {
				t.Fatalf("Identify = %+v, %v; want a provider error", ext, err)
			}
		})
	}
}

// TestErrorTable: each kind of Weibo failure becomes the answer docs/weibo.md §3 gives.
func TestErrorTable(t *testing.T) {
	for _, c := range []struct {
		err    error
		want   *account.Error
		config bool
	}{
		{&weibo.Error{Code: 21325}, account.ErrQQCodeInvalid, false},
		{&weibo.Error{Code: 21324}, account.ErrQQConfig, true},
		{&weibo.Error{Code: 21322}, account.ErrQQConfig, true},
		{&weibo.Error{Code: 21337}, account.ErrQQConfig, true},
		{&weibo.Error{Code: 21332}, account.ErrQQToken, false},
		{&weibo.Error{Code: 21327}, account.ErrQQToken, false},
		{&weibo.Error{Code: 21330}, account.ErrQQCancelled, false},
		{&weibo.Error{Code: 10023}, account.ErrQQUnavailable, false},
		{&weibo.Error{Code: 20003}, account.ErrQQError, false},
		{weibo.ErrTimeout, account.ErrQQTimeout, false},
		{fmt.Errorf("%w: HTTP 502", weibo.ErrUnavailable), account.ErrQQUnavailable, false},
	} {
		var pe *account.ProviderError
		if err := mapErr("op", c.err); !errors.As(err, &pe) || pe.Err != c.want || pe.Config != c.config {
			t.Errorf("mapErr(%v) = %+v; want %s (config %v)", c.err, pe, c.want.Code, c.config)
		}
	}
}
