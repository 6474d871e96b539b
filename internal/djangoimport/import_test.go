package djangoimport_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/app"
	"github.com/renran/accounts/internal/app/apptest"
	"github.com/renran/accounts/internal/config"
	"github.com/renran/accounts/internal/djangoimport"
	"github.com/renran/accounts/internal/store"
	"github.com/renran/accounts/internal/testenv"
	"github.com/renran/accounts/qqemu"

	_ "modernc.org/sqlite"
)

// qqUIN is the emulator's first test user, whose openid in the development app the seed's
// QQ table holds for alice: logging in with QQ as them after the import must be alice.
const qqUIN = "10001"

// seedRows are the Django site's rows: good users of every hash Django makes, and the bad
// data an old site accumulates. Each bad row is in want below with what the report says.
func seedRows(t testing.TB) ([]djangoUser, []djangoQQ) {
	h := hashes(t)
	emu := qqemu.New(qqemu.Config{Apps: []qqemu.App{{AppID: config.DevQQAppID}}})
	aliceOpenID := emu.OpenID(config.DevQQAppID, qqUIN)
	s := func(v string) any { return v }
	users := []djangoUser{
		{1, "alice", h["pbkdf2_sha256/renran-Django-1"], "Alice@Example.com", true, s("13800000001"), s("爱丽丝"), s("avatar/2020/alice.png")},
		{2, "bob", h["cheap argon2/中文密码很安全"], "", true, s("+86 13800000002"), s("bob"), nil},
		{3, "carol", h["cheap bcrypt_sha256/p@ss word with spaces"], "carol@example.com", true, nil, nil, s("https://cdn.example.com/c.png")},
		{4, "dave", h["cheap pbkdf2_sha1/renran-Django-1"], "", false, s("13800000004"), s("戴夫"), nil},
		{5, "erin", h["unusable/"], "erin@example.com", true, s("13800000005"), s("伊琳"), nil},
		{6, "frank", h["cheap pbkdf2_sha256/renran-Django-1"], "", true, s("13900000009"), s("弗兰克"), nil},
		{7, "grace", h["cheap pbkdf2_sha256/renran-Django-1"], "", true, s("13800000007"), s(strings.Repeat("长", 40)), nil},
		{8, "heidi", "pbkdf2_sha256$260000$RqRGSKclTIBA9QS7ExXfyg$fkvbBISKc7Cll5Mc", "", true, s("13800000008"), s("海蒂"), nil},
		{9, "ivan", "pbkdf2_sha256$1000000000$RqRGSKclTIBA9QS7ExXfyg$fkvbBISKc7Cll5McN4UionFmZIxxNVNosR4fnZ4YLE8=", "", true, s("13800000009"), s("伊万"), nil},
		{10, "judy smith", h["cheap pbkdf2_sha256/renran-Django-1"], "", true, s("13800000010"), s("朱迪"), nil},
		{11, "existing", h["cheap pbkdf2_sha256/renran-Django-1"], "", true, s("13800000011"), s("已有"), nil},
		{12, "mallory", h["cheap pbkdf2_sha256/renran-Django-1"], "alice@example.com", true, s("138-0000-0001"), s("爱丽丝"), nil},
		{13, "niaj", "md5$salt$0123456789abcdef0123456789abcdef", "not-an-email", true, s("13800000013"), nil, s("javascript:alert(1)")},
	}
	qqs := []djangoQQ{
		{1, 1, aliceOpenID, false},
		{2, 2, "DELETED0000000000000000000000002", true},
		{3, 10, "JUDY0000000000000000000000000003", false},
		{4, 3, aliceOpenID, false},
		{5, 4, "bad openid!", false},
		{6, 6, "FRANK000000000000000000000000006", false},
	}
	return users, qqs
}

// wantReport is the report the seed rows earn: "table id action reason", sorted.
var wantReport = []string{
	"rr_oauth_qq 2 skipped qq_deleted",
	"rr_oauth_qq 3 skipped user_not_imported",
	"rr_oauth_qq 4 skipped qq_already_bound",
	"rr_oauth_qq 5 skipped openid_invalid",
	"rr_users 1 adjusted avatar_relative",
	"rr_users 10 skipped username_invalid",
	"rr_users 11 skipped username_taken",
	"rr_users 12 adjusted email_taken",
	"rr_users 12 adjusted mobile_taken",
	"rr_users 12 adjusted nickname_taken",
	"rr_users 13 adjusted avatar_invalid",
	"rr_users 13 adjusted email_invalid",
	"rr_users 13 adjusted password_unsupported",
	"rr_users 13 warning no_way_in",
	"rr_users 5 adjusted password_unusable",
	"rr_users 6 adjusted mobile_taken",
	"rr_users 7 adjusted nickname_invalid",
	"rr_users 8 adjusted password_malformed",
	"rr_users 8 warning no_way_in",
	"rr_users 9 adjusted password_over_cap",
	"rr_users 9 warning no_way_in",
}

