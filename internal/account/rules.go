package account

import (
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxNextLen bounds a next path kept with an OAuth state: enough for any page of ours
// with its query, small enough that a flood of states stays small. A longer one becomes /.
const MaxNextLen = 512

// SafeNext returns next if it is a local path, else "/". A local path starts with exactly
// one "/", has no backslash, no control or white-space character and no scheme or host,
// and stays so once percent-decoded (so /%2F%2Fevil.example and /%5Cevil are refused). A
// query string is kept.
func SafeNext(next string) string {
	if next == "" || len(next) > MaxNextLen || !local(next) {
		return "/"
	}
	dec, err := url.PathUnescape(next)
	if err != nil || !local(dec) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	return next
}

func local(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsRune(p, '\\') {
		return false
	}
	if !utf8.ValidString(p) {
		return false
	}
	for _, r := range p {
		if r < 0x21 || r == 0x7f || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}

var mobileRE = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

// NormalizeMobile accepts a mainland China mobile number, with an optional +86 or 86
// prefix and spaces or dashes, and returns its 11 digits.
func NormalizeMobile(s string) (string, bool) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "+86")
	if len(s) == 13 && strings.HasPrefix(s, "86") {
		s = s[2:]
	}
	return s, mobileRE.MatchString(s)
}

// TruncateUTF8 returns s cut to at most max bytes, then shortened until it is valid UTF-8
// (PostgreSQL text refuses a character cut in two).
func TruncateUTF8(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// MaskMobile shows 139****1234.
func MaskMobile(m string) string {
	if len(m) != 11 {
		return ""
	}
	return m[:3] + "****" + m[7:]
}

// NormalizeNickname applies NFC and checks the nickname rule of docs/requirements.md §2: 2–20
// characters; letters, digits, CJK, '_', '-', '·'; no control, bidi or zero-width
// characters. The nickname is stored as given (after NFC) and escaped on output.
func NormalizeNickname(s string) (string, bool) {
	s = norm.NFC.String(strings.TrimSpace(s))
	n := utf8.RuneCountInString(s)
	if n < 2 || n > 20 {
		return s, false
	}
	for _, r := range s {
		switch {
		case r == '_' || r == '-' || r == '·':
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			// Letters cover CJK ideographs (Lo), kana and hangul. Format characters such as
			// zero-width joiners and bidi controls are category Cf, not letters.
		default:
			return s, false
		}
	}
	return s, true
}

// LoginKind says which column an account identifier is looked up in.
type LoginKind int

// The ways to name an account at login.
const (
	ByUsername LoginKind = iota
	ByMobile
	ByEmail
)

// ParseLogin decides whether an account identifier is a mobile, an e-mail or a username.
func ParseLogin(account string) (LoginKind, string) {
	a := strings.TrimSpace(account)
	if m, ok := NormalizeMobile(a); ok {
		return ByMobile, m
	}
	if strings.Contains(a, "@") {
		return ByEmail, strings.ToLower(a)
	}
	return ByUsername, a
}

// NormalizeEmail lower-cases an address and checks its shape and RFC 5321 lengths (a
// local part of at most 64 octets, 254 in all).
func NormalizeEmail(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) > 254 || strings.ContainsAny(s, " \t\r\n<>\"") {
		return "", false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", false
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at > 64 || !strings.Contains(s[at+1:], ".") {
		return "", false
	}
	return s, true
}
