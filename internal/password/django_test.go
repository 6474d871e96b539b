package password

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

type djangoFixture struct {
	Algorithm string `json:"algorithm"`
	Password  string `json:"password"`
	Encoded   string `json:"encoded"`
	Django    string `json:"django"`
}

// djangoFixtures are hashes made by Django 3.2's own hashers (testdata/django_hashes.py).
func djangoFixtures(t testing.TB) []djangoFixture {
	t.Helper()
	b, err := os.ReadFile("testdata/django_hashes.json")
	if err != nil {
		t.Fatal(err)
	}
	var fs []djangoFixture
	if err := json.Unmarshal(b, &fs); err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestDjangoHashesVerify(t *testing.T) {
	h := NewHasher(djangoTestParams, 2)
	ctx := context.Background()
	seen := map[string]bool{}
	for _, f := range djangoFixtures(t) {
		seen[f.Algorithm] = true
		if f.Algorithm == "unusable" {
			if _, err := CheckDjango(f.Encoded); !errors.Is(err, ErrUnusable) {
				t.Errorf("CheckDjango(%q) = %v, want ErrUnusable", f.Encoded, err)
			}
			for _, pw := range []string{"", f.Encoded, f.Encoded[1:]} {
				if ok, _, err := h.Verify(ctx, f.Encoded, pw); ok || err != nil {
					t.Errorf("unusable %q accepted %q: %v %v", f.Encoded, pw, ok, err)
				}
			}
			continue
		}
		cheap := strings.Contains(f.Encoded, "$1000$") || strings.Contains(f.Encoded, "m=512,") || strings.Contains(f.Encoded, "$04$")
		if !cheap && f.Password != "renran-Django-1" {
			continue // Django's default work factors take seconds under -race: one password each
		}
		t.Run(f.Algorithm+"/"+f.Password[:min(len(f.Password), 12)], func(t *testing.T) {
			t.Parallel()
			alg, err := CheckDjango(f.Encoded)
			if err != nil || alg != f.Algorithm {
				t.Fatalf("CheckDjango(%q) = %q, %v", f.Encoded, alg, err)
			}
			ok, rehash, err := h.Verify(ctx, f.Encoded, f.Password)
			if !ok || !rehash || err != nil {
				t.Fatalf("Verify(right password) = %v, %v, %v; want true, true (rehash into argon2id), nil", ok, rehash, err)
			}
			wrongs := []string{f.Password + "x", strings.ToUpper(f.Password), "", f.Password[1:]}
			if !cheap {
				wrongs = wrongs[:1] // Django's default work factors: one wrong password is enough
			}
			for _, wrong := range wrongs {
				if wrong == f.Password || (f.Algorithm == "bcrypt" && len(f.Password) > 72 && len(wrong) > 72) {
					continue
				}
				if ok, _, err := h.Verify(ctx, f.Encoded, wrong); ok || err != nil {
					t.Errorf("Verify(%q) = %v, %v; want false, nil", wrong, ok, err)
				}
			}
		})
	}
	for _, alg := range []string{"pbkdf2_sha256", "pbkdf2_sha1", "argon2", "bcrypt_sha256", "bcrypt", "unusable"} {
		if !seen[alg] {
			t.Errorf("no fixture for %s", alg)
		}
	}
}

// TestDjangoBcryptCutsAt72 is the bcrypt library's behaviour under Django: only the first
// 72 bytes count, so a password longer than that matches with any tail.
func TestDjangoBcryptCutsAt72(t *testing.T) {
	h := NewHasher(djangoTestParams, 1)
	for _, f := range djangoFixtures(t) {
		if f.Algorithm != "bcrypt" || len(f.Password) <= 72 {
			continue
		}
		if ok, _, _ := h.Verify(context.Background(), f.Encoded, f.Password[:72]+"anything"); !ok {
			t.Error("a long password's first 72 bytes did not match, as they do in Django")
		}
		return
	}
	t.Fatal("no long bcrypt fixture")
}

func TestDjangoHashesRefused(t *testing.T) {
	pbkdf2Key := "fkvbBISKc7Cll5McN4UionFmZIxxNVNosR4fnZ4YLE8="
	tests := []struct {
		name, encoded string
		want          error
	}{
		{"empty", "", ErrUnusable},
		{"unusable", "!abcdef", ErrUnusable},
		{"plaintext", "123456", ErrBadHash},
		{"md5", "md5$salt$0123456789abcdef0123456789abcdef", ErrUnsupported},
		{"unsalted md5", "unsalted_md5$0123456789abcdef0123456789abcdef", ErrUnsupported},
		{"scrypt", "scrypt$16384$salt$8$1$aGFzaA==", ErrUnsupported},
		{"crypt", "crypt$$abN/qM.L/H8EQ", ErrUnsupported},
		{"truncated pbkdf2", "pbkdf2_sha256$260000$RqRGSKclTIBA9QS7ExXfyg$fkvbBISKc7Cll5McN4Ui", ErrBadHash},
		{"pbkdf2 no key", "pbkdf2_sha256$260000$salt", ErrBadHash},
		{"pbkdf2 empty salt", "pbkdf2_sha256$260000$$" + pbkdf2Key, ErrBadHash},
		{"pbkdf2 10^9 iterations", "pbkdf2_sha256$1000000000$salt$" + pbkdf2Key, ErrOverCap},
		{"pbkdf2 above the cap", "pbkdf2_sha256$2000001$salt$" + pbkdf2Key, ErrOverCap},
		{"pbkdf2 huge iterations", "pbkdf2_sha256$99999999999999999999999$salt$" + pbkdf2Key, ErrBadHash},
		{"pbkdf2 zero iterations", "pbkdf2_sha256$0$salt$" + pbkdf2Key, ErrBadHash},
		{"pbkdf2 negative iterations", "pbkdf2_sha256$-5$salt$" + pbkdf2Key, ErrBadHash},
		{"sha1 key on sha256", "pbkdf2_sha256$1000$salt$4jFQRueltokwMUv+jsrFdnx5IMQ=", ErrBadHash},
		{"argon2 2 GiB", "argon2$argon2id$v=19$m=2097152,t=2,p=8$c2FsdHNhbHQ$" + strings.Repeat("A", 43), ErrOverCap},
		{"argon2 many passes", "argon2$argon2id$v=19$m=102400,t=20,p=8$c2FsdHNhbHQ$" + strings.Repeat("A", 43), ErrOverCap},
		{"argon2 many lanes", "argon2$argon2id$v=19$m=102400,t=2,p=64$c2FsdHNhbHQ$" + strings.Repeat("A", 43), ErrOverCap},
		{"argon2 memory × passes", "argon2$argon2id$v=19$m=200000,t=10,p=8$c2FsdHNhbHQ$" + strings.Repeat("A", 43), ErrOverCap},
		{"argon2 version 16", "argon2$argon2i$m=512,t=2,p=2$c2FsdHNhbHQ$" + strings.Repeat("A", 43), ErrUnsupported},
		{"argon2d", "argon2$argon2d$v=19$m=512,t=2,p=2$c2FsdHNhbHQ$" + strings.Repeat("A", 43), ErrUnsupported},
		{"argon2 v=16", "argon2$argon2i$v=16$m=512,t=2,p=2$c2FsdHNhbHQ$" + strings.Repeat("A", 43), ErrUnsupported},
		{"argon2 truncated", "argon2$argon2id$v=19$m=512,t=2,p=2$c2FsdHNhbHQ$AAAA", ErrBadHash},
		{"argon2 params with junk", "argon2$argon2id$v=19$m=512,t=2,p=2,x=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43), ErrBadHash},
		{"argon2 zero memory", "argon2$argon2id$v=19$m=0,t=2,p=2$c2FsdHNhbHQ$" + strings.Repeat("A", 43), ErrBadHash},
		{"bcrypt cost 31", "bcrypt_sha256$$2b$31$" + strings.Repeat("a", 53), ErrOverCap},
		{"bcrypt cost 14", "bcrypt$$2b$14$" + strings.Repeat("a", 53), ErrOverCap},
		{"bcrypt truncated", "bcrypt_sha256$$2b$12$" + strings.Repeat("a", 40), ErrBadHash},
		{"bcrypt bad alphabet", "bcrypt$$2b$12$" + strings.Repeat("!", 53), ErrBadHash},
		{"bcrypt cost 2", "bcrypt$$2b$02$" + strings.Repeat("a", 53), ErrBadHash},
	}
	h := NewHasher(djangoTestParams, 1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CheckDjango(tt.encoded)
			if !errors.Is(err, tt.want) {
				t.Fatalf("CheckDjango(%q) = %v, want %v", tt.encoded, err, tt.want)
			}
			// At login, none of them lets anyone in, whatever is typed.
			for _, pw := range []string{"", "123456", tt.encoded} {
				if ok, _, _ := h.Verify(context.Background(), tt.encoded, pw); ok {
					t.Errorf("Verify(%q, %q) accepted", tt.encoded, pw)
				}
			}
		})
	}
}

