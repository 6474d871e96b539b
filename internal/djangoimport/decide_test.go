package djangoimport

import (
	"database/sql"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/password"
)

// FuzzDecide: whatever a Django row holds, an imported user keeps our rules (the store's
// constraints and the API's validation assume them), and a password hash is imported only
// if it is one the login verifies.
func FuzzDecide(f *testing.F) {
	f.Add("alice", "pbkdf2_sha256$1000$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "A@B.cn", "+86 13800000001", "爱丽丝", "avatar/a.png")
	f.Add("bob@example.com", "!", "", "138-0000-0002", "", "https://x.example/a.png")
	f.Add("\u202ebob", "123456", "not an email", "12345", strings.Repeat("长", 21), "javascript:alert(1)")
	f.Add("13800000003", "argon2$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA", "x@y", "", "a", "//evil.example/a.png")
	f.Fuzz(func(t *testing.T, username, hash, email, mobile, nickname, avatar string) {
		im := &importer{o: Options{UsersTable: "rr_users", MediaURL: "https://renran.example/media/"}, rep: NewReport(io.Discard),
			seen: map[string]map[string]bool{"username": {}, "mobile": {}, "email": {}, "nickname": {}}}
		d, ok := im.decide(userRow{id: 1, username: username, password: hash, email: email, mobile: mobile, nickname: nickname,
			avatar: avatar, active: true, joined: time.Now()}, map[string]map[string]bool{})
		if !ok {
			if len(d.entries) == 0 || d.entries[0].Action != Skipped {
				t.Fatalf("a row refused without a skipped entry: %+v", d.entries)
			}
			return
		}
		u := d.user
		if u.Username != username || usernameProblem(username) != "" {
			t.Errorf("username %q imported as %q", username, u.Username)
		}
		if n, valid := account.NormalizeNickname(u.Nickname); !valid || n != u.Nickname {
			t.Errorf("nickname %q breaks the rule", u.Nickname)
		}
		if u.Mobile != "" {
			if m, valid := account.NormalizeMobile(u.Mobile); !valid || m != u.Mobile {
				t.Errorf("mobile %q is not 11 normalised digits", u.Mobile)
			}
		}
		if u.Email != "" {
			if e, valid := account.NormalizeEmail(u.Email); !valid || e != u.Email {
				t.Errorf("e-mail %q is not a normalised address", u.Email)
			}
		}
		if u.PasswordHash != "" {
			if _, err := password.CheckDjango(u.PasswordHash); err != nil || u.PasswordHash != hash {
				t.Errorf("password hash %q imported: %v", u.PasswordHash, err)
			}
		}
		if u.Avatar != "" {
			p, err := url.Parse(u.Avatar)
			if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || strings.ContainsAny(u.Avatar, "\"'<> ") {
				t.Errorf("avatar %q is not an http(s) URL", u.Avatar)
			}
		}
		for _, e := range d.entries {
			if e.Action == Skipped {
				t.Errorf("an imported row has a skipped entry: %+v", e)
			}
		}
	})
}

func TestParseSourceValues(t *testing.T) {
	ns := func(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }
	for _, tt := range []struct {
		in   sql.NullString
		dflt bool
		want bool
	}{
		{ns("1"), false, true}, {ns("0"), true, false}, {ns("true"), false, true}, {ns("f"), true, false},
		{ns("t"), false, true}, {sql.NullString{}, true, true}, {ns("yes?"), false, false}, {ns("2"), false, true},
	} {
		if got := parseBool(tt.in, tt.dflt); got != tt.want {
			t.Errorf("parseBool(%+v, %v) = %v", tt.in, tt.dflt, got)
		}
	}
	want := time.Date(2021, 3, 4, 5, 6, 7, 123456000, time.UTC)
	for _, s := range []string{"2021-03-04 05:06:07.123456", "2021-03-04T05:06:07.123456Z", "2021-03-04 13:06:07.123456+08:00",
		"2021-03-04T13:06:07.123456+08:00"} {
		if got := parseTime(ns(s)); !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, want %v", s, got, want)
		}
	}
	if got := parseTime(ns("not a time")); !got.IsZero() {
		t.Errorf("parseTime(junk) = %v, want zero (now, at insert)", got)
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("长", 100) // 300 bytes
	got := clip(long)
	if !strings.HasSuffix(got, "…") || len(got) > 200+len("…") || !utf8.ValidString(got) || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Errorf("clip(300 bytes of CJK) = %d bytes %q", len(got), got)
	}
	if got := clip("ok\xffname"); got != "ok\uFFFDname" {
		t.Errorf("clip(invalid UTF-8) = %q", got)
	}
	if got := clip("short"); got != "short" {
		t.Errorf("clip(short) = %q", got)
	}
}
