package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/app"
	"github.com/renran/accounts/internal/captcha"
	"github.com/renran/accounts/internal/config"
	"github.com/renran/accounts/internal/connlimit"
	"github.com/renran/accounts/internal/outbox"
	"github.com/renran/accounts/internal/password"
	"github.com/renran/accounts/internal/store"
	"github.com/renran/accounts/internal/store/storetest"
	"github.com/renran/accounts/internal/testenv"
	"github.com/renran/accounts/internal/web"
	"github.com/renran/accounts/qqemu"
	"github.com/renran/accounts/qqemu/qqemutest"
	"github.com/renran/accounts/wechatemu"
	"github.com/renran/accounts/weiboemu"
)

const (
	testAppID       = "101000001"
	testAppKey      = "test-app-key"
	testWeiboKey    = "3000000001"
	testWeiboSecret = "test-weibo-secret"
	testWeChatApp   = "wx00000000000000a1"
	testWeChatMP    = "wx00000000000000a2"
)

var testSecret = []byte("web-test-secret-Vq8Lr2Kx9Pm4Tz7Nw1Yb")

var fastHash = password.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// env is a real server, built by app.Build as `renran serve` builds it, talking over HTTP
// to a real emulator. The store and the short-lived store are SQLite and the in-process
// one, or, in the run TestOnPostgresAndRedis starts, PostgreSQL and Redis.
type env struct {
	t      testing.TB
	url    string
	emu    *qqemutest.Emulator
	wb     *weiboemu.Server // the Weibo emulator, its own HTTP server
	wbURL  string
	wx     *wechatemu.Server // the WeChat emulator (website app and official account)
	wxURL  string
	db     *store.DB
	box    *outbox.Outbox
	svc    *account.Service
	hasher *password.Hasher
	logs   *testenv.SyncBuffer
	conns  *connlimit.Limiter
	tc     *captcha.Emulator // with RENRAN_CAPTCHA=dev
	web    *web.Server
}

type envOptions struct {
	noLimits  bool
	unionID   bool // the app has the unionid permission and the client asks for it
	qqTimeout time.Duration
	now       func() time.Time // a fake clock for the service and the short-lived store
	proxy     bool             // 127.0.0.1 is a trusted proxy: X-Forwarded-For names the client
	captcha   account.Captcha
	realHash  bool              // the production Argon2id parameters instead of fastHash
	vars      map[string]string // more RENRAN_* variables
	// wechatMPUnbound: the official account is not bound to the website app's open-platform
	// account, so it gives no unionid.
	wechatMPUnbound bool
}

// backendVar, when set to sharedBackend in the environment, makes every env run on
// PostgreSQL and Redis (TestOnPostgresAndRedis sets it for a second run of this package).
const (
	backendVar    = "RENRAN_TEST_WEB_BACKEND"
	sharedBackend = "postgres+redis"
)

