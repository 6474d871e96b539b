// Package password hashes passwords with argon2id and holds the password policy. It knows
// nothing about users. Imports: the standard library, x/crypto/argon2 and x/text's NFC.
//
//go:generate go run ./gencommon
package password

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Params are argon2id parameters. Defaults are OWASP's first setting: 19 MiB, 2 passes,
// 1 lane, a 16-byte salt and a 32-byte key (OWASP Password Storage Cheat Sheet; docs/requirements.md §6).
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	KeyLen  uint32
	SaltLen int
}

// DefaultParams are the production parameters.
var DefaultParams = Params{Memory: 19456, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}

// Hasher hashes and verifies passwords, running at most a fixed number of hashes at once
// so that a burst of logins queues instead of using 19 MiB per request without bound.
type Hasher struct {
	p      Params
	slots  chan struct{}
	hashes atomic.Int64 // argon2 computations, for tests and metrics
	dummy  string       // a hash of nothing, verified for unknown accounts to even out timing
}

// NewHasher returns a Hasher running at most concurrency hashes at once.
func NewHasher(p Params, concurrency int) *Hasher {
	if concurrency < 1 {
		concurrency = 1
	}
	h := &Hasher{p: p, slots: make(chan struct{}, concurrency)}
	h.dummy = h.hash("renran-dummy-password")
	return h
}

// Hash returns the PHC string of pw in Unicode NFC: $argon2id$v=19$m=…,t=…,p=…$salt$key.
// NFC first, so that the same password typed on a keyboard that composes (é as one code
// point) and one that does not (e and a combining accent) is the same password.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.hash(norm.NFC.String(pw)), nil
}

// Computed is how many argon2 hashes the hasher has computed (Hash and Verify).
func (h *Hasher) Computed() int64 { return h.hashes.Load() }

func (h *Hasher) hash(pw string) string {
	h.hashes.Add(1)
	salt := make([]byte, h.p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	key := argon2.IDKey([]byte(pw), salt, h.p.Time, h.p.Memory, h.p.Threads, h.p.KeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.p.Memory, h.p.Time, h.p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key))
}

// Verify reports whether pw, in NFC, matches the PHC string phc. An empty phc (no account,
// or an account without a password) is checked against a dummy hash, so it costs the same
// time. rehash says the hash should be made again: other parameters than the current ones,
// or a hash of the password as typed from before passwords were normalised, or a Django
// hash kept from an import (django.go).
func (h *Hasher) Verify(ctx context.Context, phc, pw string) (ok, rehash bool, err error) {
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	if IsDjango(phc) {
		if !strings.HasPrefix(phc, "!") {
			return h.verifyDjango(phc, pw)
		}
		phc = "" // Django's unusable password: nobody's, like no password
	}
	target := phc
	if target == "" {
		target = h.dummy
	}
	p, salt, key, err := decode(target)
	if err != nil {
		return false, false, err
	}
	match := func(s string) bool {
		h.hashes.Add(1)
		got := argon2.IDKey([]byte(s), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
		return subtle.ConstantTimeCompare(got, key) == 1 && phc != ""
	}
	rehash = p.Memory != h.p.Memory || p.Time != h.p.Time || p.Threads != h.p.Threads || uint32(len(key)) != h.p.KeyLen
	nfc := norm.NFC.String(pw)
	if match(nfc) {
		return true, rehash, nil
	}
	// The upgrade path: a hash made before passwords were normalised holds the bytes as
	// typed. Only a password that NFC changes can differ, so only then is there a second
	// try (for every account alike, the dummy included); a match is rehashed in NFC.
	if nfc != pw && match(pw) {
		return true, true, nil
	}
	return false, false, nil
}

// verifyDjango checks pw against an imported Django hash, as typed (Django does not
// normalise passwords). A match always asks for a rehash: the hash becomes our argon2id.
func (h *Hasher) verifyDjango(encoded, pw string) (ok, rehash bool, err error) {
	f, err := parseDjango(encoded)
	if err != nil {
		return false, false, err
	}
	h.hashes.Add(1)
	if !f.verify(pw) {
		return false, false, nil
	}
	return true, true, nil
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

// ErrBadHash is returned for a stored hash that is not an argon2id PHC string.
var ErrBadHash = errors.New("password: malformed hash")

func decode(phc string) (Params, []byte, []byte, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return Params{}, nil, nil, ErrBadHash
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, ErrBadHash
	}
	if p.Memory == 0 || p.Memory > 1<<21 || p.Time == 0 || p.Time > 64 || p.Threads == 0 {
		return Params{}, nil, nil, ErrBadHash
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return Params{}, nil, nil, ErrBadHash
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return Params{}, nil, nil, ErrBadHash
	}
	return p, salt, key, nil
}

// Policy violations returned by Check.
var (
	ErrTooShort = errors.New("password: shorter than 8 characters")
	ErrTooLong  = errors.New("password: longer than 128 characters")
	ErrCommon   = errors.New("password: too common")
	ErrPersonal = errors.New("password: same as the account name or mobile")
	ErrInvalid  = errors.New("password: not valid UTF-8")
)

// MinLen and MaxLen bound a password's length in characters. Every character is allowed,
// and passwords are never truncated or case-folded.
const (
	MinLen = 8
	MaxLen = 128
)

//go:embed common.txt
var commonList string

var common = func() map[string]struct{} {
	m := make(map[string]struct{})
	sc := bufio.NewScanner(strings.NewReader(commonList))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" && !strings.HasPrefix(w, "#") {
			m[strings.ToLower(w)] = struct{}{}
		}
	}
	return m
}()

