package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/renran/accounts/internal/config"
	"github.com/renran/accounts/internal/password"
)

// setup is what a bench run talks to: the service, the emulator it uses, and the
// reference server, with the processes bench started (stopped by close).
type setup struct {
	service, emulator, reference string
	callback                     string // the redirect URI registered for the app
	servicePID                   int
	procs                        []*exec.Cmd
	dir                          string
	keep                         bool
}

func (s *setup) close() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		_ = p.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.Process.Kill()
		}
	}
	if s.dir != "" && !s.keep {
		_ = os.RemoveAll(s.dir)
	}
}

// freeAddr is a free loopback address.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// start runs this binary with args and env (nothing else of the caller's RENRAN_*), its
// output to a log file in dir.
func (s *setup) start(name string, args, env []string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(s.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RENRAN_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s.procs = append(s.procs, cmd)
	return cmd, nil
}

// waitHTTP waits until GET u answers 200 (15 s at most).
func waitHTTP(u string) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer 200 within 15 s", u)
}

// setUp starts what the run needs: without -target, the emulator, the service and the
// reference server, each a process of this binary; with -target, only the reference.
func setUp(o options) (*setup, error) {
	dir, err := os.MkdirTemp("", "renran-bench-")
	if err != nil {
		return nil, err
	}
	s := &setup{dir: dir, keep: o.keep}
	if o.target == "" {
		emuAddr, err1 := freeAddr()
		svcAddr, err2 := freeAddr()
		if err := errors.Join(err1, err2); err != nil {
			return s, err
		}
		s.service, s.emulator = "http://"+svcAddr, "http://"+emuAddr
		s.callback = s.service + "/oauth/qq/callback"
		if _, err := s.start("qq-emulator", []string{"qq-emulator", "-addr", emuAddr, "-latency", o.qqLatency.String(), "-redirect-uri", s.callback}, nil); err != nil {
			return s, err
		}
		env := []string{
			"RENRAN_ADDR=" + svcAddr, "RENRAN_PUBLIC_URL=" + s.service, "RENRAN_DATA_DIR=" + filepath.Join(dir, "data"),
			"RENRAN_QQ_BASE_URL=" + s.emulator, "RENRAN_RATE_LIMITS=off", "RENRAN_CAPTCHA=off", "RENRAN_METRICS_ADDR=off",
			"RENRAN_MAX_CONNS_PER_ADDR=0", "RENRAN_TRUSTED_PROXIES=127.0.0.1",
		}
		if o.pprof != "" {
			env = append(env, "RENRAN_PPROF="+o.pprof)
		}
		svc, err := s.start("renran", []string{"serve"}, env)
		if err != nil {
			return s, err
		}
		s.servicePID = svc.Process.Pid
		if err := errors.Join(waitHTTP(s.emulator+"/favicon.ico"), waitHTTP(s.service+"/readyz")); err != nil {
			return s, fmt.Errorf("%w (logs in %s)", err, dir)
		}
	} else {
		s.service, s.emulator, s.servicePID = strings.TrimRight(o.target, "/"), strings.TrimRight(o.emulator, "/"), o.pid
		if s.emulator == "" {
			s.emulator = s.service + "/_dev/qq"
		}
		s.callback = s.service + "/oauth/qq/callback"
	}
	if o.reference {
		refAddr, err := freeAddr()
		if err != nil {
			return s, err
		}
		s.reference = "http://" + refAddr
		if _, err := s.start("reference", []string{"bench-reference", "-addr", refAddr, "-emulator", s.emulator,
			"-app-id", config.DevQQAppID, "-app-key", config.DevQQAppKey, "-redirect-uri", s.callback}, nil); err != nil {
			return s, err
		}
		if err := waitHTTP(s.reference + "/healthz"); err != nil {
			return s, err
		}
	}
	return s, nil
}

