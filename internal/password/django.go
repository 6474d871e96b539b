package password

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Django's password hashes, kept as imported (renran import-django) and verified at login
// until the first successful login replaces them with our argon2id (docs/django-import.md).
// The formats are those of django.contrib.auth.hashers:
//
//	pbkdf2_sha256$<iterations>$<salt>$<base64 key>      (Django's default)
//	pbkdf2_sha1$<iterations>$<salt>$<base64 key>
//	argon2$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<base64 salt>$<base64 key>   (also argon2i)
//	bcrypt_sha256$$2b$<cost>$<salt+hash>                (bcrypt of the hex SHA-256 of the password)
//	bcrypt$$2b$<cost>$<salt+hash>                       (bcrypt of the password's first 72 bytes)
//
// An imported row could hold any work factor, so each is capped: a hash beyond a cap is
// refused at import (the user imports without a password) and at login, instead of costing
// seconds of CPU or gigabytes of memory on every attempt.
const (
	// MaxPBKDF2Iterations is above Django 6.0's 1,200,000 and the 1,000,000 of 5.2.
	MaxPBKDF2Iterations = 2_000_000
	// MaxBcryptCost is above Django's 12; each step doubles the time (13 ≈ 0.5 s here).
	MaxBcryptCost = 13
	// MaxArgon2Memory (KiB) is above Django's 102,400 (100 MiB); MaxArgon2Passes bounds the
	// time cost, and memory × passes is at most MaxArgon2Work.
	MaxArgon2Memory = 256 << 10
	MaxArgon2Passes = 16
	MaxArgon2Work   = 1 << 20
	MaxArgon2Lanes  = 16
)

// Why a foreign hash is not kept.
var (
	ErrUnusable    = errors.New("password: unusable password (Django's \"!\" or empty): no password")
	ErrUnsupported = errors.New("password: hash algorithm not supported")
	ErrOverCap     = errors.New("password: work factor above the cap")
)

// foreign is a parsed Django hash.
type foreign struct {
	algorithm string
	verify    func(pw string) bool
}

// CheckDjango says whether encoded, a Django password column, is a hash this package
// verifies: its algorithm, or ErrUnusable, ErrUnsupported, ErrBadHash or ErrOverCap
// (wrapped with the detail).
func CheckDjango(encoded string) (algorithm string, err error) {
	f, err := parseDjango(encoded)
	if err != nil {
		return "", err
	}
	return f.algorithm, nil
}

// IsDjango reports a hash in one of Django's formats (ours start with "$argon2id$").
func IsDjango(encoded string) bool {
	return encoded != "" && !strings.HasPrefix(encoded, "$")
}

func parseDjango(encoded string) (foreign, error) {
	if encoded == "" || strings.HasPrefix(encoded, "!") {
		return foreign{}, ErrUnusable
	}
	algorithm, rest, ok := strings.Cut(encoded, "$")
	if !ok {
		return foreign{}, fmt.Errorf("%w: no algorithm$ prefix", ErrBadHash)
	}
	switch algorithm {
	case "pbkdf2_sha256":
		return parsePBKDF2(algorithm, rest, sha256.New)
	case "pbkdf2_sha1":
		return parsePBKDF2(algorithm, rest, sha1.New)
	case "argon2":
		return parseDjangoArgon2(rest)
	case "bcrypt_sha256":
		return parseBcrypt(algorithm, rest, func(pw string) []byte {
			sum := sha256.Sum256([]byte(pw))
			return []byte(hex.EncodeToString(sum[:]))
		})
	case "bcrypt":
		return parseBcrypt(algorithm, rest, func(pw string) []byte {
			if len(pw) > 72 { // the bcrypt library under Django cuts there
				pw = pw[:72]
			}
			return []byte(pw)
		})
	}
	if len(algorithm) > 32 {
		algorithm = algorithm[:32]
	}
	return foreign{}, fmt.Errorf("%w: %q", ErrUnsupported, algorithm)
}

func parsePBKDF2[H hash.Hash](algorithm, rest string, h func() H) (foreign, error) {
	parts := strings.Split(rest, "$")
	if len(parts) != 3 {
		return foreign{}, fmt.Errorf("%w: %s wants iterations$salt$hash", ErrBadHash, algorithm)
	}
	iter, err := strconv.Atoi(parts[0])
	if err != nil || iter < 1 {
		return foreign{}, fmt.Errorf("%w: %s iterations %q", ErrBadHash, algorithm, cut(parts[0]))
	}
	if iter > MaxPBKDF2Iterations {
		return foreign{}, fmt.Errorf("%w: %s with %d iterations (at most %d)", ErrOverCap, algorithm, iter, MaxPBKDF2Iterations)
	}
	salt := parts[1]
	key, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(key) != h().Size() || salt == "" {
		return foreign{}, fmt.Errorf("%w: %s salt or key", ErrBadHash, algorithm)
	}
	return foreign{algorithm: algorithm, verify: func(pw string) bool {
		got, err := pbkdf2.Key(h, pw, []byte(salt), iter, len(key))
		return err == nil && subtle.ConstantTimeCompare(got, key) == 1
	}}, nil
}

