package cluster_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/renran/accounts/internal/testenv"
)

// cluster is a QQ emulator process and instances of `renran serve` sharing one PostgreSQL
// schema and one Redis prefix, all with the same public URL, secret and QQ app.
type cluster struct {
	t         *testing.T
	emu       *proc
	db        string // the PostgreSQL URL
	redis     string
	prefix    string
	publicURL string
	instances []*proc
}

func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	c := &cluster{t: t, db: testenv.Postgres(t)}
	c.redis, c.prefix = testenv.Redis(t)
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = freeAddr(t)
	}
	c.publicURL = "http://" + addrs[0] // as if a load balancer answered there
	emuAddr := freeAddr(t)
	c.emu = start(t, "qq-emulator", emuAddr, "", []string{"qq-emulator", "-addr", emuAddr,
		"-redirect-uri", c.publicURL + "/oauth/qq/callback"}, nil)
	for i, addr := range addrs {
		c.instances = append(c.instances, start(t, fmt.Sprintf("instance %c", 'A'+i), addr, "/readyz", []string{"serve"}, c.env(addr)))
	}
	return c
}

func (c *cluster) env(addr string) map[string]string {
	return map[string]string{
		"RENRAN_ADDR": addr, "RENRAN_PUBLIC_URL": c.publicURL, "RENRAN_DATA_DIR": c.t.TempDir(),
		"RENRAN_DATABASE_URL": c.db, "RENRAN_REDIS_URL": c.redis, "RENRAN_REDIS_PREFIX": c.prefix,
		"RENRAN_SECRET_KEY": sharedSecret, "RENRAN_QQ_BASE_URL": c.emu.url,
		"RENRAN_TRUSTED_PROXIES": "127.0.0.1", "RENRAN_METRICS_ADDR": "off", "RENRAN_CAPTCHA": "off",
	}
}

func (c *cluster) sql() *sql.DB {
	db, err := sql.Open("pgx", c.db)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { db.Close() })
	return db
}

func randomMobile() string { return fmt.Sprintf("139%08d", rand.IntN(100_000_000)) }

func randomIP() string {
	return fmt.Sprintf("10.%d.%d.%d", rand.IntN(256), rand.IntN(256), 1+rand.IntN(250))
}

// register makes an account through base with an SMS code from base's outbox.
func register(t *testing.T, c *client, base, nickname, password string) (mobile, token string) {
	t.Helper()
	mobile = randomMobile()
	code, err := c.smsCode(base, mobile)
	if err != nil {
		t.Fatal(err)
	}
	a := c.must(201, "POST", base, "/users/", map[string]any{"nickname": nickname, "mobile": mobile, "sms_code": code, "password": password}, "")
	return mobile, a.str("token")
}

