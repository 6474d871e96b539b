package cluster_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/renran/accounts/internal/testenv"
)

// traffic keeps sending a password login, a /users/me/ and a /oauth/qq/url/ to base until
// stopped, and keeps every answer's status and error code.
type traffic struct {
	mu     sync.Mutex
	counts map[string]int // "503 service_unavailable", "200", …
	bad    []string       // answers an outage must never give
	stop   chan struct{}
	done   sync.WaitGroup
}

func startTraffic(t *testing.T, base, account, password, token string) *traffic {
	tr := &traffic{counts: map[string]int{}, stop: make(chan struct{})}
	for w := range 4 {
		tr.done.Add(1)
		go func() {
			defer tr.done.Done()
			c := newClient(t, fmt.Sprintf("10.9.%d.%d", w, 1+rand.IntN(200)))
			for i := 0; ; i++ {
				select {
				case <-tr.stop:
					return
				default:
				}
				var a answer
				switch i % 3 {
				case 0:
					a = c.do("POST", base, "/users/login/", map[string]any{"account": account, "password": password}, "")
				case 1:
					a = c.do("GET", base, "/users/me/", nil, token)
				case 2:
					a = c.do("GET", base, "/oauth/qq/url/", nil, "")
				}
				tr.record(a)
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	return tr
}

func (tr *traffic) record(a answer) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	key := fmt.Sprint(a.status)
	if a.err != nil {
		key = "error"
	}
	if code := a.str("error"); code != "" {
		key += " " + code
	}
	tr.counts[key]++
	switch {
	case a.err != nil, a.status >= 500 && a.status != 503:
		tr.bad = append(tr.bad, fmt.Sprintf("%d %s %v", a.status, a.raw, a.err))
	case a.status == 503 && (a.str("error") != "service_unavailable" || !strings.Contains(a.str("message"), "暂时不可用")):
		tr.bad = append(tr.bad, fmt.Sprintf("503 without the service_unavailable body: %s", a.raw))
	}
}

func (tr *traffic) finish(t *testing.T) {
	close(tr.stop)
	tr.done.Wait()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	t.Logf("answers during the test: %v", tr.counts)
	for i, b := range tr.bad {
		if i == 5 {
			t.Errorf("… and %d more", len(tr.bad)-5)
			break
		}
		t.Errorf("an outage gave: %s", b)
	}
}

// waitReady waits until /readyz answers want, and says how long that took.
func waitReady(t *testing.T, base string, want int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return time.Since(start)
			}
		}
		if time.Since(start) > within {
			t.Fatalf("/readyz did not answer %d within %v", want, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// expect503 checks that a request needing the broken part answers 503 with Retry-After.
func expect503(t *testing.T, c *client, what, method, base, path string, body any, tok string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; {
		a := c.do(method, base, path, body, tok)
		if a.status == 503 && a.str("error") == "service_unavailable" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s %s = %d %s, want 503 service_unavailable", what, method, path, a.status, a.raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestOutages: PostgreSQL restarted and Redis stopped and started under traffic. While a
// part is down the requests that need it answer 503 service_unavailable (never a 500 or a
// dropped connection) and /readyz is 503; when it is back everything works again without
// restarting the service.
func TestOutages(t *testing.T) {
	rd := testenv.RedisServer(t)
	pg := testenv.PostgresServer(t)
	emuAddr, addr := freeAddr(t), freeAddr(t)
	pub := "http://" + addr
	emu := start(t, "qq-emulator", emuAddr, "", []string{"qq-emulator", "-addr", emuAddr, "-redirect-uri", pub + "/oauth/qq/callback"}, nil)
	svc := start(t, "renran", addr, "/readyz", []string{"serve"}, map[string]string{
		"RENRAN_ADDR": addr, "RENRAN_PUBLIC_URL": pub, "RENRAN_DATA_DIR": t.TempDir(),
		"RENRAN_DATABASE_URL": pg.URL, "RENRAN_REDIS_URL": rd.URL, "RENRAN_SECRET_KEY": sharedSecret,
		"RENRAN_QQ_BASE_URL": emu.url, "RENRAN_TRUSTED_PROXIES": "127.0.0.1", "RENRAN_METRICS_ADDR": "off", "RENRAN_CAPTCHA": "off",
		"RENRAN_DATABASE_TIMEOUT": "2s",
	})
	base := svc.url
	const pw = "a long passphrase 荏苒"
	c := newClient(t, "10.8.0.1")
	mobile, tok := register(t, c, base, fmt.Sprintf("停机%d", rand.IntN(1e6)), pw)
	tr := startTraffic(t, base, mobile, pw, tok)

	t.Run("Redis stopped and started", func(t *testing.T) {
		rd.Stop()
		took := waitReady(t, base, 503, 15*time.Second)
		t.Logf("/readyz 503 %v after Redis stopped", took.Round(time.Millisecond))
		expect503(t, c, "a QQ state cannot be stored", "GET", base, "/oauth/qq/url/", nil, "")
		expect503(t, c, "the login throttle cannot be read", "POST", base, "/users/login/", map[string]any{"account": mobile, "password": pw}, "")
		expect503(t, c, "the SMS interval cannot be set", "POST", base, "/users/sms/", map[string]any{"mobile": randomMobile(), "purpose": "register"}, "")
		c.must(200, "GET", base, "/users/me/", nil, tok) // needs only the database
		rd.Start()
		took = waitReady(t, base, 200, 20*time.Second)
		t.Logf("/readyz 200 %v after Redis started", took.Round(time.Millisecond))
		c.must(200, "GET", base, "/oauth/qq/url/", nil, "")
		c.must(200, "POST", base, "/users/login/", map[string]any{"account": mobile, "password": pw}, "")
	})

	t.Run("PostgreSQL restarted", func(t *testing.T) {
		pg.Stop()
		took := waitReady(t, base, 503, 15*time.Second)
		t.Logf("/readyz 503 %v after PostgreSQL stopped", took.Round(time.Millisecond))
		expect503(t, c, "the user cannot be read", "GET", base, "/users/me/", nil, tok)
		expect503(t, c, "the login cannot be checked", "POST", base, "/users/login/", map[string]any{"account": mobile, "password": pw}, "")
		pg.Start()
		took = waitReady(t, base, 200, 30*time.Second)
		t.Logf("/readyz 200 %v after PostgreSQL started", took.Round(time.Millisecond))
		c.must(200, "GET", base, "/users/me/", nil, tok)
		c.must(200, "POST", base, "/users/login/", map[string]any{"account": mobile, "password": pw}, "")
		// A whole first-time QQ registration, after both outages.
		q, err := c.qqCallback(base, emu.url, "")
		if err != nil {
			t.Fatal(err)
		}
		p := c.qqInfo(base, q)
		if p.status != 200 {
			t.Fatalf("QQ callback after the outages = %d %s", p.status, p.raw)
		}
		m2 := randomMobile()
		code, err := c.smsCode(base, m2)
		if err != nil {
			t.Fatal(err)
		}
		c.must(201, "POST", base, "/oauth/qq/info/", map[string]any{"qq_user": p.str("qq_user"), "nickname": fmt.Sprintf("恢复%d", rand.IntN(1e6)), "mobile": m2, "sms_code": code, "password": pw}, "")
	})
	tr.finish(t)
}
