package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var legacyKey = []byte("0123456789abcdef0123456789abcdef")

func mustKey(t testing.TB) Key {
	t.Helper()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// mustIssuer returns an Issuer with one fresh active key, and that key.
func mustIssuer(t testing.TB, now func() time.Time) (*Issuer, Key) {
	t.Helper()
	i, err := NewIssuer(legacyKey, now)
	if err != nil {
		t.Fatal(err)
	}
	k := mustKey(t)
	i.SetKeys(k, []Key{k})
	return i, k
}

// sign signs c with m under k, with the header fields in head.
func sign(t *testing.T, m jwt.SigningMethod, k any, c jwt.MapClaims, head map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	for name, v := range head {
		tok.Header[name] = v
	}
	s, err := tok.SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIssueVerify(t *testing.T) {
	i, k := mustIssuer(t, nil)
	s, c, err := i.Issue(42, 1764000000123, 3, "sess-1", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got, err := i.Verify(s)
	if err != nil || got.UserID != 42 || got.Created != 1764000000123 || got.Version != 3 || got.ID != c.ID || got.SessionID != "sess-1" || got.KeyID != k.ID || got.Legacy() {
		t.Fatalf("Verify = %+v, %v", got, err)
	}
	head, _ := base64.RawURLEncoding.DecodeString(strings.Split(s, ".")[0])
	var h map[string]string
	json.Unmarshal(head, &h)
	if h["alg"] != "EdDSA" || h["kid"] != k.ID || h["typ"] != "at+jwt" {
		t.Errorf("header = %v", h)
	}
	if _, err := NewIssuer(legacyKey[:31], nil); err == nil {
		t.Error("NewIssuer accepted a 31-byte key")
	}
	bare, _ := NewIssuer(legacyKey, nil)
	if _, _, err := bare.Issue(1, 1, 1, "s", time.Minute); !errors.Is(err, ErrNoKey) {
		t.Errorf("Issue without keys = %v, want ErrNoKey", err)
	}
	if _, _, err := i.Issue(1, 1, 1, "", time.Minute); err == nil {
		t.Error("Issue without a session")
	}
}

// TestLegacyTokens: HS256 tokens of the first release verify until they expire, never
// with a session, a kid or a lifetime the first release did not give.
func TestLegacyTokens(t *testing.T) {
	now := time.Now()
	i, _ := mustIssuer(t, func() time.Time { return now })
	legacy := func(ttl time.Duration) jwt.MapClaims {
		return jwt.MapClaims{"iss": "renran", "aud": []string{"renran-api"}, "sub": "7", "iat": now.Unix(), "exp": now.Add(ttl).Unix(), "jti": "j", "ver": 2, "uct": 1764000000123}
	}
	ok := sign(t, jwt.SigningMethodHS256, legacyKey, legacy(7*24*time.Hour), map[string]any{"typ": "at+jwt"})
	c, err := i.Verify(ok)
	if err != nil || !c.Legacy() || c.UserID != 7 || c.Version != 2 {
		t.Fatalf("a 7-day legacy token = %+v, %v", c, err)
	}
	later := now.Add(7*24*time.Hour + Leeway + time.Second)
	i2, _ := mustIssuer(t, func() time.Time { return later })
	if _, err := i2.Verify(ok); err != ErrInvalid {
		t.Errorf("a legacy token after its expiry: %v, want ErrInvalid", err)
	}
	withSID := legacy(time.Hour)
	withSID["sid"] = "s"
	for name, tok := range map[string]string{
		"longer than 7 days": sign(t, jwt.SigningMethodHS256, legacyKey, legacy(8*24*time.Hour), map[string]any{"typ": "at+jwt"}),
		"with a session":     sign(t, jwt.SigningMethodHS256, legacyKey, withSID, map[string]any{"typ": "at+jwt"}),
		"with a kid":         sign(t, jwt.SigningMethodHS256, legacyKey, legacy(time.Hour), map[string]any{"typ": "at+jwt", "kid": "x"}),
	} {
		if _, err := i.Verify(tok); err == nil {
			t.Errorf("legacy token %s verified", name)
		}
	}
}

// TestVerifyRejects covers docs/security.md J-01, J-02, J-04 and J-05, and algorithm
// confusion: nothing but EdDSA under a key in force (or the legacy HS256 key) verifies.
func TestVerifyRejects(t *testing.T) {
	now := time.Now()
	i, k := mustIssuer(t, func() time.Time { return now })
	good := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": "renran", "aud": []string{"renran-api"}, "sub": "1", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "j", "ver": 1, "uct": 1764000000123, "sid": "s1"}
	}
	with := func(k string, v any) jwt.MapClaims { c := good(); c[k] = v; return c }
	without := func(k string) jwt.MapClaims { c := good(); delete(c, k); return c }
	head := map[string]any{"typ": "at+jwt", "kid": k.ID}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	valid := sign(t, jwt.SigningMethodEdDSA, k.Private, good(), head)
	parts := strings.Split(valid, ".")
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

	tests := []struct{ name, tok string }{
		{"alg none", enc(`{"alg":"none","typ":"at+jwt","kid":"`+k.ID+`"}`) + "." + parts[1] + "."},
		{"alg NONE without kid", enc(`{"alg":"NONE","typ":"at+jwt"}`) + "." + parts[1] + "."},
		{"empty signature", parts[0] + "." + parts[1] + "."},
		// Algorithm confusion: HMAC keyed with the published public key.
		{"HS256 with the public key, kid", sign(t, jwt.SigningMethodHS256, []byte(k.Public), good(), head)},
		{"HS256 with the public key, no kid", sign(t, jwt.SigningMethodHS256, []byte(k.Public), good(), map[string]any{"typ": "at+jwt"})},
		{"EdDSA without kid", sign(t, jwt.SigningMethodEdDSA, k.Private, good(), map[string]any{"typ": "at+jwt"})},
		{"RS256", sign(t, jwt.SigningMethodRS256, rsaKey, good(), head)},
		{"another Ed25519 key under our kid", sign(t, jwt.SigningMethodEdDSA, otherPriv, good(), head)},
		{"kid not a string", sign(t, jwt.SigningMethodEdDSA, k.Private, good(), map[string]any{"typ": "at+jwt", "kid": 7})},
		{"no exp", sign(t, jwt.SigningMethodEdDSA, k.Private, without("exp"), head)},
		{"expired", sign(t, jwt.SigningMethodEdDSA, k.Private, with("exp", now.Add(-time.Minute).Unix()), head)},
		{"iat in the future", sign(t, jwt.SigningMethodEdDSA, k.Private, with("iat", now.Add(time.Hour).Unix()), head)},
		{"nbf in the future", sign(t, jwt.SigningMethodEdDSA, k.Private, with("nbf", now.Add(time.Hour).Unix()), head)},
		{"no nbf", sign(t, jwt.SigningMethodEdDSA, k.Private, without("nbf"), head)},
		{"wrong iss", sign(t, jwt.SigningMethodEdDSA, k.Private, with("iss", "evil"), head)},
		{"wrong aud", sign(t, jwt.SigningMethodEdDSA, k.Private, with("aud", "renran-reset"), head)},
		{"wrong typ", sign(t, jwt.SigningMethodEdDSA, k.Private, good(), map[string]any{"typ": "JWT", "kid": k.ID})},
		{"no sub", sign(t, jwt.SigningMethodEdDSA, k.Private, without("sub"), head)},
		{"no session", sign(t, jwt.SigningMethodEdDSA, k.Private, without("sid"), head)},
		{"no user creation time", sign(t, jwt.SigningMethodEdDSA, k.Private, without("uct"), head)},
		{"tampered payload", parts[0] + "." + enc(`{"sub":"2","sid":"s1"}`) + "." + parts[2]},
		{"garbage", "not.a.jwt"},
		{"refresh-token shaped", "c2Vzc2lvbg.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
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
	unknown := sign(t, jwt.SigningMethodEdDSA, otherPriv, good(), map[string]any{"typ": "at+jwt", "kid": "someone-else"})
	if _, err := i.Verify(unknown); err != ErrUnknownKey {
		t.Errorf("Verify(unknown kid) = %v, want ErrUnknownKey", err)
	}
}

// TestKeyRotation: tokens of the previous key verify while it is in force, and stop once
// it is dropped; the JWKS lists exactly the keys in force.
func TestKeyRotation(t *testing.T) {
	i, old := mustIssuer(t, nil)
	before, _, _ := i.Issue(1, 1, 1, "s", time.Hour)
	next := mustKey(t)
	i.SetKeys(next, []Key{old, next})
	after, c, _ := i.Issue(1, 1, 1, "s", time.Hour)
	if c.KeyID != next.ID {
		t.Errorf("signed with %s after rotation, want %s", c.KeyID, next.ID)
	}
	for name, tok := range map[string]string{"old key": before, "new key": after} {
		if _, err := i.Verify(tok); err != nil {
			t.Errorf("%s token during the overlap: %v", name, err)
		}
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(i.JWKS(), &set); err != nil || len(set.Keys) != 2 {
		t.Fatalf("JWKS = %s, %v", i.JWKS(), err)
	}
	for _, k := range set.Keys {
		if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["use"] != "sig" || len(k["x"]) != 43 || k["d"] != "" {
			t.Errorf("JWK = %v", k)
		}
	}
	i.SetKeys(next, []Key{next})
	if _, err := i.Verify(before); err != ErrUnknownKey {
		t.Errorf("old key's token after the key is dropped: %v, want ErrUnknownKey", err)
	}
	if _, err := i.Verify(after); err != nil {
		t.Errorf("new key's token: %v", err)
	}
}

// TestVerifyRemembersUntilExpiry: a token verified once is not verified again, but its
// expiry still counts, and a change of keys forgets it.
func TestVerifyRemembersUntilExpiry(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	i, k := mustIssuer(t, clock)
	s, _, _ := i.Issue(1, 1, 1, "s", 15*time.Minute)
	for range 2 {
		if _, err := i.Verify(s); err != nil {
			t.Fatalf("Verify = %v", err)
		}
	}
	now = now.Add(15*time.Minute + Leeway + time.Second)
	if _, err := i.Verify(s); err != ErrInvalid {
		t.Errorf("a remembered token past its expiry: %v, want ErrInvalid", err)
	}
	now = time.Now()
	s2, _, _ := i.Issue(1, 1, 1, "s", 15*time.Minute)
	i.Verify(s2)
	i.SetKeys(mustKey(t), nil) // k retired
	if _, err := i.Verify(s2); err != ErrUnknownKey {
		t.Errorf("a remembered token after its key (%s) was dropped: %v, want ErrUnknownKey", k.ID, err)
	}
}

// BenchmarkVerify is a first verification: the Ed25519 signature and the claims.
func BenchmarkVerify(b *testing.B) {
	i, _ := mustIssuer(b, nil)
	s, _, _ := i.Issue(1, 1764000000123, 1, "session", 15*time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := i.verify(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifySeen is a token verified before (every request of a page after its first).
func BenchmarkVerifySeen(b *testing.B) {
	i, _ := mustIssuer(b, nil)
	s, _, _ := i.Issue(1, 1764000000123, 1, "session", 15*time.Minute)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := i.Verify(s); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkIssue(b *testing.B) {
	i, _ := mustIssuer(b, nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := i.Issue(1, 1764000000123, 1, "session", 15*time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	i, _ := NewIssuer(legacyKey, nil)
	k, _ := NewKey()
	i.SetKeys(k, []Key{k})
	s, _, _ := i.Issue(1, 1764000000123, 1, "s", time.Hour)
	f.Add(s)
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, tok string) {
		if c, err := i.Verify(tok); err == nil && tok != s && c.UserID <= 0 {
			t.Fatalf("Verify accepted %q as %+v", tok, c)
		}
	})
}