// FuzzCheckDjango: any password column an import reads parses without panicking, and a
// hash refused at import is refused at login too.
func FuzzCheckDjango(f *testing.F) {
	for _, fx := range djangoFixtures(f) {
		f.Add(fx.Encoded)
	}
	f.Add("pbkdf2_sha256$1$s$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	f.Add("argon2$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("bcrypt$$2b$04$" + strings.Repeat(".", 53))
	h := NewHasher(djangoTestParams, 1)
	f.Fuzz(func(t *testing.T, encoded string) {
		_, err := CheckDjango(encoded)
		if err != nil || !IsDjango(encoded) {
			return
		}
		// Accepted: verifying is bounded by the caps (the fuzzer's inputs stay cheap by
		// the corpus; a wrong password must not match).
		if strings.Contains(encoded, "$1000") || strings.Contains(encoded, "$2b$1") || strings.Contains(encoded, "m=") {
			return // too slow for a fuzz iteration; the caps are tested above
		}
		if ok, _, _ := h.Verify(context.Background(), encoded, "fuzz-wrong-password-\x00"); ok {
			t.Errorf("%q matched an arbitrary password", encoded)
		}
	})
}

// djangoTestParams are cheap argon2id parameters: these tests hash only the dummy.
var djangoTestParams = Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// BenchmarkVerifyDjango is what the first login of an imported user costs, per algorithm
// at Django 3.2's default work factors (pbkdf2 260,000 iterations, argon2 100 MiB × 2,
// bcrypt cost 12). Later logins cost our argon2id (BenchmarkVerify).
func BenchmarkVerifyDjango(b *testing.B) {
	h := NewHasher(djangoTestParams, 1)
	for _, f := range djangoFixtures(b) {
		if f.Password != "renran-Django-1" || strings.Contains(f.Encoded, "$1000$") || strings.Contains(f.Encoded, "m=512,") ||
			strings.Contains(f.Encoded, "$04$") {
			continue
		}
		b.Run(f.Algorithm, func(b *testing.B) {
			for b.Loop() {
				if ok, _, _ := h.Verify(context.Background(), f.Encoded, f.Password); !ok {
					b.Fatal("no match")
				}
			}
		})
	}
}
