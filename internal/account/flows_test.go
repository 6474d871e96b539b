package account_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/kv"
	"github.com/renran/accounts/internal/password"
	"github.com/renran/accounts/internal/store"
)

// Flow tests of the account package itself, on a real SQLite store, the in-process store
// and a fake clock, with a fake provider behind the Provider seam and a mailer that keeps
// what it is given.

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type mailbox struct {
	mu    sync.Mutex
	mails []account.MailMessage
}

func (m *mailbox) Enqueue(msg account.MailMessage) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mails = append(m.mails, msg)
	return nil
}

// token waits for the n-th mail to addr that carries a link to page and returns its token.
func (m *mailbox) token(t *testing.T, addr, page string, n int) string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		m.mu.Lock()
		var links []string
		for _, msg := range m.mails {
			if msg.To == addr && strings.Contains(msg.Link, page+"?") {
				links = append(links, msg.Link)
			}
		}
		m.mu.Unlock()
		if len(links) >= n {
			u, _ := url.Parse(links[n-1])
			return u.Query().Get("token")
		}
	}
	t.Fatalf("no mail %d to %s for %s", n, addr, page)
	return ""
}

// fakeProvider is an OAuth provider whose codes name their subject: code "sub-1" is the
// user "sub-1".
type fakeProvider struct{}

func (fakeProvider) Name() string  { return "fake" }
func (fakeProvider) AppID() string { return "app" }
func (fakeProvider) AuthorizeURL(state string, _ account.Browser) (string, string) {
	return "https://fake.example/authorize?state=" + state, "app"
}
func (fakeProvider) Profile(context.Context, account.External) (string, string, error) {
	return "假用户", "", nil
}
func (fakeProvider) Identify(_ context.Context, _, code string) (account.External, error) {
	return account.External{Subject: code, AccessToken: "at-" + code}, nil
}

// smsNotices keeps the security notices sent by SMS.
type smsNotices struct {
	mu   sync.Mutex
	sent []string // mobile + " " + what
}

func (n *smsNotices) SendNotice(_ context.Context, mobile, what string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, mobile+" "+what)
	return nil
}

// wait returns the notices once there are want of them (or after a second, for fewer).
func (n *smsNotices) wait(want int) []string {
	for deadline := time.Now().Add(time.Second); ; time.Sleep(5 * time.Millisecond) {
		n.mu.Lock()
		got := append([]string(nil), n.sent...)
		n.mu.Unlock()
		if len(got) >= want || time.Now().After(deadline) {
			return got
		}
	}
}

type fixture struct {
	svc     *account.Service
	db      *store.DB
	clock   *clock
	mail    *mailbox
	notices *smsNotices
}

