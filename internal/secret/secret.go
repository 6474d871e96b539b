// Package secret derives one key per purpose from the service's master secret and seals
// small values (QQ tokens at rest, pending records) with AES-GCM. Standard library only.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
)

// MinLen is the shortest master secret accepted: 32 bytes (256 bits).
const MinLen = 32

// Derive returns a 32-byte key for purpose: HMAC-SHA256(master, "renran/"+purpose). Each
// token type gets its own key, so one can never be taken for another.
func Derive(master []byte, purpose string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("renran/" + purpose))
	return m.Sum(nil)
}

// Box seals and opens values with AES-256-GCM.
type Box struct{ aead cipher.AEAD }

// NewBox returns a Box for a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plain; ad binds the result to its context (say, the row it belongs to).
func (b *Box) Seal(plain, ad []byte) []byte {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return b.aead.Seal(nonce, nonce, plain, ad)
}

// ErrOpen is returned for a sealed value that was altered or sealed with another key.
var ErrOpen = errors.New("secret: cannot open sealed value")

// Open decrypts what Seal made with the same ad.
func (b *Box) Open(sealed, ad []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n+b.aead.Overhead() {
		return nil, ErrOpen
	}
	out, err := b.aead.Open(nil, sealed[:n], sealed[n:], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}