// parseDjangoArgon2 reads what follows "argon2$": argon2-cffi's encoding without its
// leading "$", argon2id$v=19$m=…,t=…,p=…$salt$key (or argon2i). Hashes of argon2 before
// version 19 (no v=, Django before 1.11) are refused: x/crypto implements only version 19.
func parseDjangoArgon2(rest string) (foreign, error) {
	parts := strings.Split(rest, "$")
	if len(parts) == 4 && strings.HasPrefix(parts[1], "m=") {
		return foreign{}, fmt.Errorf("%w: argon2 before version 19", ErrUnsupported)
	}
	if len(parts) != 5 {
		return foreign{}, fmt.Errorf("%w: argon2 wants argon2id$v=19$m=…,t=…,p=…$salt$hash", ErrBadHash)
	}
	parts = append([]string{""}, parts...) // the indexes of argon2's own encoding
	variant := parts[1]
	if variant != "argon2id" && variant != "argon2i" {
		return foreign{}, fmt.Errorf("%w: argon2 variant %q", ErrUnsupported, cut(variant))
	}
	if parts[2] != "v=19" {
		return foreign{}, fmt.Errorf("%w: argon2 version %q (only v=19)", ErrUnsupported, cut(parts[2]))
	}
	var m, t, p uint64
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", m, t, p) != parts[3] || m == 0 || t == 0 || p == 0 {
		return foreign{}, fmt.Errorf("%w: argon2 parameters %q", ErrBadHash, cut(parts[3]))
	}
	if m > MaxArgon2Memory || t > MaxArgon2Passes || m*t > MaxArgon2Work || p > MaxArgon2Lanes {
		return foreign{}, fmt.Errorf("%w: argon2 m=%d KiB, t=%d, p=%d (at most m=%d, t=%d, m×t=%d, p=%d)",
			ErrOverCap, m, t, p, MaxArgon2Memory, MaxArgon2Passes, MaxArgon2Work, MaxArgon2Lanes)
	}
	if m < 8*p { // argon2 needs 8 KiB per lane
		return foreign{}, fmt.Errorf("%w: argon2 memory below 8 KiB per lane", ErrBadHash)
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 64 {
		return foreign{}, fmt.Errorf("%w: argon2 salt or key", ErrBadHash)
	}
	derive := argon2.IDKey
	if variant == "argon2i" {
		derive = argon2.Key
	}
	return foreign{algorithm: "argon2", verify: func(pw string) bool {
		got := derive([]byte(pw), salt, uint32(t), uint32(m), uint8(p), uint32(len(key)))
		return subtle.ConstantTimeCompare(got, key) == 1
	}}, nil
}

// parseBcrypt reads what follows "bcrypt_sha256$" or "bcrypt$": a modular-crypt bcrypt
// hash, $2b$<cost>$<22 characters of salt><31 of hash>.
func parseBcrypt(algorithm, rest string, input func(string) []byte) (foreign, error) {
	if len(rest) != 60 || rest[0] != '$' || rest[1] != '2' || rest[3] != '$' || rest[6] != '$' ||
		!strings.ContainsRune("abxy", rune(rest[2])) {
		return foreign{}, fmt.Errorf("%w: %s wants $2b$cost$ and 53 characters", ErrBadHash, algorithm)
	}
	cost, err := strconv.Atoi(rest[4:6])
	if err != nil || cost < bcrypt.MinCost {
		return foreign{}, fmt.Errorf("%w: %s cost %q", ErrBadHash, algorithm, rest[4:6])
	}
	if cost > MaxBcryptCost {
		return foreign{}, fmt.Errorf("%w: %s cost %d (at most %d)", ErrOverCap, algorithm, cost, MaxBcryptCost)
	}
	const alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for i := 7; i < len(rest); i++ {
		if strings.IndexByte(alphabet, rest[i]) < 0 {
			return foreign{}, fmt.Errorf("%w: %s salt or hash", ErrBadHash, algorithm)
		}
	}
	stored := []byte(rest)
	return foreign{algorithm: algorithm, verify: func(pw string) bool {
		return bcrypt.CompareHashAndPassword(stored, input(pw)) == nil
	}}, nil
}

// cut bounds a piece of a bad hash quoted in an error (a report line, not a dump).
func cut(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}
