package account

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeNext(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", "/"},
		{"local path", "/user", "/user"},
		{"local path with query", "/article/1?tab=comments&x=1", "/article/1?tab=comments&x=1"},
		{"root", "/", "/"},
		{"protocol-relative", "//evil.example", "/"},
		{"triple slash", "///evil.example", "/"},
		{"backslash", `/\evil.example`, "/"},
		{"double backslash", `\\evil.example`, "/"},
		{"encoded slashes", "/%2F%2Fevil.example", "/"},
		{"encoded backslash", "/%5Cevil.example", "/"},
		{"encoded tab", "/%09/evil.example", "/"},
		{"tab", "/\t/evil.example", "/"},
		{"scheme", "https://evil.example/", "/"},
		{"javascript", "javascript:alert(1)", "/"},
		{"relative", "user", "/"},
		{"newline", "/user\r\nSet-Cookie: x", "/"},
		{"zero-width", "/\u200b/evil.example", "/"},
		{"bad escape", "/%zz", "/"},
		{"very long", "/" + strings.Repeat("a", 3000), "/"},
		{"chinese path", "/文章/1", "/文章/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SafeNext(tt.in); got != tt.want {
				t.Errorf("SafeNext(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzSafeNext: whatever comes in, what comes out is a path on this site: resolved
// against https://renran.example it never leaves the host.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/user", "//evil", `/\evil`, "/%2F%2Fevil", "/a?b=c", "http://x"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://renran.example/login")
	f.Fuzz(func(t *testing.T, in string) {
		out := SafeNext(in)
		if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") || strings.Contains(out, `\`) {
			t.Fatalf("SafeNext(%q) = %q", in, out)
		}
		u, err := base.Parse(out)
		if err != nil || u.Host != "renran.example" {
			t.Fatalf("SafeNext(%q) = %q resolves to host %q", in, out, u.Host)
		}
	})
}

func TestNormalizeNickname(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"林枫", true},
		{"荏苒_fan-01", true},
		{"阿·尔", true},
		{"a", false},
		{strings.Repeat("字", 21), false},
		{strings.Repeat("字", 20), true},
		{"bad\u200bname", false},  // zero-width space
		{"evil\u202ename", false}, // right-to-left override
		{"<script>", false},
		{"a b", false},
		{"name\x00", false},
		{"' OR 1=1 --", false},
		{"ｆｕｌｌ", true},
	}
	for _, tt := range tests {
		if _, got := NormalizeNickname(tt.in); got != tt.want {
			t.Errorf("NormalizeNickname(%q) ok = %v, want %v", tt.in, got, tt.want)
		}
	}
	// NFC: a decomposed é becomes the composed one.
	if got, _ := NormalizeNickname("Cafe\u0301x"); got != "Caféx" {
		t.Errorf("NormalizeNickname(decomposed) = %q, want NFC", got)
	}
}

func TestMobile(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"13912345678", "13912345678", true},
		{"+86 139-1234-5678", "13912345678", true},
		{"8613912345678", "13912345678", true},
		{"12912345678", "12912345678", false},
		{"1391234567", "1391234567", false},
		{"+1 415 555 0100", "+14155550100", false},
		{"１３９１２３４５６７８", "１３９１２３４５６７８", false},
	}
	for _, tt := range tests {
		got, ok := NormalizeMobile(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("NormalizeMobile(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if got := MaskMobile("13912345678"); got != "139****5678" {
		t.Errorf("MaskMobile = %q", got)
	}
}

func TestParseLogin(t *testing.T) {
	tests := []struct {
		in   string
		kind LoginKind
		want string
	}{
		{"13912345678", ByMobile, "13912345678"},
		{" Alice@Example.COM ", ByEmail, "alice@example.com"},
		{"rr_abc", ByUsername, "rr_abc"},
	}
	for _, tt := range tests {
		if k, v := ParseLogin(tt.in); k != tt.kind || v != tt.want {
			t.Errorf("ParseLogin(%q) = %v, %q; want %v, %q", tt.in, k, v, tt.kind, tt.want)
		}
	}
}

// TestStoredUserAgent: a user agent is kept to 256 bytes, cut between characters (a cut in
// the middle of one is invalid UTF-8, which PostgreSQL's text refuses).
func TestStoredUserAgent(t *testing.T) {
	for _, tt := range []struct {
		name, ua string
		want     int
	}{
		{"short", "Mozilla/5.0", 11},
		{"ASCII, long", strings.Repeat("a", 300), 256},
		{"CJK across the cut", "ab" + strings.Repeat("浏", 100), 254}, // 2 + 3×84 = 254; byte 256 is inside the 85th
	} {
		got := Client{UserAgent: tt.ua}.userAgent()
		if len(got) != tt.want || !utf8.ValidString(got) || !strings.HasPrefix(tt.ua, got) {
			t.Errorf("%s: %d bytes (valid %v), want %d", tt.name, len(got), utf8.ValidString(got), tt.want)
		}
	}
}

func TestTruncateUTF8(t *testing.T) {
	for _, c := range []struct {
		s    string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc"},
		{"荏苒资讯", 7, "荏苒"},  // 3 bytes a character: the third is cut in two, so it goes
		{"荏苒资讯", 9, "荏苒资"}, // a boundary
		{"a荏", 2, "a"},
	} {
		if got := TruncateUTF8(c.s, c.max); got != c.want {
			t.Errorf("TruncateUTF8(%q, %d) = %q, want %q", c.s, c.max, got, c.want)
		}
	}
}