func run(ctx context.Context, o options) error {
	s, err := setUp(o)
	defer s.close()
	if err != nil {
		return fmt.Errorf("renran bench: set up: %w", err)
	}
	fmt.Fprintf(o.log, "renran bench: service %s, QQ emulator %s (latency %v), reference %s\n", s.service, s.emulator, o.qqLatency, orDash(s.reference))
	var results []Result
	for _, sc := range o.scenarios {
		if ctx.Err() != nil {
			break
		}
		r, err := measureScenario(ctx, o, s, sc)
		if err != nil {
			return fmt.Errorf("renran bench: %s: %w", sc, err)
		}
		results = append(results, r)
	}
	report(o.stdout, results)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// measureScenario prepares sc, runs it against the service and (when there is one) its
// reference, and returns the numbers.
func measureScenario(ctx context.Context, o options, s *setup, sc string) (Result, error) {
	fmt.Fprintf(o.log, "renran bench: %s: preparing %d virtual users…\n", sc, o.conc)
	flows, err := prepare(ctx, o, s, sc, s.service)
	if err != nil {
		return Result{}, err
	}
	r := drive(ctx, o, sc, flows, s.servicePID)
	r.QQLatencyMS = int(o.qqLatency / time.Millisecond)
	switch sc {
	case "me", "qq-returning":
		if s.reference == "" {
			break
		}
		refFlows, err := prepare(ctx, o, s, sc, s.reference)
		if err != nil {
			return r, fmt.Errorf("reference: %w", err)
		}
		ref := drive(ctx, o, sc+" (reference)", refFlows, 0)
		r.Reference, r.RefP99MS = ref.FlowsPerSec, ref.P99MS
		r.ReferenceIs = map[string]string{"me": "bare net/http handler", "qq-returning": "minimal returning-QQ handler"}[sc]
	case "password-login":
		t := hashTime()
		r.HashMS = float64(t) / float64(time.Millisecond)
		r.Reference = float64(cores) / t.Seconds()
		r.ReferenceIs = "cores ÷ one Argon2id hash"
	}
	if r.Reference > 0 {
		r.Ratio = r.FlowsPerSec / r.Reference
	}
	if sc == "qq-returning" && o.qqLatency > 0 {
		r.FloorPerSec = float64(o.conc) / (2 * o.qqLatency.Seconds())
		r.FloorRatio = r.FlowsPerSec / r.FloorPerSec
	}
	return r, nil
}

// hashTime is one Argon2id hash at the production parameters here (the median of 5).
func hashTime() time.Duration {
	h := password.NewHasher(password.DefaultParams, 1)
	var ts []time.Duration
	for range 5 {
		start := time.Now()
		_, _ = h.Hash(context.Background(), "correct horse battery staple")
		ts = append(ts, time.Since(start))
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	return ts[2]
}

// flow is one virtual user's repeated step; it returns an error kind and message on failure.
type flow func(ctx context.Context) (kind, msg string)

// drive runs the flows, one goroutine each, for the warm-up and then the measured period,
// with a progress line every second.
func drive(ctx context.Context, o options, name string, flows []flow, pid int) Result {
	var measuring atomic.Bool
	var done atomic.Int64
	type vuResult struct {
		lat    []time.Duration
		errs   map[string]int
		sample map[string]string
	}
	res := make([]vuResult, len(flows))
	stop := make(chan struct{})
	vctx, stopVUs := context.WithCancel(ctx) // ends a virtual user's wait (comeBack) at the end
	defer stopVUs()
	var wg sync.WaitGroup
	for i, f := range flows {
		res[i] = vuResult{errs: map[string]int{}, sample: map[string]string{}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				kind, msg := f(vctx)
				if !measuring.Load() {
					continue
				}
				if kind != "" {
					res[i].errs[kind]++
					if _, ok := res[i].sample[kind]; !ok {
						res[i].sample[kind] = msg
					}
					continue
				}
				res[i].lat = append(res[i].lat, time.Since(start))
				done.Add(1)
			}
		}()
	}
	select {
	case <-time.After(o.warmup):
	case <-ctx.Done():
	}
	measuring.Store(true)
	mctx, stopRSS := context.WithCancel(ctx)
	var rss func() float64
	if pid > 0 {
		rss = peakRSS(mctx, pid)
	}
	start := time.Now()
	tick := time.NewTicker(time.Second)
	var last int64
	for time.Since(start) < o.duration && ctx.Err() == nil {
		<-tick.C
		n := done.Load()
		fmt.Fprintf(o.log, "\r%-28s %5.1f s %10d flows/s  %d done", name, time.Since(start).Seconds(), n-last, n)
		last = n
	}
	tick.Stop()
	measuring.Store(false)
	elapsed := time.Since(start)
	close(stop)
	stopVUs()
	wg.Wait()
	stopRSS()
	fmt.Fprintln(o.log)

	r := Result{Scenario: name, Concurrency: o.conc, Seconds: elapsed.Seconds(), ErrorKinds: map[string]int{}, Examples: map[string]string{},
		Cores: cores}
	var all []time.Duration
	for _, v := range res {
		all = append(all, v.lat...)
		for k, n := range v.errs {
			r.ErrorKinds[k] += n
			r.Errors += n
			if _, ok := r.Examples[k]; !ok {
				r.Examples[k] = v.sample[k]
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	r.Flows = len(all)
	r.FlowsPerSec = float64(len(all)) / elapsed.Seconds()
	r.P50MS, r.P90MS, r.P99MS = percentile(all, 50), percentile(all, 90), percentile(all, 99)
	if len(all) > 0 {
		r.MaxMS = float64(all[len(all)-1]) / float64(time.Millisecond)
	}
	if rss != nil {
		r.PeakRSSMB = rss()
	}
	if len(r.Examples) > 0 {
		for _, v := range r.Examples {
			r.ErrorExample = v
			break
		}
	}
	return r
}

// client is one virtual user's browser: its own cookies, connections kept alive, no
// redirects followed.
type client struct {
	c    *http.Client
	base string
	ip   string // the address it claims (X-Forwarded-For): each virtual user is a person of its own
}

var transport = &http.Transport{
	Proxy:               nil,
	MaxIdleConns:        10000,
	MaxIdleConnsPerHost: 10000,
	IdleConnTimeout:     90 * time.Second,
	DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
}

var clientSeq atomic.Int64

// newClient is a new virtual user. Its requests name an address of their own in
// X-Forwarded-For (198.18.0.0/15, the range set aside for benchmarks), which the started
// service believes (RENRAN_TRUSTED_PROXIES=127.0.0.1): per-address limits that stay on
// with RENRAN_RATE_LIMITS=off, such as two password hashes waiting per address, then treat
// the virtual users as the different people they stand for.
func newClient(base string) *client {
	jar, _ := cookiejar.New(nil)
	n := clientSeq.Add(1)
	return &client{base: base, ip: fmt.Sprintf("198.%d.%d.%d", 18+n>>16&1, n>>8&255, n&255),
		c: &http.Client{Jar: jar, Transport: transport, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// answer is one HTTP exchange's outcome.
type answer struct {
	status int
	body   map[string]any
	header http.Header
}

func (a answer) str(k string) string { s, _ := a.body[k].(string); return s }

// do sends a request (body as JSON when not nil, tok as a bearer token) and reads a JSON
// answer; a transport failure is status 0.
func (c *client) do(ctx context.Context, method, u string, body any, tok string) (answer, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	if !strings.HasPrefix(u, "http") {
		u = c.base + u
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return answer{}, err
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
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body) // read to the end, so the connection is reused
	a := answer{status: resp.StatusCode, header: resp.Header}
	_ = json.Unmarshal(raw, &a.body)
	if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests {
		comeBack(ctx, resp.Header.Get("Retry-After"))
	}
	return a, nil
}

// comeBack waits as long as a Retry-After of whole seconds asks (until ctx ends), as a
// person told 服务繁忙，请稍后重试 would: a virtual user that tried again at once would turn a
// burst the service sheds into a flood of refusals that takes the machine from the work.
func comeBack(ctx context.Context, retryAfter string) {
	n, err := strconv.Atoi(retryAfter)
	if err != nil || n <= 0 {
		return
	}
	t := time.NewTimer(time.Duration(n) * time.Second)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// failure names what went wrong, for the error table.
func failure(step string, a answer, err error) (string, string) {
	if err != nil {
		kind := "transport"
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			kind = "timeout"
		}
		return step + ": " + kind, err.Error()
	}
	return fmt.Sprintf("%s: %d %s", step, a.status, a.str("error")), fmt.Sprintf("%d %v", a.status, a.body)
}

var mobileSeq atomic.Int64

// newMobile returns a mobile no run of this process has used (a random start, then +1).
func newMobile() string {
	if mobileSeq.Load() == 0 {
		mobileSeq.CompareAndSwap(0, time.Now().UnixNano()%50_000_000)
	}
	return "136" + fmt.Sprintf("%08d", mobileSeq.Add(1)%100_000_000)
}

// registerAccount makes an account with an SMS code from the development outbox; the
// password is benchPassword. It returns the login body.
func (c *client) registerAccount(ctx context.Context, nickname string, qqUser string) (answer, error) {
	mobile := newMobile()
	if a, err := c.do(ctx, "POST", "/users/sms/", map[string]any{"mobile": mobile, "purpose": "register"}, ""); err != nil || a.status != 200 {
		k, m := failure("sms", a, err)
		return a, errors.New(k + " " + m)
	}
	code, err := c.outboxCode(ctx, mobile)
	if err != nil {
		return answer{}, err
	}
	body := map[string]any{"nickname": nickname, "mobile": mobile, "sms_code": code, "password": benchPassword}
	path := "/users/"
	if qqUser != "" {
		body["qq_user"], path = qqUser, "/oauth/qq/info/"
	}
	a, err := c.do(ctx, "POST", path, body, "")
	if err != nil || a.status != 201 {
		k, m := failure("register", a, err)
		return a, errors.New(k + " " + m)
	}
	return a, nil
}

const benchPassword = "bench passphrase 荏苒 2026"

// outboxCode reads the newest SMS code to mobile from the development outbox.
func (c *client) outboxCode(ctx context.Context, mobile string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/_dev/outbox?to="+url.QueryEscape(mobile), nil)
	resp, err := c.c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var list []struct{ Code string }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list) == 0 || list[0].Code == "" {
		return "", fmt.Errorf("no SMS code for %s in the development outbox (is the target in development mode?)", mobile)
	}
	return list[0].Code, nil
}

// qqCallback runs the browser's part of a QQ login: the authorize URL from the site, the
// emulator approving as uin ("new": a new QQ user) — the browser's round trip to QQ —
// and returns the callback's query (code and state).
func (c *client) qqCallback(ctx context.Context, uin string) (string, string, error) {
	a, err := c.do(ctx, "GET", "/oauth/qq/url/?next=/user", nil, "")
	if err != nil || a.status != 200 {
		k, m := failure("url", a, err)
		return "", k, errors.New(m)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", a.str("url")+"&qqemu_user="+uin, nil)
	req.Header.Set("X-Forwarded-For", c.ip)
	resp, err := c.c.Do(req)
	if err != nil {
		k, _ := failure("authorize", answer{}, err)
		return "", k, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Query().Get("code") == "" {
		return "", "authorize: " + strconv.Itoa(resp.StatusCode), fmt.Errorf("the emulator did not approve: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.RawQuery, "", nil
}
