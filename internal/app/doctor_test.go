package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/renran/accounts/internal/app"
	"github.com/renran/accounts/internal/captcha"
	"github.com/renran/accounts/internal/tencentcloud/tcfake"
	"github.com/renran/accounts/internal/testenv"
	"github.com/renran/accounts/wechatemu"
	"github.com/renran/accounts/weiboemu"
)

// TestDoctor runs renran doctor on good and bad configurations: each bad one fails with a
// ✗ naming the variable to fix.
func TestDoctor(t *testing.T) {
	tc := &captcha.Emulator{AppID: 2031483705, AppSecret: "prod-captcha-secret", SecretID: "AKIDprod", SecretKey: "prod-tencentcloud-key"}
	tcs := httptest.NewServer(tc)
	t.Cleanup(tcs.Close)
	// A Tencent SMS twin that checks the signature and answers DescribePhoneNumberInfo.
	smsFake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if code, msg := tcfake.CheckSignature(r, body, "sms", "AKIDprod", "prod-tencentcloud-key", time.Now()); code != "" {
			io.WriteString(w, `{"Response":{"Error":{"Code":"`+code+`","Message":"`+msg+`"},"RequestId":"r"}}`)
			return
		}
		io.WriteString(w, `{"Response":{"PhoneNumberInfoSet":[{"Code":"Ok","Message":"success","NationCode":"86","SubscriberNumber":"13800138000","PhoneNumber":"+8613800138000","IsoCode":"CN","IsoName":"China"}],"RequestId":"r"}}`)
	}))
	t.Cleanup(smsFake.Close)
	wx := httptest.NewServer(wechatemu.New(wechatemu.Config{Apps: []wechatemu.App{
		{ID: "wxprod0000000001", Secret: "prod-wechat-secret", Kind: wechatemu.Website, OpenPlatform: "p"},
		{ID: "wxprod0000000002", Secret: "prod-mp-secret", Kind: wechatemu.MP, OpenPlatform: "p"}}}))
	t.Cleanup(wx.Close)
	wb := httptest.NewServer(weiboemu.New(weiboemu.Config{Apps: []weiboemu.App{{AppKey: "3000000009", AppSecret: "prod-weibo-secret"}}}))
	t.Cleanup(wb.Close)
	prod := map[string]string{
		"RENRAN_WECHAT_APP_ID": "wxprod0000000001", "RENRAN_WECHAT_APP_SECRET": "prod-wechat-secret",
		"RENRAN_WECHAT_MP_APP_ID": "wxprod0000000002", "RENRAN_WECHAT_MP_APP_SECRET": "prod-mp-secret",
		"RENRAN_WECHAT_OPEN_URL": wx.URL, "RENRAN_WECHAT_API_URL": wx.URL,
		"RENRAN_WEIBO_APP_KEY": "3000000009", "RENRAN_WEIBO_APP_SECRET": "prod-weibo-secret", "RENRAN_WEIBO_BASE_URL": wb.URL,
		"RENRAN_ENV": "production", "RENRAN_PUBLIC_URL": "https://renran.example", "RENRAN_SECRET_KEY": "kR3v9Qm2Lx8Pz4Tn7Wb1Yc6Hd5Jf0GsEq",
		"RENRAN_DATABASE_URL": filepath.Join(t.TempDir(), "renran.db"),
		"RENRAN_QQ_APP_ID":    "102000001", "RENRAN_QQ_APP_KEY": "prod-app-key",
		"RENRAN_CAPTCHA": "tencent", "RENRAN_CAPTCHA_APP_ID": "2031483705", "RENRAN_CAPTCHA_APP_SECRET": "prod-captcha-secret",
		"RENRAN_CAPTCHA_ENDPOINT": tcs.URL + "/api/", "RENRAN_TENCENTCLOUD_SECRET_ID": "AKIDprod", "RENRAN_TENCENTCLOUD_SECRET_KEY": "prod-tencentcloud-key",
		"RENRAN_SMS": "tencent", "RENRAN_SMS_SDK_APP_ID": "1400000001", "RENRAN_SMS_SIGN_NAME": "荏苒资讯", "RENRAN_SMS_TEMPLATE_ID": "100001",
		"RENRAN_SMS_ENDPOINT": smsFake.URL,
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range prod {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
		bad  string // the variable the ✗ names; "" for a clean bill
	}{
		{"production, all good", prod, ""},
		{"development defaults", map[string]string{"RENRAN_DATA_DIR": t.TempDir()}, ""},
		{"a typed secret", with("RENRAN_SECRET_KEY", strings.Repeat("a", 32)), "RENRAN_SECRET_KEY"},
		{"http in production", with("RENRAN_PUBLIC_URL", "http://renran.example"), "RENRAN_PUBLIC_URL"},
		{"a redirect URL on another site", with("RENRAN_QQ_REDIRECT_URL", "https://other.example/oauth/qq/callback"), "RENRAN_QQ_REDIRECT_URL"},
		{"a redirect URL with a query", with("RENRAN_QQ_REDIRECT_URL", "https://renran.example/oauth/qq/callback?x=1"), "RENRAN_QQ_REDIRECT_URL"},
		{"a QQ app id that is not one", with("RENRAN_QQ_APP_ID", "my-app"), "RENRAN_QQ_APP_ID"},
		{"PostgreSQL unreachable", with("RENRAN_DATABASE_URL", "postgres://renran@127.0.0.1:1/renran?connect_timeout=2", "RENRAN_REDIS_URL", "redis://127.0.0.1:1/0"), "RENRAN_DATABASE_URL"},
		{"the captcha API key wrong", with("RENRAN_TENCENTCLOUD_SECRET_KEY", "not-the-key"), "RENRAN_TENCENTCLOUD_SECRET_ID"},
		{"the captcha app secret wrong", with("RENRAN_CAPTCHA_APP_SECRET", "not-the-secret"), "RENRAN_CAPTCHA_APP_SECRET"},
		{"the captcha endpoint down", with("RENRAN_CAPTCHA_ENDPOINT", "http://127.0.0.1:1/"), "RENRAN_CAPTCHA_ENDPOINT"},
		{"SMS missing settings", with("RENRAN_SMS_SIGN_NAME", ""), "RENRAN_SMS"},
		{"the WeChat secret wrong", with("RENRAN_WECHAT_APP_SECRET", "not-it"), "RENRAN_WECHAT_APP_SECRET"},
		{"the official account's secret wrong", with("RENRAN_WECHAT_MP_APP_SECRET", "not-it"), "RENRAN_WECHAT_MP_APP_SECRET"},
		{"a WeChat app id WeChat does not know", with("RENRAN_WECHAT_APP_ID", "wxnobody"), "RENRAN_WECHAT_APP_ID"},
		{"WeChat unreachable", with("RENRAN_WECHAT_API_URL", "http://127.0.0.1:1"), "RENRAN_WECHAT_API_URL"},
		{"the Weibo secret wrong", with("RENRAN_WEIBO_APP_SECRET", "not-it"), "RENRAN_WEIBO_APP_SECRET"},
		{"SMTP unreachable", with("RENRAN_MAIL", "smtp://u:p@127.0.0.1:1", "RENRAN_MAIL_FROM", "no-reply@renran.example"), "RENRAN_MAIL"},
	}
	if os.Getenv("RENRAN_TEST_POSTGRES_URL") != "" {
		url := testenv.Postgres(t)
		tests = append(tests, struct {
			name string
			env  map[string]string
			bad  string
		}{"Redis unreachable", with("RENRAN_DATABASE_URL", url, "RENRAN_REDIS_URL", "redis://127.0.0.1:1/0"), "RENRAN_REDIS_URL"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := app.Run(context.Background(), []string{"doctor", "--json"}, func(k string) string { return tt.env[k] }, &out, io.Discard)
			var res struct {
				OK     bool
				Checks []app.Check
			}
			if jerr := json.Unmarshal(out.Bytes(), &res); jerr != nil {
				t.Fatalf("doctor --json printed %q: %v", out.String(), jerr)
			}
			var failed []string
			for _, c := range res.Checks {
				if !c.OK {
					failed = append(failed, c.Variable)
					if c.Chinese == "" || c.English == "" {
						t.Errorf("%s: a ✗ without both messages: %+v", c.Name, c)
					}
				}
			}
			if tt.bad == "" {
				if err != nil || !res.OK {
					t.Errorf("doctor = %v, failed %v; want all ✓\n%s", err, failed, out.String())
				}
				return
			}
			if !errors.Is(err, app.ErrDoctorFailed) || res.OK {
				t.Errorf("doctor = %v; want a failure", err)
			}
			found := false
			for _, v := range failed {
				found = found || v == tt.bad
			}
			if !found {
				t.Errorf("the ✗ name %v; want %s\n%s", failed, tt.bad, out.String())
			}
		})
	}

	// The text form: ✓ and ✗ lines, in both languages.
	var out bytes.Buffer
	_ = app.Run(context.Background(), []string{"doctor"}, func(k string) string { return with("RENRAN_QQ_APP_ID", "x")[k] }, &out, io.Discard)
	if s := out.String(); !strings.Contains(s, "✗ QQ app id") || !strings.Contains(s, "✓ database") || !strings.Contains(s, "QQ 互联") {
		t.Errorf("doctor's text:\n%s", s)
	}
}
