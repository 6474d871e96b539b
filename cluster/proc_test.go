package cluster_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/renran/accounts/internal/testenv"
)

// The tests in this package run the real binary, several copies at once, the way a site
// runs it behind a load balancer.

const sharedSecret = "cluster-test-secret-0123456789abcdef"

var build struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// binary builds cmd/renran once per test run.
func binary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "renran-cluster-")
		if err != nil {
			build.err = err
			return
		}
		build.path = filepath.Join(dir, "renran")
		cmd := exec.Command("go", "build", "-o", build.path, "./cmd/renran")
		cmd.Dir = ".."
		build.out, build.err = cmd.CombinedOutput()
	})
	if build.err != nil {
		t.Fatalf("go build ./cmd/renran: %v\n%s", build.err, build.out)
	}
	return build.path
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// proc is one running process of the binary.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	out  *testenv.SyncBuffer
	url  string
	args []string
	env  []string
	done chan struct{}
}

// start runs the binary with args and env (added to RENRAN_* defaults nothing else) and
// waits until ready answers 200 (or, with ready "", until the address accepts).
func start(t *testing.T, name, addr, ready string, args []string, env map[string]string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, url: "http://" + addr, args: args}
	for k, v := range env {
		p.env = append(p.env, k+"="+v)
	}
	p.run(ready)
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", p.name, tail(p.out.String(), 6000))
		}
	})
	return p
}

func (p *proc) run(ready string) {
	p.t.Helper()
	p.out = &testenv.SyncBuffer{}
	p.cmd = exec.Command(binary(p.t), p.args...)
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, p.env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.done = make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if ready == "" {
			if c, err := net.Dial("tcp", strings.TrimPrefix(p.url, "http://")); err == nil {
				c.Close()
				return
			}
		} else if resp, err := http.Get(p.url + ready); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.done:
			p.t.Fatalf("%s exited before it was ready:\n%s", p.name, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s not ready after 30 s:\n%s", p.name, p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL: no shutdown, no flush.
func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits for the graceful shutdown.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Errorf("%s did not stop within 30 s of SIGTERM", p.name)
		p.kill()
	}
}

// restart starts the process again with the same arguments.
func (p *proc) restart() {
	p.t.Helper()
	p.stop()
	p.run("/readyz")
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// client is one browser: a cookie jar shared by every instance (cookies ignore the port,
// as behind one load balancer), and requests sent to whichever instance is named.
type client struct {
	t  *testing.T
	c  *http.Client
	ip string // sent as X-Forwarded-For (the instances trust 127.0.0.1 as a proxy)
}

func newClient(t *testing.T, ip string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, ip: ip, c: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	status int
	body   map[string]any
	raw    string
	err    error
}

func (a answer) str(k string) string { s, _ := a.body[k].(string); return s }

// do sends a request to base+path; body (if not nil) as JSON; tok as a bearer token.
func (c *client) do(method, base, path string, body any, tok string) answer {
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return answer{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if c.ip != "" {
		req.Header.Set("X-Forwarded-For", c.ip)
	}
	resp, err := c.c.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

// must is do, failing the test unless the status is want.
func (c *client) must(want int, method, base, path string, body any, tok string) answer {
	c.t.Helper()
	a := c.do(method, base, path, body, tok)
	if a.err != nil || a.status != want {
		c.t.Fatalf("%s %s%s = %d %s %v; want %d", method, base, path, a.status, a.raw, a.err, want)
	}
	return a
}

// qqCallback asks base for an authorize URL, lets the emulator approve (as test user uin,
// or as a new QQ user when uin is ""), and returns the callback's query.
func (c *client) qqCallback(base, emu, uin string) (url.Values, error) {
	a := c.do("GET", base, "/oauth/qq/url/?next=/user", nil, "")
	if a.err != nil || a.status != 200 {
		return nil, fmt.Errorf("GET /oauth/qq/url/ = %d %s %v", a.status, a.raw, a.err)
	}
	au, _ := url.Parse(a.str("url"))
	q := au.Query()
	var resp *http.Response
	var err error
	if uin != "" {
		resp, err = c.c.Get(a.str("url") + "&qqemu_user=" + uin)
	} else {
		form := url.Values{"client_id": {q.Get("client_id")}, "redirect_uri": {q.Get("redirect_uri")}, "state": {q.Get("state")},
			"scope": {q.Get("scope")}, "new": {"1"}, "name": {"集群用户"}}
		resp, err = c.c.PostForm(emu+"/oauth2.0/approve", form)
	}
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	cb, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || cb.Query().Get("code") == "" {
		return nil, fmt.Errorf("emulator: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return cb.Query(), nil
}

// qqInfo forwards the callback's code and state to base.
func (c *client) qqInfo(base string, q url.Values) answer {
	return c.do("GET", base, "/oauth/qq/info/?code="+url.QueryEscape(q.Get("code"))+"&state="+url.QueryEscape(q.Get("state")), nil, "")
}

// smsCode asks base for a register code for mobile and reads it from base's outbox.
func (c *client) smsCode(base, mobile string) (string, error) {
	a := c.do("POST", base, "/users/sms/", map[string]any{"mobile": mobile, "purpose": "register"}, "")
	if a.err != nil || a.status != 200 {
		return "", fmt.Errorf("POST /users/sms/ = %d %s %v", a.status, a.raw, a.err)
	}
	resp, err := http.Get(base + "/_dev/outbox?to=" + mobile)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var list []struct{ Code string }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list) == 0 {
		return "", fmt.Errorf("no SMS for %s in the outbox of %s (%v)", mobile, base, err)
	}
	return list[0].Code, nil
}