// TestTwoInstances: nothing a person does depends on which instance answers.
func TestTwoInstances(t *testing.T) {
	cl := newCluster(t, 2)
	a, b := cl.instances[0].url, cl.instances[1].url
	const pw = "a long passphrase 荏苒"

	t.Run("an authorize URL from A finishes on B", func(t *testing.T) {
		c := newClient(t, randomIP())
		q, err := c.qqCallback(a, cl.emu.url, "10001")
		if err != nil {
			t.Fatal(err)
		}
		if r := c.qqInfo(b, q); r.status != 200 || r.str("qq_user") == "" {
			t.Fatalf("callback on B = %d %s", r.status, r.raw)
		}
	})

	t.Run("a pending identity from A binds on B, and its handle replayed on A is refused", func(t *testing.T) {
		c := newClient(t, randomIP())
		mobile, _ := register(t, c, b, fmt.Sprintf("绑定%d", rand.IntN(1e6)), pw)
		q, err := c.qqCallback(a, cl.emu.url, "")
		if err != nil {
			t.Fatal(err)
		}
		p := c.qqInfo(a, q)
		if p.status != 200 || p.str("qq_user") == "" {
			t.Fatalf("callback on A = %d %s", p.status, p.raw)
		}
		bind := map[string]any{"qq_user": p.str("qq_user"), "account": mobile, "password": pw}
		if r := c.do("PUT", b, "/oauth/qq/info/", bind, ""); r.status != 200 || r.str("token") == "" {
			t.Fatalf("bind on B = %d %s", r.status, r.raw)
		}
		if r := c.do("PUT", a, "/oauth/qq/info/", bind, ""); r.status != 410 {
			t.Fatalf("the same handle replayed on A = %d %s, want 410", r.status, r.raw)
		}
	})

	t.Run("the SMS interval counts across instances", func(t *testing.T) {
		c := newClient(t, randomIP())
		mobile := randomMobile()
		c.must(200, "POST", a, "/users/sms/", map[string]any{"mobile": mobile, "purpose": "register"}, "")
		r := c.do("POST", b, "/users/sms/", map[string]any{"mobile": mobile, "purpose": "register"}, "")
		if r.status != 429 || r.str("error") != "sms_too_frequent" {
			t.Fatalf("a second code within a minute on B = %d %s, want 429 sms_too_frequent", r.status, r.raw)
		}
	})

	t.Run("the login throttle counts across instances", func(t *testing.T) {
		c := newClient(t, randomIP())
		mobile, _ := register(t, c, a, fmt.Sprintf("限流%d", rand.IntN(1e6)), pw)
		for i := range 11 { // the 11th goes through the first back-off gate
			base := []string{a, b}[i%2]
			if r := c.do("POST", base, "/users/login/", map[string]any{"account": mobile, "password": "wrong guess"}, ""); r.status != 401 {
				t.Fatalf("wrong password %d = %d %s, want 401", i+1, r.status, r.raw)
			}
		}
		for _, base := range []string{a, b} {
			if r := c.do("POST", base, "/users/login/", map[string]any{"account": mobile, "password": pw}, ""); r.status != 429 {
				t.Fatalf("after 11 failures spread over A and B, a login on %s = %d %s, want 429 (back-off)", base, r.status, r.raw)
			}
		}
	})

	t.Run("a logout on A is refused on B, and after A restarts", func(t *testing.T) {
		c := newClient(t, randomIP())
		_, tok := register(t, c, a, fmt.Sprintf("退出%d", rand.IntN(1e6)), pw)
		c.must(200, "GET", b, "/users/me/", nil, tok)
		c.must(204, "POST", a, "/users/logout/", map[string]any{}, tok)
		if r := c.do("GET", b, "/users/me/", nil, tok); r.status != 401 {
			t.Fatalf("the logged-out token on B = %d %s, want 401", r.status, r.raw)
		}
		cl.instances[0].restart()
		if r := c.do("GET", a, "/users/me/", nil, tok); r.status != 401 {
			t.Fatalf("the logged-out token on A after its restart = %d %s, want 401", r.status, r.raw)
		}
	})

	t.Run("sessions: tokens of A verify on B, a refresh token replayed across instances ends the session, an ended session is refused everywhere and after a restart", func(t *testing.T) {
		c := newClient(t, randomIP())
		mobile, tok := register(t, c, a, fmt.Sprintf("会话%d", rand.IntN(1e6)), pw)
		c.must(200, "GET", b, "/users/me/", nil, tok) // both instances sign and verify with the same key
		l := c.must(200, "POST", b, "/users/login/", map[string]any{"account": mobile, "password": pw, "remember": true}, "")
		r1 := l.str("refresh_token")
		r2 := c.must(200, "POST", a, "/users/token/refresh/", map[string]any{"refresh_token": r1}, "").str("refresh_token")
		n := c.must(200, "POST", b, "/users/token/refresh/", map[string]any{"refresh_token": r2}, "")
		if r := c.do("POST", a, "/users/token/refresh/", map[string]any{"refresh_token": r1}, ""); r.status != 401 || r.str("error") != "session_revoked" {
			t.Fatalf("r1 replayed on A after two rotations = %d %s, want 401 session_revoked", r.status, r.raw)
		}
		for _, base := range []string{a, b} {
			if r := c.do("GET", base, "/users/me/", nil, n.str("token")); r.status != 401 {
				t.Fatalf("the newest token of the ended session on %s = %d %s, want 401", base, r.status, r.raw)
			}
		}
		// Ending a session from B's user centre holds on A, and after A restarts; a live
		// session's token survives the restart (the keys are in the database).
		other := c.must(200, "POST", a, "/users/login/", map[string]any{"account": mobile, "password": pw}, "").str("token")
		list := c.must(200, "GET", b, "/users/me/sessions/", nil, tok)
		var otherID string // the one live session besides the registration's (the other ended by the reuse)
		for _, x := range list.body["sessions"].([]any) {
			if m := x.(map[string]any); m["current"] != true {
				otherID, _ = m["id"].(string)
			}
		}
		c.must(204, "DELETE", b, "/users/me/sessions/"+otherID, nil, tok)
		if r := c.do("GET", a, "/users/me/", nil, other); r.status != 401 {
			t.Fatalf("a session ended on B, its token on A = %d %s, want 401", r.status, r.raw)
		}
		cl.instances[0].restart()
		if r := c.do("GET", a, "/users/me/", nil, other); r.status != 401 {
			t.Fatalf("the ended session's token on A after its restart = %d %s, want 401", r.status, r.raw)
		}
		c.must(200, "GET", a, "/users/me/", nil, tok)
	})

	t.Run("SIGTERM writes every audit event B accepted", func(t *testing.T) {
		c := newClient(t, randomIP())
		mobile, _ := register(t, c, a, fmt.Sprintf("审计%d", rand.IntN(1e6)), pw)
		const workers, each = 4, 10 // fewer in flight at once than the account's free attempts
		const logins = workers * each
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := newClient(t, randomIP()) // an address has at most 2 hashes in flight
				for range each {
					w.must(200, "POST", b, "/users/login/", map[string]any{"account": mobile, "password": pw}, "")
				}
			}()
		}
		wg.Wait()
		cl.instances[1].stop() // at once: the journal still holds events
		var n int
		err := cl.sql().QueryRowContext(context.Background(), `SELECT count(*) FROM audit_events e JOIN users u ON u.id = e.user_id
			WHERE u.mobile = $1 AND e.event = 'login_ok'`, mobile).Scan(&n)
		if err != nil || n != logins {
			t.Fatalf("after SIGTERM the database has %d login_ok events (%v); want %d", n, err, logins)
		}
	})
}

