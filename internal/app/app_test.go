package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/renran/accounts/internal/app"
	"github.com/renran/accounts/internal/app/apptest"
	"github.com/renran/accounts/internal/captcha"
	"github.com/renran/accounts/qqemu"
	"github.com/renran/accounts/qqemu/qqemutest"
)

func getJSON(t *testing.T, c *http.Client, u string) (int, map[string]any, http.Header) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m, resp.Header
}

// TestServeEmbeddedDefault starts the program's Run as a newcomer would, walks a QQ
// login through the built-in emulator over real HTTP, and shuts down gracefully.
func TestServeEmbeddedDefault(t *testing.T) {
	in := apptest.Start(t, nil)
	base := in.URL
	if out := in.Stdout.String(); !strings.Contains(out, "listening on "+base) || !strings.Contains(out, "/_dev/qq") || !strings.Contains(out, base+"/login") {
		t.Errorf("startup message = %q, want where to go", out)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	status, body, _ := getJSON(t, c, base+"/oauth/qq/url/?next=/user")
	if status != 200 || !strings.HasPrefix(body["url"].(string), base+"/_dev/qq/oauth2.0/authorize?") {
		t.Fatalf("GET /oauth/qq/url/ = %d %v", status, body)
	}
	// The browser at "QQ": the authorize page, then a test user picked on it.
	resp, err := c.Get(body["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loginPage, _ := url.Parse(body["url"].(string))
	loginPage, _ = loginPage.Parse(resp.Header.Get("Location"))
	resp, err = c.Get(loginPage.String())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "林枫") {
		t.Fatalf("emulator login page lacks the test users: %d", resp.StatusCode)
	}
	q := loginPage.Query()
	form := url.Values{"client_id": {q.Get("client_id")}, "redirect_uri": {q.Get("redirect_uri")}, "state": {q.Get("state")}, "scope": {q.Get("scope")}, "uin": {"10001"}}
	resp, err = c.PostForm(base+"/_dev/qq/oauth2.0/approve", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, _ := url.Parse(resp.Header.Get("Location"))
	if cb.Path != "/oauth/qq/callback" {
		t.Fatalf("approve Location = %s", cb)
	}
	status, body, _ = getJSON(t, c, base+"/oauth/qq/info/?"+cb.RawQuery)
	if status != 200 || body["qq_user"] == "" || body["nickname"] != "林枫" {
		t.Fatalf("GET /oauth/qq/info/ = %d %v", status, body)
	}
	if status, _, _ := getJSON(t, c, base+"/_dev/outbox"); status != 200 {
		t.Errorf("/_dev/outbox = %d", status)
	}
	checkMetrics(t, in)
	if err := in.Stop(); err != nil {
		t.Fatalf("run after shutdown = %v", err)
	}
	if !strings.Contains(in.Stderr.String(), "shutting down") {
		t.Errorf("no shutdown line in the log")
	}
}

func TestCommands(t *testing.T) {
	data := t.TempDir()
	env := func(k string) string {
		if k == "RENRAN_DATA_DIR" {
			return data
		}
		return ""
	}
	var out bytes.Buffer
	if err := app.Run(context.Background(), []string{"migrate"}, env, &out, io.Discard); err != nil || !strings.Contains(out.String(), "is at schema version ") {
		t.Errorf("migrate = %v, %q", err, out.String())
	}
	if err := app.Run(context.Background(), []string{"frobnicate"}, env, io.Discard, io.Discard); err == nil {
		t.Error("an unknown command did not fail")
	}
	prod := func(k string) string {
		return map[string]string{"RENRAN_ENV": "production", "RENRAN_DATA_DIR": data}[k]
	}
	err := app.Run(context.Background(), nil, prod, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "RENRAN_SECRET_KEY") {
		t.Errorf("production without configuration = %v, want a refusal naming what is missing", err)
	}
}

// checkMetrics reads /metrics on its own listener after one first-time QQ login, and
// checks that the public listener does not serve it.
func checkMetrics(t *testing.T, in *apptest.Instance) {
	t.Helper()
	if in.MetricsURL == "" {
		t.Fatalf("no metrics address in the start-up message: %q", in.Stdout.String())
	}
	resp, err := http.Get(in.MetricsURL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(b)
	for _, want := range []string{
		`renran_qq_login_steps_total{step="authorize_url"} 1`,
		`renran_qq_login_steps_total{step="callback"} 1`,
		`renran_qq_login_steps_total{step="pending"} 1`,
		`renran_qq_login_steps_total{step="returning"} 0`,
		`renran_http_requests_total{method="GET",route="GET /oauth/qq/url/",status="200"} 1`,
		`renran_http_request_duration_seconds_bucket{route="GET /oauth/qq/url/",le="+Inf"} 1`,
		`renran_journal_pending `,
		`go_sql_max_open_connections{db_name="sqlite"} 1`,
		`renran_sms_total{result="sent"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", text)
	}
	if resp, err := http.Get(in.URL + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("the public listener answers /metrics with %d, want 404", resp.StatusCode)
		}
	}
}

// TestProductionStarts: with real QQ settings, RENRAN_CAPTCHA=tencent and a real SMS
// provider (each pointed at a local twin through its *_ENDPOINT), production starts;
// /_dev/* is 404; an SMS needs a ticket the captcha service accepts, and then goes to the
// provider.
func TestProductionStarts(t *testing.T) {
	emu := qqemutest.Start(t, qqemu.Config{Apps: []qqemu.App{{AppID: "102000001", AppKey: "prod-app-key", Name: "荏苒", RedirectURIs: []string{"https://renran.example/oauth/qq/callback"}}}})
	tc := &captcha.Emulator{AppID: 2031483705, AppSecret: "prod-captcha-secret", SecretID: "AKIDprod", SecretKey: "prod-tencentcloud-key"}
	tcs := httptest.NewServer(tc)
	t.Cleanup(tcs.Close)
	var sent atomic.Int64
	smsFake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent.Add(1)
		io.WriteString(w, `{"Response":{"SendStatusSet":[{"SerialNo":"5000:1","PhoneNumber":"+8613912345678","Fee":1,"Code":"Ok","Message":"send success","IsoCode":"CN"}],"RequestId":"r"}}`)
	}))
	t.Cleanup(smsFake.Close)
	in := apptest.Start(t, map[string]string{
		"RENRAN_ENV": "production", "RENRAN_PUBLIC_URL": "https://renran.example", "RENRAN_SECRET_KEY": "kR3v9Qm2Lx8Pz4Tn7Wb1Yc6Hd5Jf0GsEq",
		"RENRAN_QQ_APP_ID": "102000001", "RENRAN_QQ_APP_KEY": "prod-app-key", "RENRAN_QQ_BASE_URL": emu.URL,
		"RENRAN_CAPTCHA": "tencent", "RENRAN_CAPTCHA_APP_ID": "2031483705", "RENRAN_CAPTCHA_APP_SECRET": "prod-captcha-secret",
		"RENRAN_CAPTCHA_ENDPOINT": tcs.URL + "/api/", "RENRAN_TENCENTCLOUD_SECRET_ID": "AKIDprod", "RENRAN_TENCENTCLOUD_SECRET_KEY": "prod-tencentcloud-key",
		"RENRAN_SMS": "tencent", "RENRAN_SMS_SDK_APP_ID": "1400000001", "RENRAN_SMS_SIGN_NAME": "荏苒资讯", "RENRAN_SMS_TEMPLATE_ID": "100001",
		"RENRAN_SMS_ENDPOINT": smsFake.URL,
	})
	host := strings.TrimPrefix(in.URL, "http://")
	do := func(method, path, body string) (int, string) {
		r, _ := http.NewRequest(method, in.URL+path, strings.NewReader(body))
		r.Host = "renran.example"
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, p := range []string{"/_dev/", "/_dev/outbox", "/_dev/qq/", "/_dev/captcha/TCaptcha.js"} {
		if st, _ := do("GET", p, ""); st != 404 {
			t.Errorf("production GET %s = %d, want 404", p, st)
		}
	}
	if st, _ := do("POST", "/_dev/captcha/solve", ""); st != 404 {
		t.Errorf("production POST /_dev/captcha/solve = %d, want 404", st)
	}
	if st, body := do("POST", "/users/sms/", `{"mobile":"13912345678","purpose":"register"}`); st != 400 || !strings.Contains(body, "captcha_required") {
		t.Errorf("SMS without a ticket = %d %s", st, body)
	}
	tk, rs, _ := tc.Issue()
	if st, body := do("POST", "/users/sms/", `{"mobile":"13912345678","purpose":"register","ticket":"`+tk+`","randstr":"`+rs+`"}`); st != 200 || sent.Load() != 1 {
		t.Errorf("SMS with a ticket = %d %s, provider calls %d; want 200 and one call", st, body, sent.Load())
	}
	if st, _ := do("GET", "/login", ""); st != 200 {
		t.Errorf("GET /login = %d", st)
	}
	r, _ := http.NewRequest("GET", in.URL+"/login", nil) // Host: 127.0.0.1:port, not the site's
	if resp, err := http.DefaultClient.Do(r); err != nil || resp.StatusCode != 421 {
		t.Errorf("GET /login naming host %s: %v %v, want 421", host, resp, err)
	}
}

// TestSubcommandHelp: -h on every subcommand prints its usage and exits 0 without doing
// anything: no server started, no database created or migrated, no key added.
func TestSubcommandHelp(t *testing.T) {
	for _, args := range [][]string{{"serve", "-h"}, {"migrate", "-h"}, {"doctor", "-h"}, {"qq-emulator", "-h"},
		{"keys", "-h"}, {"keys", "list", "-h"}, {"keys", "rotate", "-h"}, {"serve", "--help"}, {"import-django", "-h"}, {"weibo-emulator", "-h"}, {"wechat-emulator", "-h"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var out, errOut bytes.Buffer
			err := app.Run(ctx, args, func(k string) string {
				return map[string]string{"RENRAN_DATA_DIR": dir, "RENRAN_ADDR": "127.0.0.1:0"}[k]
			}, &out, &errOut)
			if err != nil || ctx.Err() != nil || !strings.Contains(out.String(), "usage: renran") {
				t.Fatalf("Run(%q) = %v (ctx %v); stdout %q", args, err, ctx.Err(), out.String())
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("Run(%q) created %s", args, dir)
			}
		})
	}
	if err := app.Run(context.Background(), []string{"migrate", "extra"}, func(string) string { return "" }, io.Discard, io.Discard); err == nil {
		t.Error("migrate with a stray argument ran")
	}
}