// Check applies the policy to pw in NFC: 8–128 characters, not a common password (the
// list, or a shape no list needs to spell out), not one of the user's own identifiers
// (personal: username, mobile, nickname…).
func Check(pw string, personal ...string) error {
	if !utf8.ValidString(pw) {
		return ErrInvalid
	}
	pw = norm.NFC.String(pw)
	n := utf8.RuneCountInString(pw)
	if n < MinLen {
		return ErrTooShort
	}
	if n > MaxLen {
		return ErrTooLong
	}
	lower := strings.ToLower(pw)
	if _, ok := common[lower]; ok || commonShape(lower) {
		return ErrCommon
	}
	for _, p := range personal {
		if p != "" && strings.EqualFold(strings.TrimSpace(norm.NFC.String(p)), strings.TrimSpace(pw)) {
			return ErrPersonal
		}
	}
	return nil
}

// commonShape reports the shapes of guessable passwords of any length: at most two
// different characters (qqqqqqqq, 11112222), a short unit repeated (12121212, abcabcabc),
// a straight run up or down (12345678, 1234567890, hgfedcba), a date (19900101), or digits
// that read the same backwards (12344321).
func commonShape(pw string) bool {
	r := []rune(pw)
	distinct := map[rune]bool{}
	for _, c := range r {
		distinct[c] = true
	}
	if len(distinct) <= 2 {
		return true
	}
	for p := 1; p <= 4 && p <= len(r)/2; p++ {
		repeats := true
		for i := p; i < len(r) && repeats; i++ {
			repeats = r[i] == r[i-p]
		}
		if repeats {
			return true
		}
	}
	if run(r, 1) || run(r, -1) {
		return true
	}
	return isDate(pw) || digitPalindrome(pw)
}

// digitPalindrome reports digits that read the same backwards: 12344321, 1234554321.
func digitPalindrome(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' || s[i] != s[len(s)-1-i] {
			return false
		}
	}
	return true
}

// run reports whether every character is the one before it plus step (digits wrap: 890).
func run(r []rune, step rune) bool {
	for i := 1; i < len(r); i++ {
		d := r[i] - r[i-1]
		digits := r[i] >= '0' && r[i] <= '9' && r[i-1] >= '0' && r[i-1] <= '9'
		if d != step && !(digits && (d == -9*step)) {
			return false
		}
	}
	return true
}

// isDate reports an 8-digit YYYYMMDD date of 1900–2099: a birthday.
func isDate(s string) bool {
	if len(s) != 8 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	y, m, d := atoi(s[:4]), atoi(s[4:6]), atoi(s[6:])
	return y >= 1900 && y <= 2099 && m >= 1 && m <= 12 && d >= 1 && d <= 31
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