func newFixture(t *testing.T) *fixture {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "a.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{t: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	m := kv.NewMemory(c.now)
	t.Cleanup(func() { m.Close() })
	mb, nb := &mailbox{}, &smsNotices{}
	svc, err := account.New(account.Options{Notices: nb,
		Store: db, KV: m, Hasher: password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}, 4),
		Secret: []byte("flows-test-secret-Vq8Lr2Kx9Pm4Tz7Nw1Yb"), Limits: true, Logger: slog.New(slog.DiscardHandler), Now: c.now,
		Mailer: mb, PublicURL: "https://renran.example", Providers: []account.Provider{fakeProvider{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return &fixture{svc: svc, db: db, clock: c, mail: mb, notices: nb}
}

// user makes an account with a password and a confirmed e-mail, and its session.
func (f *fixture) user(t *testing.T, email string) account.Session {
	return f.userWith(t, account.User{Username: "u" + strings.ReplaceAll(email, "@", "."), Nickname: email, Email: email})
}

// userWith makes the account u with the password "correct horse battery", and its session.
func (f *fixture) userWith(t *testing.T, u account.User) account.Session {
	t.Helper()
	ctx := context.Background()
	h, _ := password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}, 1).Hash(ctx, "correct horse battery")
	u.PasswordHash, u.TokenVersion = h, 1
	u, err := f.db.CreateUser(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	l, err := f.svc.LoginPassword(ctx, account.LoginInput{Account: u.Username, Password: "correct horse battery", Client: account.Client{IP: "192.0.2.1"}})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := f.svc.Authenticate(ctx, l.Token)
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

var cl = account.Client{IP: "192.0.2.1"}

func TestResetTokenLifetimeAndSupersession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user(t, "a@example.com")
	if err := f.svc.ForgotPassword(ctx, "A@example.com", cl); err != nil {
		t.Fatal(err)
	}
	first := f.mail.token(t, "a@example.com", "/reset-password", 1)
	if err := f.svc.ForgotPassword(ctx, "a@example.com", cl); err != nil {
		t.Fatal(err)
	}
	second := f.mail.token(t, "a@example.com", "/reset-password", 2)
	if err := f.svc.ResetPassword(ctx, first, "a brand new passphrase", cl); !errors.Is(err, account.ErrResetTokenInvalid) {
		t.Errorf("the superseded token: %v, want reset_token_invalid", err)
	}
	f.clock.add(account.ResetTokenTTL + time.Second)
	if err := f.svc.ResetPassword(ctx, second, "a brand new passphrase", cl); !errors.Is(err, account.ErrResetTokenInvalid) {
		t.Errorf("a token past %v: %v, want reset_token_invalid", account.ResetTokenTTL, err)
	}
	if err := f.svc.ForgotPassword(ctx, "a@example.com", cl); err != nil {
		t.Fatal(err)
	}
	third := f.mail.token(t, "a@example.com", "/reset-password", 3)
	f.clock.add(account.ResetTokenTTL - time.Minute)
	if err := f.svc.ResetPassword(ctx, third, "a brand new passphrase", cl); err != nil {
		t.Errorf("a fresh token a minute before it expires: %v", err)
	}
	if err := f.svc.ForgotPassword(ctx, "a@example.com", cl); err == nil || account.ErrorOf(err).Kind != account.RateLimited {
		t.Errorf("a 4th request for the address within the hour: %v, want 429", err)
	}
	f.clock.add(2 * time.Minute) // the hour since the first request is over
	if err := f.svc.ForgotPassword(ctx, "a@example.com", cl); err != nil {
		t.Errorf("a request once the hour is over: %v", err)
	}
}

func TestEmailConfirmation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sess := f.user(t, "old@example.com")
	if err := f.svc.RequestEmail(ctx, sess, "new@example.com", "wrong", cl); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("wrong password: %v", err)
	}
	if err := f.svc.RequestEmail(ctx, sess, "new@example.com", "correct horse battery", cl); err != nil {
		t.Fatal(err)
	}
	tok := f.mail.token(t, "new@example.com", "/confirm-email", 1)
	f.clock.add(account.EmailConfirmTTL + time.Second)
	if err := f.svc.ConfirmEmail(ctx, tok, cl); !errors.Is(err, account.ErrEmailTokenInvalid) {
		t.Errorf("a confirmation past its day: %v", err)
	}
	if err := f.svc.RequestEmail(ctx, sess, "new@example.com", "correct horse battery", cl); err != nil {
		t.Fatal(err)
	}
	tok = f.mail.token(t, "new@example.com", "/confirm-email", 2)
	if err := f.svc.ConfirmEmail(ctx, tok, cl); err != nil {
		t.Fatal(err)
	}
	u, _ := f.db.UserByID(ctx, sess.User.ID)
	if u.Email != "new@example.com" {
		t.Errorf("e-mail after confirming = %q", u.Email)
	}
	f.mail.mu.Lock()
	told := false
	for _, m := range f.mail.mails {
		told = told || (m.To == "old@example.com" && strings.Contains(m.Text, "new@example.com"))
	}
	f.mail.mu.Unlock()
	if !told {
		t.Error("the old address was not told of the change")
	}
}

