// Package token issues and verifies the API's access tokens: JWTs signed with Ed25519
// (EdDSA, RFC 8037) under a key id, so that other services verify them with the public
// keys of /.well-known/jwks.json and no secret. The algorithm is pinned per path: a token
// with a kid verifies only as EdDSA with that key; a token without one is a token of the
// first release (HS256 under a key derived from the master secret), honoured until it
// expires and never issued again. Every token carries its session id (sid), the user's
// token version and the user's creation time, which the caller compares with the
// database. Imports: golang-jwt/jwt/v5.
package token

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	issuer   = "renran"
	audience = "renran-api"
	typ      = "at+jwt"
	// Leeway is the clock skew tolerated on exp, nbf and iat.
	Leeway = 30 * time.Second
	// LegacyMaxTTL is the longest lifetime the first release gave an HS256 token (记住我:
	// 7 days); a legacy token claiming more is refused, so none outlives the upgrade by
	// more than that.
	LegacyMaxTTL = 7 * 24 * time.Hour
)

// Claims are what a verified token says.
type Claims struct {
	UserID    int64
	Version   int64  // the user's token version when it was issued
	Created   int64  // the user's creation time, Unix milliseconds
	SessionID string // empty for a legacy token
	ID        string
	KeyID     string // empty for a legacy token
	ExpiresAt time.Time
}

// Legacy reports whether the token is an HS256 token of the first release.
func (c Claims) Legacy() bool { return c.SessionID == "" }

// Key is one Ed25519 signing key under its id.
type Key struct {
	ID      string
	Private ed25519.PrivateKey // nil: verify only
	Public  ed25519.PublicKey
}

// NewKey makes a new Ed25519 key with a random id.
func NewKey() (Key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, err
	}
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Key{}, err
	}
	return Key{ID: base64.RawURLEncoding.EncodeToString(b[:]), Private: priv, Public: pub}, nil
}

// keySet is the keys in force: active signs, every key in verify verifies; jwks is the
// published JSON of the verify keys.
type keySet struct {
	active Key
	verify map[string]ed25519.PublicKey
	jwks   []byte
}

// Issuer signs access tokens with the active key and verifies them with any key in force.
// Keys change at run time (SetKeys) without a lock on the hot path.
type Issuer struct {
	legacy    []byte // HS256 key of the first release: verify only
	now       func() time.Time
	keys      atomic.Pointer[keySet]
	edParser  *jwt.Parser
	hmaParser *jwt.Parser

	// seen remembers tokens whose signature and claims verified, so that a token used
	// again (a page makes several requests with one) costs a map look-up instead of an
	// Ed25519 verification (~70 µs). Only the token's own checks are remembered: expiry is
	// checked on every use, the caller's session check is never skipped, and a change of
	// keys forgets everything.
	seenMu sync.RWMutex
	seen   map[string]Claims
}

// seenMax bounds the remembered tokens; past it the map starts afresh.
const seenMax = 8192

// ErrNoKey is returned by Issue before SetKeys gave the Issuer an active key.
var ErrNoKey = errors.New("token: no active signing key")

// NewIssuer returns an Issuer that verifies the first release's HS256 tokens with legacy
// (at least 32 bytes). now may be nil. It signs nothing until SetKeys.
func NewIssuer(legacy []byte, now func() time.Time) (*Issuer, error) {
	if len(legacy) < 32 {
		return nil, errors.New("token: key shorter than 32 bytes")
	}
	if now == nil {
		now = time.Now
	}
	opts := func(alg string) []jwt.ParserOption {
		return []jwt.ParserOption{
			jwt.WithValidMethods([]string{alg}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(Leeway),
			jwt.WithIssuer(issuer),
			jwt.WithAudience(audience),
			jwt.WithTimeFunc(now),
		}
	}
	i := &Issuer{legacy: legacy, now: now,
		edParser:  jwt.NewParser(opts(jwt.SigningMethodEdDSA.Alg())...),
		hmaParser: jwt.NewParser(opts(jwt.SigningMethodHS256.Alg())...),
	}
	i.keys.Store(&keySet{verify: map[string]ed25519.PublicKey{}, jwks: []byte(`{"keys":[]}`)})
	i.seen = map[string]Claims{}
	return i, nil
}

// SetKeys makes active the signing key and verify (which should include active) the keys
// tokens are accepted under.
func (i *Issuer) SetKeys(active Key, verify []Key) {
	ks := &keySet{active: active, verify: map[string]ed25519.PublicKey{}}
	pub := []jwk{} // never null in the JSON
	for _, k := range verify {
		ks.verify[k.ID] = k.Public
		pub = append(pub, jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.Public), Kid: k.ID, Alg: "EdDSA", Use: "sig"})
	}
	sort.Slice(pub, func(a, b int) bool { return pub[a].Kid < pub[b].Kid })
	ks.jwks, _ = json.Marshal(struct {
		Keys []jwk `json:"keys"`
	}{pub})
	if old := i.keys.Swap(ks); old == nil || !bytes.Equal(old.jwks, ks.jwks) || old.active.ID != ks.active.ID {
		i.seenMu.Lock()
		clear(i.seen) // a key retired: its tokens must not live on here
		i.seenMu.Unlock()
	}
}

