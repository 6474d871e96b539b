package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startRun runs the program as `renran` with no arguments, on the embedded default, and
// waits for /readyz.
func startRun(t *testing.T, extra map[string]string) (base string, stdout, stderr *lockedBuffer, stop func() error) {
	t.Helper()
	addr := freeAddr(t)
	base = "http://" + addr
	vars := map[string]string{"RENRAN_ADDR": addr, "RENRAN_PUBLIC_URL": base, "RENRAN_DATA_DIR": filepath.Join(t.TempDir(), "data")}
	for k, v := range extra {
		vars[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = &lockedBuffer{}, &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- Run(ctx, nil, func(k string) string { return vars[k] }, stdout, stderr) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("run returned before it was ready: %v\n%s", err, stderr)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("/readyz never answered 200\n%s", stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop = func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			t.Fatal("run did not stop after its context was cancelled")
			return nil
		}
	}
	return base, stdout, stderr, stop
}

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
	base, stdout, stderr, stop := startRun(t, nil)
	if out := stdout.String(); !strings.Contains(out, "listening on "+base) || !strings.Contains(out, "/_dev/qq") || !strings.Contains(out, base+"/login") {
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
	if err := stop(); err != nil {
		t.Fatalf("run after shutdown = %v", err)
	}
	if !strings.Contains(stderr.String(), "shutting down") {
		t.Errorf("no shutdown line in the log")
	}
}

// TestDevSecretIsKept: the development secret is made once and reused, so tokens survive
// a restart; it is not world-readable.
func TestDevSecretIsKept(t *testing.T) {
	dir := t.TempDir()
	a, err := devSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := devSecret(dir)
	if err != nil || !bytes.Equal(a, b) || len(a) < 32 {
		t.Fatalf("devSecret twice = %q, %q, %v", a, b, err)
	}
	fi, _ := os.Stat(filepath.Join(dir, "secret.key"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secret.key mode = %v, want 0600", fi.Mode().Perm())
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
	if err := Run(context.Background(), []string{"migrate"}, env, &out, io.Discard); err != nil || !strings.Contains(out.String(), "schema version 1") {
		t.Errorf("migrate = %v, %q", err, out.String())
	}
	if err := Run(context.Background(), []string{"frobnicate"}, env, io.Discard, io.Discard); err == nil {
		t.Error("an unknown command did not fail")
	}
	prod := func(k string) string {
		return map[string]string{"RENRAN_ENV": "production", "RENRAN_DATA_DIR": data}[k]
	}
	err := Run(context.Background(), nil, prod, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "RENRAN_SECRET_KEY") {
		t.Errorf("production without configuration = %v, want a refusal naming what is missing", err)
	}
}