func reportLines(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var e djangoimport.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("report line %q: %v", sc.Text(), err)
		}
		if e.Detail == "" {
			t.Errorf("report line without a detail: %s", sc.Text())
		}
		out = append(out, fmt.Sprintf("%s %d %s %s", e.Table, e.ID, e.Action, e.Reason))
	}
	sort.Strings(out)
	return out
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot\n  %s\nwant\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// preexisting puts the account the import collides with into the store: username
// "existing", mobile 13900000009 (frank's).
func preexisting(t *testing.T, db *store.DB) {
	t.Helper()
	if _, err := db.CreateUser(context.Background(), account.User{Username: "existing", Mobile: "13900000009", Nickname: "早已在此"}); err != nil {
		t.Fatal(err)
	}
}

// runImport runs `renran import-django` with env and the flags, returning the report.
func runImport(t *testing.T, env map[string]string, args ...string) ([]byte, string) {
	t.Helper()
	report := filepath.Join(t.TempDir(), "report.jsonl")
	var stdout, stderr bytes.Buffer
	err := app.Run(context.Background(), append([]string{"import-django", "--report", report}, args...),
		func(k string) string { return env[k] }, &stdout, &stderr)
	if err != nil {
		t.Fatalf("import-django %v: %v\n%s", args, err, stderr.String())
	}
	b, _ := os.ReadFile(report)
	return b, stderr.String()
}

// TestImportFromMariaDB is the whole move: the seed's tables in a real MariaDB, imported
// into the embedded store, then the service started on it: the old passwords log in and
// are rehashed, the old QQ binding logs alice in, and a second import changes nothing.
func TestImportFromMariaDB(t *testing.T) {
	from, mdb := testenv.MySQL(t)
	users, qqs := seedRows(t)
	fillDjango(t, mdb, "mysql", users, qqs)

	dataDir := filepath.Join(t.TempDir(), "data")
	env := map[string]string{"RENRAN_DATA_DIR": dataDir}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), cfg.SQLitePath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	preexisting(t, db)
	db.Close()

	// A dry run first: the same report, nothing written.
	dry, _ := runImport(t, env, "--from", from, "--dry-run")
	sameLines(t, "dry-run report", reportLines(t, dry), wantReport)
	if n := countUsers(t, cfg.SQLitePath); n != 1 {
		t.Fatalf("after the dry run the store has %d users, want the 1 it had", n)
	}

	rep, log := runImport(t, env, "--from", from)
	sameLines(t, "report", reportLines(t, rep), wantReport)
	for _, want := range []string{"users: 13 read, 11 imported (8 with a field changed or left out), 0 imported before, 2 skipped",
		"QQ bindings: 6 read, 2 imported, 0 imported before, 4 skipped"} {
		if !strings.Contains(log, want) {
			t.Errorf("the import's output lacks %q:\n%s", want, log)
		}
	}
	checkStore(t, cfg.SQLitePath)

	// Again: every row is found imported; the skipped ones are reported again.
	rep2, log2 := runImport(t, env, "--from", from)
	if !strings.Contains(log2, "users: 13 read, 0 imported (0 with a field changed or left out), 11 imported before, 2 skipped") ||
		!strings.Contains(log2, "QQ bindings: 6 read, 0 imported, 2 imported before, 4 skipped") {
		t.Errorf("second import:\n%s", log2)
	}
	var skipped []string
	for _, l := range wantReport {
		if strings.Contains(l, " skipped ") {
			skipped = append(skipped, l)
		}
	}
	sameLines(t, "second report", reportLines(t, rep2), skipped)

	loginAfterImport(t, dataDir, cfg.SQLitePath)
}

// checkStore looks at what the import wrote.
func checkStore(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	type row struct {
		mobile, email, nickname, avatar, hash sql.NullString
		disabled                              bool
	}
	get := func(username string) row {
		var r row
		err := db.QueryRow("SELECT mobile, email, nickname, avatar, password_hash, disabled FROM users WHERE username = ?", username).
			Scan(&r.mobile, &r.email, &r.nickname, &r.avatar, &r.hash, &r.disabled)
		if err != nil {
			t.Fatalf("user %s: %v", username, err)
		}
		return r
	}
	alice := get("alice")
	if alice.mobile.String != "13800000001" || alice.email.String != "alice@example.com" || alice.nickname.String != "爱丽丝" ||
		!strings.HasPrefix(alice.hash.String, "pbkdf2_sha256$260000$") || alice.disabled || alice.avatar.String != "" {
		t.Errorf("alice = %+v", alice)
	}
	if bob := get("bob"); bob.mobile.String != "13800000002" || bob.email.Valid {
		t.Errorf("bob = %+v; want the mobile normalised, no e-mail", bob)
	}
	if carol := get("carol"); carol.nickname.String != "carol" || carol.avatar.String != "https://cdn.example.com/c.png" || carol.mobile.Valid {
		t.Errorf("carol = %+v; want the username as nickname, the absolute avatar kept", carol)
	}
	if dave := get("dave"); !dave.disabled {
		t.Error("dave (is_active = 0) is not disabled")
	}
	for _, u := range []string{"erin", "heidi", "ivan", "niaj"} {
		if r := get(u); r.hash.Valid {
			t.Errorf("%s imported a password hash %q; want none", u, r.hash.String)
		}
	}
	if frank := get("frank"); frank.mobile.Valid {
		t.Errorf("frank kept the mobile an existing account has: %+v", frank)
	}
	if grace := get("grace"); grace.nickname.String != "grace" {
		t.Errorf("grace's nickname = %q; want the username instead of 40 characters", grace.nickname.String)
	}
	if m := get("mallory"); m.mobile.Valid || m.email.Valid || !strings.HasPrefix(m.nickname.String, "mallory") {
		t.Errorf("mallory = %+v; want alice's mobile and e-mail left out, the username as nickname", m)
	}
	var ids, maps int
	if err := db.QueryRow("SELECT COUNT(*) FROM oauth_identities WHERE provider = 'qq' AND app_id = ?", config.DevQQAppID).Scan(&ids); err != nil || ids != 2 {
		t.Errorf("QQ identities = %d, %v; want 2 (alice, frank)", ids, err)
	}
	if err := db.QueryRow("SELECT COUNT(*) FROM django_users").Scan(&maps); err != nil || maps != 11 {
		t.Errorf("django_users = %d, %v; want 11", maps, err)
	}
}

