// Package e2e drives the real program (app.Run on the embedded default, with the built-in
// QQ emulator) in headless Chromium, through the flows of docs/requirements.md §1. Screenshots of the key
// steps are saved under $RENRAN_E2E_ARTIFACTS (default e2e/artifacts/).
package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"

	"github.com/renran/accounts/internal/app/apptest"
	"github.com/renran/accounts/internal/testenv"
)

// site is a running instance of the program.
type site struct {
	url string
}

func startSite(t *testing.T) *site {
	t.Helper()
	// The flows here are about the pages and QQ; the captcha has its own (captcha_test.go).
	return &site{url: apptest.Start(t, map[string]string{"RENRAN_CAPTCHA": "off"}).URL}
}

var mobileSeq atomic.Int64

func newMobile() string {
	return fmt.Sprintf("1770000%04d", mobileSeq.Add(1)%10000)
}

func (s *site) post(t *testing.T, path string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(s.url+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// smsCode reads the newest code sent to mobile from the development outbox.
func (s *site) smsCode(t *testing.T, mobile string) string {
	t.Helper()
	for i := 0; i < 50; i++ {
		resp, err := http.Get(s.url + "/_dev/outbox?to=" + mobile)
		if err != nil {
			t.Fatal(err)
		}
		var list []struct{ Code string }
		_ = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if len(list) > 0 {
			return list[0].Code
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no SMS code for %s in the outbox", mobile)
	return ""
}

// register makes an account through the API, as a person would with the register page.
// When the site runs the captcha emulator, the SMS request carries a ticket from its solve
// endpoint, as an outside tool would get one.
func (s *site) register(t *testing.T, nickname, password string) string {
	t.Helper()
	mobile := newMobile()
	body := map[string]any{"mobile": mobile, "purpose": "register"}
	if st, tk := s.post(t, "/_dev/captcha/solve", nil); st == 200 {
		body["ticket"], body["randstr"] = tk["ticket"], tk["randstr"]
	}
	if st, m := s.post(t, "/users/sms/", body); st != 200 {
		t.Fatalf("POST /users/sms/ = %d %v", st, m)
	}
	code := s.smsCode(t, mobile)
	if st, m := s.post(t, "/users/", map[string]any{"nickname": nickname, "mobile": mobile, "sms_code": code, "password": password}); st != 201 {
		t.Fatalf("POST /users/ = %d %v", st, m)
	}
	return mobile
}

const iPhoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"

// browser starts a fresh headless Chromium (its own profile) and returns a context for it.
// phone emulates a 375 px wide phone with a phone's user agent.
func browser(t *testing.T, phone bool) context.Context {
	t.Helper()
	path := testenv.Chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	// The first run starts the browser and must not carry a timeout (it would stop the
	// browser); later steps run under one.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	tctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelT)
	if phone {
		must(t, tctx, chromedp.Emulate(phoneDevice{}))
	}
	return tctx
}

type phoneDevice struct{}

func (phoneDevice) Device() device.Info {
	return device.Info{Name: "phone 375", UserAgent: iPhoneUA, Width: 375, Height: 812, Scale: 2, Mobile: true, Touch: true}
}

func must(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		shot(t, ctx, "failure")
		t.Fatalf("browser at %s: %v", loc, err)
	}
}

func get[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("browser at %s: %v", loc, err)
	}
	return v
}

var shotSeq sync.Map

// shot saves a full-page screenshot as an artifact named after the test and the step.
func shot(t *testing.T, ctx context.Context, step string) {
	t.Helper()
	dir := os.Getenv("RENRAN_E2E_ARTIFACTS")
	if dir == "" {
		dir = "artifacts"
	}
	dir = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	v, _ := shotSeq.LoadOrStore(t.Name(), new(atomic.Int32))
	n := v.(*atomic.Int32).Add(1)
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	buf, err := chromedp.Run(sctx, chromedp.FullScreenshot(100)) // 100: PNG; lower values give JPEG
	if err != nil {
		t.Logf("screenshot %s: %v", step, err)
		return
	}
	name := filepath.Join(dir, fmt.Sprintf("%02d-%s.png", n, step))
	if err := os.WriteFile(name, buf, 0o644); err != nil {
		t.Logf("screenshot: %v", err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return strings.TrimSpace(get(t, ctx, chromedp.Text(chromedp.CSS(sel))))
}

func value(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return get(t, ctx, chromedp.Value(chromedp.CSS(sel)))
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	return get(t, ctx, chromedp.Location())
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	return get(t, ctx, chromedp.Evaluate[T](js))
}

// registerOnCallback takes 没有账号 on a provider's callback page: a new mobile, its SMS code
// from the outbox and a password, then waits for the user centre. The nickname field must
// have been prefilled with prefilled.
func (s *site) registerOnCallback(t *testing.T, ctx context.Context, prefilled string) {
	t.Helper()
	mobile := newMobile()
	must(t, ctx,
		chromedp.Click(chromedp.CSS("#tab-new")),
		chromedp.WaitVisible(chromedp.CSS("#qqreg-form")),
		chromedp.SendKeys(chromedp.CSS("#qqreg-mobile"), mobile),
		chromedp.Click(chromedp.CSS("#qqreg-form [data-send-code]")),
		chromedp.WaitVisible(chromedp.CSS("#toast")),
	)
	if got := value(t, ctx, "#qqreg-nickname"); got != prefilled {
		t.Errorf("nickname prefilled = %q, want %q", got, prefilled)
	}
	must(t, ctx, // the code exists once the click above has sent it
		chromedp.SendKeys(chromedp.CSS("#qqreg-sms_code"), s.smsCode(t, mobile)),
		chromedp.SendKeys(chromedp.CSS("#qqreg-password"), "a long passphrase"),
		chromedp.Click(chromedp.CSS("#qqreg-submit")),
		chromedp.WaitVisible(chromedp.CSS("#user-profile")),
	)
}