func onSharedBackend() bool { return os.Getenv(backendVar) == sharedBackend }

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newEnv(t testing.TB, opts ...func(*envOptions)) *env {
	t.Helper()
	var o envOptions
	for _, f := range opts {
		f(&o)
	}
	if o.qqTimeout == 0 {
		o.qqTimeout = 2 * time.Second
	}
	ts := httptest.NewUnstartedServer(nil)
	siteURL := "http://" + ts.Listener.Addr().String()
	redirect := siteURL + "/oauth/qq/callback"
	emu := qqemutest.Start(t, qqemu.Config{Apps: []qqemu.App{{AppID: testAppID, AppKey: testAppKey, Name: "荏苒测试", RedirectURIs: []string{redirect}, UnionID: o.unionID}}})

	wbSrv := httptest.NewUnstartedServer(nil)
	wbURL := "http://" + wbSrv.Listener.Addr().String()
	wb := weiboemu.New(weiboemu.Config{Apps: []weiboemu.App{{AppKey: testWeiboKey, AppSecret: testWeiboSecret, Name: "荏苒测试",
		RedirectURIs: []string{siteURL + "/oauth/weibo/callback"}}}, PublicURL: wbURL})
	wbSrv.Config.Handler = wb
	wbSrv.Start()
	t.Cleanup(wbSrv.Close)

	wxSrv := httptest.NewUnstartedServer(nil)
	wxURL := "http://" + wxSrv.Listener.Addr().String()
	mpPlatform := "op-test"
	if o.wechatMPUnbound {
		mpPlatform = ""
	}
	wx := wechatemu.New(wechatemu.Config{PublicURL: wxURL, Apps: []wechatemu.App{
		{ID: testWeChatApp, Secret: "web-secret", Name: "荏苒测试", Kind: wechatemu.Website, RedirectURIs: []string{siteURL + "/oauth/wechat/callback"}, OpenPlatform: "op-test"},
		{ID: testWeChatMP, Secret: "mp-secret", Name: "荏苒测试公众号", Kind: wechatemu.MP, RedirectURIs: []string{siteURL + "/oauth/wechat/callback"}, OpenPlatform: mpPlatform},
	}})
	wxSrv.Config.Handler = wx
	wxSrv.Start()
	t.Cleanup(wxSrv.Close)

	vars := map[string]string{
		"RENRAN_WECHAT_APP_ID": testWeChatApp, "RENRAN_WECHAT_APP_SECRET": "web-secret", "RENRAN_WECHAT_MP_APP_ID": testWeChatMP,
		"RENRAN_WECHAT_MP_APP_SECRET": "mp-secret", "RENRAN_WECHAT_OPEN_URL": wxURL, "RENRAN_WECHAT_API_URL": wxURL,
		"RENRAN_WEIBO_APP_KEY": testWeiboKey, "RENRAN_WEIBO_APP_SECRET": testWeiboSecret, "RENRAN_WEIBO_BASE_URL": wbURL,
		"RENRAN_PUBLIC_URL": siteURL, "RENRAN_DATA_DIR": t.TempDir(), "RENRAN_SECRET_KEY": string(testSecret),
		"RENRAN_QQ_APP_ID": testAppID, "RENRAN_QQ_APP_KEY": testAppKey, "RENRAN_QQ_BASE_URL": emu.URL,
		"RENRAN_QQ_REDIRECT_URL": redirect, "RENRAN_METRICS_ADDR": "off",
		// Every test client is 127.0.0.1 and some send hundreds of requests at once; the
		// per-address connection limit has its own test (TestAbuse_IdleConnections).
		"RENRAN_MAX_CONNS_PER_ADDR": "0",
		// Captcha is off unless a test is about it (o.captcha, or RENRAN_CAPTCHA in o.vars).
		"RENRAN_CAPTCHA": "off",
	}
	if o.noLimits {
		vars["RENRAN_RATE_LIMITS"] = "off"
	}
	if o.proxy {
		vars["RENRAN_TRUSTED_PROXIES"] = "127.0.0.1"
	}
	for k, v := range o.vars {
		vars[k] = v
	}
	if onSharedBackend() {
		if o.now != nil {
			t.Skip("a fake clock cannot move Redis's TTLs; this test runs on the in-process store")
		}
		vars["RENRAN_DATABASE_URL"] = testenv.Postgres(t)
		vars["RENRAN_REDIS_URL"], vars["RENRAN_REDIS_PREFIX"] = testenv.Redis(t)
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	logs := &testenv.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := password.NewHasher(fastHash, 4)
	if o.realHash {
		h = password.NewHasher(password.DefaultParams, runtime.GOMAXPROCS(0))
	}
	built, err := app.Build(context.Background(), cfg, app.Options{
		Logger: log, Now: o.now, Hasher: h, QQTimeout: o.qqTimeout, QQUnionID: o.unionID, Captcha: o.captcha,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, lim := app.NewHTTPServer(cfg, built.Handler, log)
	ts.Config = srv
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		built.Close()
	})
	return &env{t: t, url: siteURL, emu: emu, wb: wb, wbURL: wbURL, wx: wx, wxURL: wxURL, db: built.Store, box: built.Outbox, svc: built.Accounts, hasher: h, logs: logs, conns: lim, tc: built.Captcha, web: built.Handler}
}

// user makes an account with a password.
func (e *env) user(pw string) account.User {
	e.t.Helper()
	u := storetest.NewUser()
	hash, err := e.hasher.Hash(context.Background(), pw)
	if err != nil {
		e.t.Fatal(err)
	}
	u.PasswordHash = hash
	u, err = e.db.CreateUser(context.Background(), u)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) counts() (int, int) {
	e.t.Helper()
	u, i, err := e.db.Counts(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return u, i
}

// browser is one browser: its own cookie jar, no automatic redirects.
type browser struct {
	e   *env
	c   *http.Client
	hdr http.Header // sent with every request
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	// Every exchange is held to docs/openapi.yaml (openapi_test.go).
	return &browser{e: e, hdr: http.Header{}, c: &http.Client{Jar: jar, Transport: contractChecker(e.t, http.DefaultTransport),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r response) str(k string) string { s, _ := r.body[k].(string); return s }

// do sends a request; a non-nil body is sent as JSON (a string body is sent as is).
func (b *browser) do(method, path string, body any, hdr ...string) response {
	b.e.t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	default:
		j, _ := json.Marshal(v)
		rd = bytes.NewReader(j)
	}
	u := path
	if !strings.HasPrefix(path, "http") {
		u = b.e.url + path
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range b.hdr {
		req.Header[k] = v
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1] // net/http sends req.Host, not a Host header
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// qqStart asks for the authorize URL and lets the emulator approve as uin, returning the
// callback's query (code and state) without calling the site yet.
func (b *browser) qqStart(next, uin string) url.Values {
	b.e.t.Helper()
	return b.qqStartFrom("", next, uin)
}

// qqStartFrom is qqStart from the address ip (as X-Forwarded-For; "" for none).
func (b *browser) qqStartFrom(ip, next, uin string) url.Values {
	b.e.t.Helper()
	var hdr []string
	if ip != "" {
		hdr = []string{"X-Forwarded-For", ip}
	}
	r := b.do("GET", "/oauth/qq/url/?next="+url.QueryEscape(next), nil, hdr...)
	if r.status != 200 {
		b.e.t.Fatalf("GET /oauth/qq/url/ = %d %s", r.status, r.raw)
	}
	return b.qqApprove(r.str("url"), uin)
}

// qqApprove lets the emulator approve the authorize URL u as uin and returns the
// callback's query.
func (b *browser) qqApprove(u, uin string) url.Values {
	b.e.t.Helper()
	resp, err := b.c.Get(u + "&qqemu_user=" + uin)
	if err != nil {
		b.e.t.Fatal(err)
	}
	resp.Body.Close()
	cb, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || cb.Query().Get("code") == "" {
		b.e.t.Fatalf("emulator authorize: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return cb.Query()
}

// qqCallback forwards code and state as the callback page does.
func (b *browser) qqCallback(q url.Values) response {
	return b.do("GET", "/oauth/qq/info/?code="+url.QueryEscape(q.Get("code"))+"&state="+url.QueryEscape(q.Get("state")), nil)
}

// qqLogin runs the whole QQ round trip for test user uin.
func (b *browser) qqLogin(next, uin string) response {
	return b.qqCallback(b.qqStart(next, uin))
}

// smsCode asks for a register code for mobile and reads it from the outbox.
func (b *browser) smsCode(mobile string) string {
	b.e.t.Helper()
	r := b.do("POST", "/users/sms/", map[string]any{"mobile": mobile, "purpose": "register"})
	if r.status != 200 {
		b.e.t.Fatalf("POST /users/sms/ = %d %s", r.status, r.raw)
	}
	list := b.e.box.List(mobile)
	if len(list) == 0 {
		b.e.t.Fatalf("no SMS in the outbox for %s", mobile)
	}
	return list[0].Code
}

func (b *browser) auth(tok string) *browser {
	nb := *b
	nb.hdr = http.Header{"Authorization": {"Bearer " + tok}}
	return &nb
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.e.url)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func wantStatus(t testing.TB, what string, r response, status int, code string) {
	t.Helper()
	if r.status != status || (code != "" && r.str("error") != code) {
		t.Fatalf("%s = %d %s; want %d %s", what, r.status, strings.TrimSpace(r.raw), status, code)
	}
}

var mobileSeq struct {
	mu sync.Mutex
	n  int
}

// newMobile returns a fresh valid mobile number.
func newMobile() string {
	mobileSeq.mu.Lock()
	defer mobileSeq.mu.Unlock()
	mobileSeq.n++
	return fmt.Sprintf("1880000%04d", mobileSeq.n)
}

// concurrently runs fn(0)…fn(n-1) in goroutines released together by one barrier, so the
// requests really race, and returns their responses in order.
func concurrently(n int, fn func(i int) response) []response {
	out := make([]response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			out[i] = fn(i)
		}(i)
	}
	close(start)
	wg.Wait()
	return out
}