func countUsers(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM users").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func passwordHash(t *testing.T, path, username string) string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var h sql.NullString
	if err := db.QueryRow("SELECT password_hash FROM users WHERE username = ?", username).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h.String
}

// loginAfterImport starts the service on the imported store and logs in as the readers
// of the old site would.
func loginAfterImport(t *testing.T, dataDir, dbPath string) {
	in := apptest.Start(t, map[string]string{"RENRAN_DATA_DIR": dataDir, "RENRAN_RATE_LIMITS": "off", "RENRAN_CAPTCHA": "off"})
	login := func(account, pw string) (int, string) {
		body, _ := json.Marshal(map[string]any{"account": account, "password": pw})
		resp, err := http.Post(in.URL+"/users/login/", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Code string `json:"code"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out.Code
	}
	ok := []struct{ account, password, user string }{
		{"alice", "renran-Django-1", "alice"},
		{"13800000001", "renran-Django-1", "alice"}, // now argon2id
		{"13800000002", "中文密码很安全", "bob"},
		{"carol@example.com", "p@ss word with spaces", "carol"},
		{"frank", "renran-Django-1", "frank"},
	}
	for _, c := range ok {
		if st, code := login(c.account, c.password); st != http.StatusOK {
			t.Errorf("login %s with the Django password = %d %s; want 200", c.account, st, code)
		}
		if h := passwordHash(t, dbPath, c.user); !strings.HasPrefix(h, "$argon2id$") {
			t.Errorf("%s's hash after login = %.30q; want it replaced by argon2id", c.user, h)
		}
	}
	refused := []struct{ account, password, why string }{
		{"alice", "renran-django-1", "wrong password"},
		{"dave", "renran-Django-1", "inactive in Django"},
		{"erin", "", "unusable password"},
		{"erin", "!", "unusable password"},
		{"heidi", "renran-Django-1", "truncated hash"},
		{"ivan", "renran-Django-1", "10^9 iterations"},
		{"niaj", "salt", "md5 hash"},
	}
	for _, c := range refused {
		if st, code := login(c.account, c.password); st == http.StatusOK || st >= 500 {
			t.Errorf("login %s (%s) = %d %s; want refused", c.account, c.why, st, code)
		}
	}
	if h := passwordHash(t, dbPath, "dave"); !strings.HasPrefix(h, "pbkdf2_sha1$") {
		t.Errorf("dave's hash = %.30q; a refused login must not rehash", h)
	}

	// QQ: the emulator's user 10001 is alice's old binding.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(in.URL + "/oauth/qq/url/?next=/user")
	if err != nil {
		t.Fatal(err)
	}
	var u struct{ URL string }
	_ = json.NewDecoder(resp.Body).Decode(&u)
	resp.Body.Close()
	resp, err = c.Get(u.URL + "&qqemu_user=" + qqUIN)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || cb.Query().Get("code") == "" {
		t.Fatalf("emulator: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = c.Get(in.URL + "/oauth/qq/info/?code=" + url.QueryEscape(cb.Query().Get("code")) + "&state=" + url.QueryEscape(cb.Query().Get("state")))
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Status string `json:"status"`
		Token  string `json:"token"`
		User   struct {
			Username string `json:"username"`
		} `json:"user"`
	}
	raw := new(bytes.Buffer)
	_, _ = raw.ReadFrom(resp.Body)
	resp.Body.Close()
	_ = json.Unmarshal(raw.Bytes(), &info)
	if resp.StatusCode != http.StatusOK || info.Token == "" {
		t.Fatalf("QQ login as alice's old binding = %d %s; want logged in", resp.StatusCode, raw)
	}
	req, _ := http.NewRequest("GET", in.URL+"/users/me/", nil)
	req.Header.Set("Authorization", "Bearer "+info.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var me struct{ Username string }
	_ = json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if me.Username != "alice" {
		t.Errorf("QQ login landed in %q; want alice", me.Username)
	}
}