// TestLinkIntentAndUnlinkGuard runs the link flow through the Provider seam with a fake
// provider: only the session that started a link state finishes it; unlinking needs the
// password and keeps a way in.
func TestLinkIntentAndUnlinkGuard(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b := f.user(t, "a@example.com"), f.user(t, "b@example.com")
	start, err := f.svc.BeginLink(ctx, "fake", a, "/user", false, cl)
	if err != nil {
		t.Fatal(err)
	}
	cb := account.QQCallback{Code: "sub-1", State: start.State, CookieState: start.State, Client: cl, Session: &b}
	if _, err := f.svc.Finish(ctx, "fake", cb); !errors.Is(err, account.ErrStateInvalid) {
		t.Errorf("a link state finished by another user: %v", err)
	}
	start, _ = f.svc.BeginLink(ctx, "fake", a, "/user", false, cl)
	if _, err := f.svc.Finish(ctx, "qq", account.QQCallback{Code: "sub-1", State: start.State, CookieState: start.State, Session: &a}); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("a callback for a provider that is not registered: %v", err)
	}
	start, _ = f.svc.BeginLink(ctx, "fake", a, "/user", false, cl)
	res, err := f.svc.Finish(ctx, "fake", account.QQCallback{Code: "sub-1", State: start.State, CookieState: start.State, Client: cl, Session: &a})
	if err != nil || res.Linked == nil || res.Linked.Identity.Provider != "fake" || res.Linked.Identity.Nickname != "假用户" {
		t.Fatalf("link = %+v, %v", res, err)
	}
	start, _ = f.svc.BeginLink(ctx, "fake", b, "/user", false, cl)
	if _, err := f.svc.Finish(ctx, "fake", account.QQCallback{Code: "sub-1", State: start.State, CookieState: start.State, Client: cl, Session: &b}); !errors.Is(err, account.ErrQQBound) {
		t.Errorf("linking someone else's identity: %v", err)
	}
	if err := f.svc.Unlink(ctx, "fake", a, "wrong", cl); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("unlink with a wrong password: %v", err)
	}
	if err := f.svc.Unlink(ctx, "fake", a, "correct horse battery", cl); err != nil {
		t.Errorf("unlink: %v", err)
	}
	noPass := a
	noPass.User.PasswordHash = ""
	if err := f.svc.Unlink(ctx, "fake", noPass, "anything", cl); !errors.Is(err, account.ErrLastLoginMethod) {
		t.Errorf("unlink the only way in: %v", err)
	}
}

