package account

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/renran/accounts/internal/secret"
	"github.com/renran/accounts/internal/token"
)

// Signing keys. Access tokens are signed with Ed25519 (EdDSA): small keys and signatures,
// fast to sign and verify, deterministic signatures (no per-signature random nonce to get
// wrong, unlike ECDSA), in Go's standard library. The keys live in the database, their
// private halves sealed with the master secret, so every instance signs with the same
// key and a rotation reaches all of them.
const (
	// KeyReload is how often an instance reads the keys again.
	KeyReload = time.Minute
	// DefaultKeyDelay is how long a rotated key is published before it signs: longer
	// than the JWKS cache time (JWKSMaxAge) and KeyReload, so that every instance and every
	// verifier that caches the JWKS knows it before the first token under it.
	DefaultKeyDelay = 10 * time.Minute
	// JWKSMaxAge is how long /.well-known/jwks.json may be cached.
	JWKSMaxAge = 5 * time.Minute
	// unknownKidEvery bounds the reloads a token under an unknown kid may cause.
	unknownKidEvery = 5 * time.Second
)

// KeyState is a signing key with what it is doing now.
type KeyState struct {
	SigningKey
	State string // "upcoming" (published, not signing yet), "active" (signs), "previous" (verifies until its tokens expire), "retired"
}

// KeyStates says of each key (as SigningKeys returns them, earliest active first) what it
// does at now, when access tokens live accessTTL: the newest key whose time has come
// signs; an older one verifies until the last token it may have signed has expired.
func KeyStates(keys []SigningKey, now time.Time, accessTTL time.Duration) []KeyState {
	active := -1
	for i, k := range keys {
		if !k.ActiveFrom.After(now) {
			active = i
		}
	}
	out := make([]KeyState, len(keys))
	for i, k := range keys {
		st := "upcoming"
		switch {
		case i == active:
			st = "active"
		// An instance may sign with the old key until its next reload after the successor's
		// start; the token it signs then lives accessTTL, plus the verifiers' leeway.
		case i < active && keys[i+1].ActiveFrom.Add(KeyReload+accessTTL+token.Leeway).After(now):
			st = "previous"
		case i < active:
			st = "retired"
		}
		out[i] = KeyState{SigningKey: k, State: st}
	}
	return out
}

// signingKeyBox seals the private halves of signing keys, under a key derived from master.
func signingKeyBox(master []byte) (*secret.Box, error) {
	return secret.NewBox(secret.Derive(master, "signing-key"))
}

// keyAD binds a sealed private key to its kid: a sealed key moved to another row does not open.
func keyAD(kid string) []byte { return []byte("signing-key:" + kid) }

// newSigningKey makes a key that starts signing at activeFrom, sealed in box.
func newSigningKey(box *secret.Box, now, activeFrom time.Time) (SigningKey, error) {
	k, err := token.NewKey()
	if err != nil {
		return SigningKey{}, err
	}
	return SigningKey{ID: k.ID, Public: k.Public, Sealed: box.Seal(k.Private, keyAD(k.ID)), CreatedAt: now, ActiveFrom: activeFrom}, nil
}

// keyring keeps the Issuer's keys in step with the database.
type keyring struct {
	store     Store
	box       *secret.Box
	iss       *token.Issuer
	now       func() time.Time
	accessTTL time.Duration
	log       *slog.Logger

	mu       sync.Mutex
	lastLoad time.Time // wall clock of the last load caused by an unknown kid
}

// load reads the keys and gives the Issuer the active one and those that verify. With no
// key that may sign yet (a new database), it adds one that signs at once; instances that
// start together may each add one, and all then sign with the same newest one.
func (k *keyring) load(ctx context.Context) error {
	keys, err := k.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("account: load signing keys: %w", err)
	}
	now := k.now()
	states := KeyStates(keys, now, k.accessTTL)
	hasActive := false
	for _, st := range states {
		hasActive = hasActive || st.State == "active"
	}
	if !hasActive {
		nk, err := newSigningKey(k.box, now, now)
		if err != nil {
			return err
		}
		if err := k.store.AddSigningKey(ctx, nk); err != nil {
			return fmt.Errorf("account: add the first signing key: %w", err)
		}
		k.log.Info("created an access-token signing key", "kid", nk.ID)
		if keys, err = k.store.SigningKeys(ctx); err != nil {
			return fmt.Errorf("account: load signing keys: %w", err)
		}
		states = KeyStates(keys, now, k.accessTTL)
	}
	var active token.Key
	var verify []token.Key
	for _, st := range states {
		if st.State == "retired" {
			continue
		}
		tk := token.Key{ID: st.ID, Public: ed25519.PublicKey(st.Public)}
		if st.State == "active" {
			priv, err := k.box.Open(st.Sealed, keyAD(st.ID))
			if err != nil || len(priv) != ed25519.PrivateKeySize {
				return fmt.Errorf("account: open signing key %s: is RENRAN_SECRET_KEY the one it was made with? %v", st.ID, err)
			}
			tk.Private = ed25519.PrivateKey(priv)
			active = tk
		}
		verify = append(verify, tk)
	}
	k.iss.SetKeys(active, verify)
	return nil
}

// reloadForUnknown loads the keys again for a token under an unknown kid, at most once
// every unknownKidEvery (forged kids must not become a database load), and reports
// whether it did.
func (k *keyring) reloadForUnknown(ctx context.Context) bool {
	k.mu.Lock()
	if time.Since(k.lastLoad) < unknownKidEvery {
		k.mu.Unlock()
		return false
	}
	k.lastLoad = time.Now()
	k.mu.Unlock()
	if err := k.load(ctx); err != nil {
		k.log.Warn("reload signing keys", "err", err)
		return false
	}
	return true
}

// JWKS is the JSON Web Key Set of the keys that verify access tokens now.
func (s *Service) JWKS() []byte { return s.tokens.JWKS() }

// RotateKey adds a signing key that starts signing after delay (0: at once). Tokens
// signed with the current key keep verifying until they expire, so nobody is logged out.
func RotateKey(ctx context.Context, st Store, master []byte, now time.Time, delay time.Duration) (SigningKey, error) {
	box, err := signingKeyBox(master)
	if err != nil {
		return SigningKey{}, err
	}
	k, err := newSigningKey(box, now, now.Add(delay))
	if err != nil {
		return SigningKey{}, err
	}
	if err := st.AddSigningKey(ctx, k); err != nil {
		return SigningKey{}, fmt.Errorf("account: add signing key: %w", err)
	}
	return k, nil
}

// ReloadKeys reads the signing keys again now (they are read every KeyReload anyway).
func (s *Service) ReloadKeys(ctx context.Context) error { return s.keyring.load(ctx) }