// jwk is a public key in the JWK format of RFC 8037 (OKP, Ed25519).
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS returns the JSON Web Key Set of the keys in force.
func (i *Issuer) JWKS() []byte { return i.keys.Load().jwks }

type claims struct {
	jwt.RegisteredClaims
	Ver int64  `json:"ver"`
	UCT int64  `json:"uct"` // user created, Unix ms
	SID string `json:"sid,omitempty"`
}

// Issue signs a token for user id, created at created (Unix ms), at token version ver,
// for session sid, valid for ttl, with the active key.
func (i *Issuer) Issue(userID, created, ver int64, sid string, ttl time.Duration) (string, Claims, error) {
	if created <= 0 || sid == "" {
		return "", Claims{}, errors.New("token: user creation time or session missing")
	}
	ks := i.keys.Load()
	if ks.active.Private == nil {
		return "", Claims{}, ErrNoKey
	}
	now := i.now()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", Claims{}, err
	}
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   strconv.FormatInt(userID, 10),
			Audience:  jwt.ClaimStrings{audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			ID:        base64.RawURLEncoding.EncodeToString(b[:]),
		},
		Ver: ver,
		UCT: created,
		SID: sid,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["typ"] = typ
	t.Header["kid"] = ks.active.ID
	s, err := t.SignedString(ks.active.Private)
	if err != nil {
		return "", Claims{}, err
	}
	return s, Claims{UserID: userID, Version: ver, Created: created, SessionID: sid, ID: c.ID, KeyID: ks.active.ID, ExpiresAt: c.ExpiresAt.Time}, nil
}

// ErrInvalid is returned for any token that does not verify; the reason is not told apart
// on purpose.
var ErrInvalid = errors.New("token: invalid")

// ErrUnknownKey is returned for a well-formed token under a key id not in force: the
// caller may reload its keys (another instance may have rotated) and try once more.
var ErrUnknownKey = errors.New("token: unknown key id")

// Verify checks signature, algorithm, type, issuer, audience and times, and returns the
// claims. A token with a kid must be EdDSA under that key and carry a session; a token
// without one must be the first release's HS256, without a session, and no longer-lived
// than that release issued.
func (i *Issuer) Verify(s string) (Claims, error) {
	if len(s) > 4096 {
		return Claims{}, ErrInvalid
	}
	i.seenMu.RLock()
	c, ok := i.seen[s]
	i.seenMu.RUnlock()
	if ok && i.now().Before(c.ExpiresAt.Add(Leeway)) {
		return c, nil
	}
	c, err := i.verify(s)
	if err == nil {
		i.seenMu.Lock()
		if len(i.seen) >= seenMax {
			clear(i.seen)
		}
		i.seen[s] = c
		i.seenMu.Unlock()
	}
	return c, err
}

// verify is Verify without the memory of verified tokens.
func (i *Issuer) verify(s string) (Claims, error) {
	kid, hasKid, ok := peekKid(s)
	if !ok {
		return Claims{}, ErrInvalid
	}
	var c claims
	var t *jwt.Token
	var err error
	if hasKid {
		k, known := i.keys.Load().verify[kid]
		if !known {
			return Claims{}, ErrUnknownKey
		}
		t, err = i.edParser.ParseWithClaims(s, &c, func(*jwt.Token) (any, error) { return k, nil })
	} else {
		t, err = i.hmaParser.ParseWithClaims(s, &c, func(*jwt.Token) (any, error) { return i.legacy, nil })
	}
	if err != nil || !t.Valid {
		return Claims{}, ErrInvalid
	}
	if h, _ := t.Header["typ"].(string); h != typ {
		return Claims{}, ErrInvalid
	}
	id, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil || id <= 0 || c.ID == "" || c.UCT <= 0 {
		return Claims{}, ErrInvalid
	}
	if !hasKid {
		if c.SID != "" || c.IssuedAt == nil || c.ExpiresAt.Sub(c.IssuedAt.Time) > LegacyMaxTTL {
			return Claims{}, ErrInvalid
		}
	} else if c.SID == "" || c.NotBefore == nil {
		return Claims{}, ErrInvalid
	}
	return Claims{UserID: id, Version: c.Ver, Created: c.UCT, SessionID: c.SID, ID: c.ID, KeyID: kid, ExpiresAt: c.ExpiresAt.Time}, nil
}

// peekKid reads the kid of a token's header before anything is verified, to pick the
// path (and so the one algorithm) it is verified under. hasKid is false when the header
// has none; ok is false when the header is not a JSON object or the kid not a string.
func peekKid(s string) (kid string, hasKid, ok bool) {
	head, _, found := strings.Cut(s, ".")
	if !found {
		return "", false, false
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return "", false, false
	}
	var h map[string]any
	if json.Unmarshal(b, &h) != nil {
		return "", false, false
	}
	v, has := h["kid"]
	if !has {
		return "", false, true
	}
	kid, isString := v.(string)
	return kid, true, isString && kid != ""
}
