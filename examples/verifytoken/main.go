// Command verifytoken verifies a Renran access token as another service would: with the
// public keys of /.well-known/jwks.json, the standard library and golang-jwt, and no
// secret. Usage: go run ./examples/verifytoken http://127.0.0.1:8000 <access token>
//
// A real service keeps the keys for up to the JWKS's max-age (5 minutes) and fetches them
// again when a token names a kid it does not know. A signature check alone cannot see a
// session ended since the token was issued; the token lives 15 minutes at most.
package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/golang-jwt/jwt/v5"
)

// Keys fetches the site's JWKS: kid → Ed25519 public key.
func Keys(site string) (map[string]ed25519.PublicKey, error) {
	resp, err := http.Get(site + "/.well-known/jwks.json")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct{ Kid, Kty, Crv, X string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return nil, err
	}
	keys := map[string]ed25519.PublicKey{}
	for _, k := range set.Keys {
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err == nil && k.Kty == "OKP" && k.Crv == "Ed25519" && len(x) == ed25519.PublicKeySize {
			keys[k.Kid] = x
		}
	}
	return keys, nil
}

// Verify checks tok against keys: EdDSA only, the key its kid names, typ at+jwt, issuer
// renran, audience renran-api, exp (required) and nbf. It returns the user id and the
// session id.
func Verify(keys map[string]ed25519.PublicKey, tok string) (user, session string, err error) {
	t, err := jwt.Parse(tok, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); typ != "at+jwt" {
			return nil, errors.New("not an access token")
		}
		kid, _ := t.Header["kid"].(string)
		if k, ok := keys[kid]; ok {
			return k, nil
		}
		return nil, errors.New("unknown kid: fetch the JWKS again")
	}, jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer("renran"), jwt.WithAudience("renran-api"),
		jwt.WithExpirationRequired(), jwt.WithLeeway(30e9))
	if err != nil {
		return "", "", err
	}
	c := t.Claims.(jwt.MapClaims)
	user, _ = c["sub"].(string)
	session, _ = c["sid"].(string)
	return user, session, nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: verifytoken <site URL> <access token>")
		os.Exit(2)
	}
	keys, err := Keys(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "fetch keys:", err)
		os.Exit(1)
	}
	user, session, err := Verify(keys, os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "refused:", err)
		os.Exit(1)
	}
	fmt.Printf("valid: user %s, session %s\n", user, session)
}
