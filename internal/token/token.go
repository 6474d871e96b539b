// Package token issues and verifies the API's JWTs: HS256 only, exp required, and a
// token-version claim the caller compares with the user's current version, so a password
// change or "log out everywhere" revokes every older token, and the user's creation time,
// so a token never opens another account that came to have the same id. Imports: golang-jwt/jwt/v5.
package token

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	issuer   = "renran"
	audience = "renran-api"
	typ      = "at+jwt"
	leeway   = 30 * time.Second
)

// Claims are what a verified token says.
type Claims struct {
	UserID    int64
	Version   int64 // the user's token version when it was issued
	Created   int64 // the user's creation time, Unix milliseconds
	ID        string
	ExpiresAt time.Time
}

// Issuer signs and verifies access tokens with one key used for nothing else.
type Issuer struct {
	key    []byte
	now    func() time.Time
	parser *jwt.Parser
}

// NewIssuer returns an Issuer for a key of at least 32 bytes. now may be nil.
func NewIssuer(key []byte, now func() time.Time) (*Issuer, error) {
	if len(key) < 32 {
		return nil, errors.New("token: key shorter than 32 bytes")
	}
	if now == nil {
		now = time.Now
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithTimeFunc(now),
	)
	return &Issuer{key: key, now: now, parser: p}, nil
}

type claims struct {
	jwt.RegisteredClaims
	Ver int64 `json:"ver"`
	UCT int64 `json:"uct"` // user created, Unix ms
}

// Issue signs a token for user id, created at created (Unix ms), at token version ver,
// valid for ttl.
func (i *Issuer) Issue(userID, created, ver int64, ttl time.Duration) (string, Claims, error) {
	if created <= 0 {
		return "", Claims{}, errors.New("token: user creation time missing")
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
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			ID:        base64.RawURLEncoding.EncodeToString(b[:]),
		},
		Ver: ver,
		UCT: created,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["typ"] = typ
	s, err := t.SignedString(i.key)
	if err != nil {
		return "", Claims{}, err
	}
	return s, Claims{UserID: userID, Version: ver, Created: created, ID: c.ID, ExpiresAt: c.ExpiresAt.Time}, nil
}

// ErrInvalid is returned for any token that does not verify; the reason is not told apart
// on purpose.
var ErrInvalid = errors.New("token: invalid")

// Verify checks signature, algorithm, type, issuer, audience and times, and returns the claims.
func (i *Issuer) Verify(s string) (Claims, error) {
	if len(s) > 4096 {
		return Claims{}, ErrInvalid
	}
	var c claims
	t, err := i.parser.ParseWithClaims(s, &c, func(t *jwt.Token) (any, error) { return i.key, nil })
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
	return Claims{UserID: id, Version: c.Ver, Created: c.UCT, ID: c.ID, ExpiresAt: c.ExpiresAt.Time}, nil
}