// TestSecurityNotices: every binding, unbinding, password change and e-mail change is told
// to the owner, by mail to a confirmed address, else by SMS to the mobile; SMS notices to
// one mobile are capped per day.
func TestSecurityNotices(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	withMail := f.user(t, "m@example.com")
	smsOnly := f.userWith(t, account.User{Username: "smsonly", Nickname: "短信用户", Mobile: "13900001111"})

	// 已有账号: a first-time identity bound to an existing account with its password.
	start, _ := f.svc.Begin(ctx, "fake", "/", false, false, cl)
	res, err := f.svc.Finish(ctx, "fake", account.QQCallback{Code: "sub-9", State: start.State, CookieState: start.State, Client: cl})
	if err != nil || res.Pending == nil {
		t.Fatalf("first-time login = %+v, %v", res, err)
	}
	if _, err := f.svc.BindExisting(ctx, account.BindInput{Provider: "fake", Handle: res.Pending.Handle, Browser: res.Pending.Browser,
		Account: "smsonly", Password: "correct horse battery", Client: cl}); err != nil {
		t.Fatal(err)
	}
	if got := f.notices.wait(1); len(got) != 1 || got[0] != "13900001111 关联了QQ" {
		t.Fatalf("SMS notices after binding an account without e-mail = %q", got)
	}
	start, _ = f.svc.BeginLink(ctx, "fake", withMail, "/user", false, cl)
	if _, err := f.svc.Finish(ctx, "fake", account.QQCallback{Code: "sub-10", State: start.State, CookieState: start.State, Client: cl, Session: &withMail}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Unlink(ctx, "fake", withMail, "correct horse battery", cl); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ChangePassword(ctx, withMail, "correct horse battery", "another long passphrase", cl); err != nil {
		t.Fatal(err)
	}
	f.mail.mu.Lock()
	var told []string
	for _, m := range f.mail.mails {
		if m.To == "m@example.com" {
			told = append(told, m.Text)
		}
	}
	f.mail.mu.Unlock()
	for i, want := range []string{"关联了 QQ（假用户）", "解除了与 QQ 的关联", "密码刚刚被修改"} {
		if i >= len(told) || !strings.Contains(told[i], want) {
			t.Errorf("mail notice %d = %q, want one saying %q", i, told, want)
		}
	}
	if got := f.notices.wait(2); len(got) != 1 {
		t.Errorf("an account with a confirmed e-mail got SMS notices: %q", got)
	}

	// A first e-mail is news to the mobile's owner.
	if err := f.svc.RequestEmail(ctx, smsOnly, "s@example.com", "correct horse battery", cl); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ConfirmEmail(ctx, f.mail.token(t, "s@example.com", "/confirm-email", 1), cl); err != nil {
		t.Fatal(err)
	}
	if got := f.notices.wait(2); len(got) != 2 || got[1] != "13900001111 设置了邮箱" {
		t.Errorf("SMS notices after setting a first e-mail = %q", got)
	}

	// The daily cap: a user changing the password in a loop gets 10 SMS notices a day.
	loop := f.userWith(t, account.User{Username: "loop", Nickname: "循环用户", Mobile: "13900002222"})
	pw := "correct horse battery"
	for i := range 12 {
		next := fmt.Sprintf("loop passphrase number %d", i)
		l, err := f.svc.ChangePassword(ctx, loop, pw, next, cl)
		if err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
		if loop, err = f.svc.Authenticate(ctx, l.Token); err != nil {
			t.Fatal(err)
		}
		pw = next
	}
	time.Sleep(100 * time.Millisecond) // the notices past the cap are dropped, not late
	if got := f.notices.wait(2 + 12); len(got) != 2+10 {
		t.Errorf("12 password changes gave %d SMS notices, want 10 (the daily cap)", len(got)-2)
	}
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"Lin@Example.COM": "lin@example.com", " a@b.cn ": "a@b.cn", "a@b": "", "@b.cn": "", "a b@c.cn": "",
		"Lin <lin@example.com>": "", strings.Repeat("a", 65) + "@example.com": "", "a@" + strings.Repeat("b", 250) + ".cn": "",
	} {
		got, ok := account.NormalizeEmail(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// slowStore makes Ping slow and counts the calls, to see that concurrent readiness
// checks share one probe.
type slowStore struct {
	account.Store
	mu    sync.Mutex
	pings int
}

func (s *slowStore) Ping(ctx context.Context) error {
	s.mu.Lock()
	s.pings++
	s.mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	return nil
}

// TestReadyOneProbeAtATime: 50 concurrent readiness checks make one probe; the ones that
// arrive during it get the last answer (before any: not ready), not a probe of their own.
func TestReadyOneProbeAtATime(t *testing.T) {
	f := newFixture(t)
	st := &slowStore{Store: f.db}
	m := kv.NewMemory(nil)
	t.Cleanup(func() { m.Close() })
	svc, err := account.New(account.Options{Store: st, KV: m, Hasher: password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}, 1),
		Secret: []byte("flows-test-secret-Vq8Lr2Kx9Pm4Tz7Nw1Yb"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ready := 0
	for range 50 {
		wg.Go(func() {
			if svc.Ready(context.Background()) == nil {
				mu.Lock()
				ready++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if st.pings != 1 || ready < 1 {
		t.Errorf("50 concurrent checks: %d probes, %d ready; want 1 probe, its caller ready", st.pings, ready)
	}
	if err := svc.Ready(context.Background()); err != nil || st.pings != 1 {
		t.Errorf("a check within half a second: %v after %d probes; want the kept answer", err, st.pings)
	}
}
