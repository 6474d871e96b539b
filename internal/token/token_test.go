package token

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func mustIssuer(t *testing.T, now func() time.Time) *Issuer {
	t.Helper()
	i, err := NewIssuer(key, now)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func sign(t *testing.T, m jwt.SigningMethod, k any, c jwt.MapClaims, typ string) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if typ != "" {
		tok.Header["typ"] = typ
	}
	s, err := tok.SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIssueVerify(t *testing.T) {
	i := mustIssuer(t, nil)
	s, c, err := i.Issue(42, 1764000000123, 3, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got, err := i.Verify(s)
	if err != nil || got.UserID != 42 || got.Created != 1764000000123 || got.Version != 3 || got.ID != c.ID {
		t.Fatalf("Verify = %+v, %v", got, err)
	}
	if _, err := NewIssuer(key[:31], nil); err == nil {
		t.Error("NewIssuer accepted a 31-byte key")
	}
}

// TestVerifyRejects covers security-cases.md J-01, J-02, J-04 and J-05.
func TestVerifyRejects(t *testing.T) {
	now := time.Now()
	i := mustIssuer(t, func() time.Time { return now })
	good := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": "renran", "aud": []string{"renran-api"}, "sub": "1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "j", "ver": 1, "uct": 1764000000123}
	}
	with := func(k string, v any) jwt.MapClaims { c := good(); c[k] = v; return c }
	without := func(k string) jwt.MapClaims { c := good(); delete(c, k); return c }
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	valid := sign(t, jwt.SigningMethodHS256, key, good(), "at+jwt")
	parts := strings.Split(valid, ".")
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`))
	noneUpper := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"NONE","typ":"at+jwt"}`))

	tests := []struct{ name, tok string }{
		{"alg none", noneHeader + "." + parts[1] + "."},
		{"alg NONE", noneUpper + "." + parts[1] + "."},
		{"empty signature", parts[0] + "." + parts[1] + "."},
		{"HS384", sign(t, jwt.SigningMethodHS384, key, good(), "at+jwt")},
		{"RS256", sign(t, jwt.SigningMethodRS256, rsaKey, good(), "at+jwt")},
		{"other key", sign(t, jwt.SigningMethodHS256, []byte("another key of 32 bytes, exactly"), good(), "at+jwt")},
		{"no exp", sign(t, jwt.SigningMethodHS256, key, without("exp"), "at+jwt")},
		{"expired", sign(t, jwt.SigningMethodHS256, key, with("exp", now.Add(-time.Minute).Unix()), "at+jwt")},
		{"iat in the future", sign(t, jwt.SigningMethodHS256, key, with("iat", now.Add(time.Hour).Unix()), "at+jwt")},
		{"nbf in the future", sign(t, jwt.SigningMethodHS256, key, with("nbf", now.Add(time.Hour).Unix()), "at+jwt")},
		{"wrong iss", sign(t, jwt.SigningMethodHS256, key, with("iss", "evil"), "at+jwt")},
		{"wrong aud", sign(t, jwt.SigningMethodHS256, key, with("aud", "renran-reset"), "at+jwt")},
		{"wrong typ", sign(t, jwt.SigningMethodHS256, key, good(), "JWT")},
		{"no sub", sign(t, jwt.SigningMethodHS256, key, without("sub"), "at+jwt")},
		{"no user creation time", sign(t, jwt.SigningMethodHS256, key, without("uct"), "at+jwt")},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"2"}`)) + "." + parts[2]},
		{"garbage", "not.a.jwt"},
		{"huge", strings.Repeat("a", 10000)},
	}
	for _, tt := range tests {
		if _, err := i.Verify(tt.tok); err != ErrInvalid {
			t.Errorf("Verify(%s) error = %v, want ErrInvalid", tt.name, err)
		}
	}
	if _, err := i.Verify(valid); err != nil {
		t.Errorf("Verify(valid) = %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	i, _ := NewIssuer(key, nil)
	s, _, _ := i.Issue(1, 1764000000123, 1, time.Hour)
	f.Add(s)
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, tok string) {
		if c, err := i.Verify(tok); err == nil && tok != s && c.UserID <= 0 {
			t.Fatalf("Verify accepted %q as %+v", tok, c)
		}
	})
}