// TestKilledMidBurst: SIGKILL one instance while registrations with QQ and binds run
// against it. Every request that was answered 2xx is in the database whole, no user is
// left without the identity its registration bound, and the other instance goes on.
func TestKilledMidBurst(t *testing.T) {
	cl := newCluster(t, 2)
	a, b := cl.instances[0].url, cl.instances[1].url
	const pw = "a long passphrase 荏苒"

	// Accounts to bind to, made on B before the burst.
	const binders = 12
	accounts := make([]string, binders)
	for i := range accounts {
		accounts[i], _ = register(t, newClient(t, randomIP()), b, fmt.Sprintf("待绑%d_%d", i, rand.IntN(1e6)), pw)
	}

	var answered, started atomic.Int64
	var mu sync.Mutex
	registered := map[string]bool{} // nicknames answered 2xx
	bound := map[string]bool{}      // mobiles answered 2xx
	var wg sync.WaitGroup
	stop := make(chan struct{})
	worker := func(i int) {
		defer wg.Done()
		for j := 0; ; j++ {
			select {
			case <-stop:
				return
			default:
			}
			c := newClient(t, randomIP())
			started.Add(1)
			q, err := c.qqCallback(a, cl.emu.url, "")
			if err != nil {
				return // A is gone
			}
			p := c.qqInfo(a, q)
			if p.status != 200 {
				return
			}
			if i < binders && j == 0 {
				r := c.do("PUT", a, "/oauth/qq/info/", map[string]any{"qq_user": p.str("qq_user"), "account": accounts[i], "password": pw}, "")
				if r.status == 200 {
					mu.Lock()
					bound[accounts[i]] = true
					mu.Unlock()
					answered.Add(1)
				}
				continue
			}
			mobile := randomMobile()
			code, err := c.smsCode(a, mobile)
			if err != nil {
				return
			}
			nick := fmt.Sprintf("突发%d_%d_%d", i, j, rand.IntN(1e6))
			r := c.do("POST", a, "/oauth/qq/info/", map[string]any{"qq_user": p.str("qq_user"), "nickname": nick, "mobile": mobile, "sms_code": code, "password": pw}, "")
			if r.status == 201 || r.status == 200 {
				mu.Lock()
				registered[nick] = true
				mu.Unlock()
				answered.Add(1)
			}
		}
	}
	for i := range 24 {
		wg.Add(1)
		go worker(i)
	}
	for deadline := time.Now().Add(30 * time.Second); answered.Load() < 20 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	cl.instances[0].kill() // mid-burst: requests are in flight
	close(stop)
	wg.Wait()
	t.Logf("%d flows started, %d answered 2xx before SIGKILL", started.Load(), answered.Load())
	if answered.Load() < 20 {
		t.Fatalf("only %d flows finished before the kill; the burst did not run", answered.Load())
	}

	db := cl.sql()
	ctx := context.Background()
	var orphans, dangling int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM users u WHERE u.nickname LIKE '突发%'
		AND NOT EXISTS (SELECT 1 FROM oauth_identities i WHERE i.user_id = u.id)`).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 {
		t.Errorf("%d users registered with QQ have no QQ identity: a half-done registration", orphans)
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM oauth_identities i
		WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = i.user_id)`).Scan(&dangling); err != nil {
		t.Fatal(err)
	}
	if dangling != 0 {
		t.Errorf("%d identities point at no user", dangling)
	}
	// Every committed change has its audit record, written in the change's transaction
	// (before: 5 committed writes had none after a kill -9, the journal not yet flushed).
	var unaudited, unauditedBinds int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM users u WHERE u.nickname LIKE '突发%'
		AND NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.user_id = u.id AND e.event = 'register')`).Scan(&unaudited); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM oauth_identities i
		WHERE NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.user_id = i.user_id AND e.event = 'qq_bind')`).Scan(&unauditedBinds); err != nil {
		t.Fatal(err)
	}
	if unaudited != 0 || unauditedBinds != 0 {
		t.Errorf("after SIGKILL, %d registrations and %d QQ bindings have no audit event", unaudited, unauditedBinds)
	}
	mu.Lock()
	defer mu.Unlock()
	for nick := range registered {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM users u JOIN oauth_identities i ON i.user_id = u.id WHERE u.nickname = $1`, nick).Scan(&n); err != nil || n != 1 {
			t.Errorf("registration of %s was answered 2xx but is not in the database whole (%d rows, %v)", nick, n, err)
		}
	}
	for mobile := range bound {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM users u JOIN oauth_identities i ON i.user_id = u.id WHERE u.mobile = $1`, mobile).Scan(&n); err != nil || n != 1 {
			t.Errorf("bind to %s was answered 200 but is not in the database (%d rows, %v)", mobile, n, err)
		}
	}

	// B goes on serving: ready, password logins, a new registration.
	c := newClient(t, randomIP())
	if resp, err := http.Get(b + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("B /readyz after A was killed: %v %v", resp, err)
	}
	c.must(200, "POST", b, "/users/login/", map[string]any{"account": accounts[0], "password": pw}, "")
	register(t, c, b, fmt.Sprintf("之后%d", rand.IntN(1e6)), pw)
}
