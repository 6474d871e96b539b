package web_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/secret"
)

// login logs u in with the password "correct horse battery" from user agent ua.
func (b *browser) login(t *testing.T, u account.User, remember bool, ua string) response {
	t.Helper()
	r := b.do("POST", "/users/login/", map[string]any{"account": u.Username, "password": "correct horse battery", "remember": remember}, "User-Agent", ua)
	wantStatus(t, "login", r, 200, "")
	if r.str("refresh_token") == "" || r.body["expires_in"] != float64(900) {
		t.Fatalf("login body without refresh_token or a 15-minute expires_in: %s", r.raw)
	}
	return r
}

func (b *browser) refresh(rt string) response {
	return b.do("POST", "/users/token/refresh/", map[string]any{"refresh_token": rt})
}

// TestSessions_RefreshRotation: a refresh gives a new access token and a new refresh
// token; the one spent last may come again at once (two tabs), an older one means a leak:
// the whole session ends, for both holders, with an audit event.
func TestSessions_RefreshRotation(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	u := e.user("correct horse battery")
	l := b.login(t, u, false, "Mozilla/5.0 (Windows NT 10.0) Chrome/130.0")
	r1 := l.str("refresh_token")
	a := b.refresh(r1)
	wantStatus(t, "refresh", a, 200, "")
	r2 := a.str("refresh_token")
	if r2 == r1 || a.str("token") == l.str("token") || a.body["id"] != float64(u.ID) {
		t.Fatalf("refresh gave %s", a.raw)
	}
	wantStatus(t, "the new access token", b.auth(a.str("token")).do("GET", "/users/me/", nil), 200, "")
	// A second tab spent r1 at the same moment: within the grace window, not a reuse.
	g := b.refresh(r1)
	wantStatus(t, "the refresh token spent last, again at once", g, 200, "")
	r3 := g.str("refresh_token")
	c := b.refresh(r2)
	wantStatus(t, "refresh with r2", c, 200, "")
	// r1 is no longer the one spent last: presented now, it leaked.
	wantStatus(t, "r1 replayed after two rotations", b.refresh(r1), 401, "session_revoked")
	for name, rt := range map[string]string{"r3 (the sibling)": r3, "r4 (the newest)": c.str("refresh_token")} {
		wantStatus(t, name+" after the reuse", b.refresh(rt), 401, "refresh_token_invalid")
	}
	for name, tok := range map[string]string{"the first access token": l.str("token"), "the newest access token": c.str("token")} {
		wantStatus(t, name+" after the reuse", b.auth(tok).do("GET", "/users/me/", nil), 401, "not_authenticated")
	}
	evs, err := e.db.RecentAuditEvents(context.Background(), u.ID, 20)
	if err != nil || len(evs) == 0 || evs[0].Event != account.EventTokenReuse {
		t.Errorf("newest audit event = %+v, %v; want %s", evs, err, account.EventTokenReuse)
	}
	// Concurrent refreshes with one token (two tabs): all answered, none ends the session.
	l2 := b.login(t, u, true, "")
	rt := l2.str("refresh_token")
	codes := map[int]int{}
	results := concurrently(8, func(int) response { return b.refresh(rt) })
	for _, r := range results {
		codes[r.status]++
	}
	if codes[200] != 8 {
		t.Errorf("8 concurrent refreshes with one token: %v, want 8 × 200 (grace)", codes)
	}
	wantStatus(t, "a sibling from the concurrent refreshes", b.refresh(results[3].str("refresh_token")), 200, "")
}

// TestSessions_ListAndEnd: the user centre's list marks the current session; ending
// another one (退出此设备) refuses its tokens at once; another user's session is not found.
func TestSessions_ListAndEnd(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	u, other := e.user("correct horse battery"), e.user("correct horse battery")
	phone := b.login(t, u, true, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1")
	desk := b.login(t, u, false, "Mozilla/5.0 (Windows NT 10.0) Chrome/130.0")
	theirs := b.login(t, other, false, "")
	r := b.auth(desk.str("token")).do("GET", "/users/me/sessions/", nil)
	wantStatus(t, "sessions", r, 200, "")
	var list struct {
		Sessions []struct {
			ID, Method, Device string
			Current, Remember  bool
		}
	}
	json.Unmarshal([]byte(r.raw), &list)
	if len(list.Sessions) != 2 {
		t.Fatalf("sessions = %s, want 2", r.raw)
	}
	var phoneID string
	for _, s := range list.Sessions {
		switch {
		case s.Current && !s.Remember && s.Method == "password" && s.Device == "Chrome · Windows":
		case !s.Current && s.Remember && s.Device == "Safari · iPhone":
			phoneID = s.ID
		default:
			t.Errorf("session %+v", s)
		}
	}
	theirList := b.auth(theirs.str("token")).do("GET", "/users/me/sessions/", nil)
	theirID, _ := theirList.body["sessions"].([]any)[0].(map[string]any)["id"].(string)
	wantStatus(t, "ending another user's session", b.auth(desk.str("token")).do("DELETE", "/users/me/sessions/"+theirID, nil), 404, "session_not_found")
	wantStatus(t, "their session after that", b.auth(theirs.str("token")).do("GET", "/users/me/", nil), 200, "")
	wantStatus(t, "ending the phone's session", b.auth(desk.str("token")).do("DELETE", "/users/me/sessions/"+phoneID, nil), 204, "")
	wantStatus(t, "the phone's access token", b.auth(phone.str("token")).do("GET", "/users/me/", nil), 401, "not_authenticated")
	wantStatus(t, "the phone's refresh token", b.refresh(phone.str("refresh_token")), 401, "refresh_token_invalid")
	wantStatus(t, "ending it again", b.auth(desk.str("token")).do("DELETE", "/users/me/sessions/"+phoneID, nil), 404, "session_not_found")
	wantStatus(t, "the desktop still", b.auth(desk.str("token")).do("GET", "/users/me/", nil), 200, "")
	wantStatus(t, "logout", b.auth(desk.str("token")).do("POST", "/users/logout/", nil), 204, "")
	wantStatus(t, "the desktop's refresh token after logout", b.refresh(desk.str("refresh_token")), 401, "refresh_token_invalid")
	// Log out everywhere and a password change end every session, refresh tokens too.
	s1, s2 := b.login(t, u, true, ""), b.login(t, u, false, "")
	wantStatus(t, "logout everywhere", b.auth(s1.str("token")).do("POST", "/users/logout/", map[string]any{"all": true}), 204, "")
	wantStatus(t, "a refresh token after log out everywhere", b.refresh(s2.str("refresh_token")), 401, "refresh_token_invalid")
	s3, s4 := b.login(t, u, true, ""), b.login(t, u, false, "")
	ch := b.auth(s3.str("token")).do("PUT", "/users/password/", map[string]any{"old_password": "correct horse battery", "new_password": "another long passphrase"})
	wantStatus(t, "change password", ch, 200, "")
	wantStatus(t, "another session's refresh token after a password change", b.refresh(s4.str("refresh_token")), 401, "refresh_token_invalid")
	wantStatus(t, "the changing session's old refresh token", b.refresh(s3.str("refresh_token")), 401, "refresh_token_invalid")
	wantStatus(t, "the new login's refresh token", b.refresh(ch.str("refresh_token")), 200, "")
}

// TestSessions_TokenConfusion: only an EdDSA access token under a published key, for a
// live session, opens the API; a refresh token is not an access token and the other way
// round; the first release's HS256 tokens work until they expire or are logged out.
func TestSessions_TokenConfusion(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	u := e.user("correct horse battery")
	l := b.login(t, u, false, "")
	tok := l.str("token")
	parts := strings.Split(tok, ".")
	var head map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	json.Unmarshal(raw, &head)
	var claims map[string]any
	raw, _ = base64.RawURLEncoding.DecodeString(parts[1])
	json.Unmarshal(raw, &claims)
	pub := jwksKey(t, e, head["kid"].(string))
	sign := func(m jwt.SigningMethod, key any, c jwt.MapClaims, h map[string]any) string {
		t.Helper()
		j := jwt.NewWithClaims(m, c)
		for k, v := range h {
			j.Header[k] = v
		}
		s, err := j.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	mc := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{}
		for k, v := range claims {
			c[k] = v
		}
		if edit != nil {
			edit(c)
		}
		return c
	}
	_, otherKey, _ := ed25519.GenerateKey(nil)
	forged := mc(func(c jwt.MapClaims) { c["sid"] = "someone-elses-session" })
	tests := []struct{ name, tok string }{
		{"a refresh token as the Bearer token", l.str("refresh_token")},
		{"unknown kid", sign(jwt.SigningMethodEdDSA, otherKey, mc(nil), map[string]any{"typ": "at+jwt", "kid": "not-a-key"})},
		{"our kid, another key", sign(jwt.SigningMethodEdDSA, otherKey, mc(nil), map[string]any{"typ": "at+jwt", "kid": head["kid"]})},
		{"HS256 keyed with the published public key", sign(jwt.SigningMethodHS256, []byte(pub), mc(nil), map[string]any{"typ": "at+jwt", "kid": head["kid"]})},
		{"HS256 keyed with the public key, no kid", sign(jwt.SigningMethodHS256, []byte(pub), mc(nil), map[string]any{"typ": "at+jwt"})},
		{"alg none", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt","kid":"`+head["kid"].(string)+`"}`)) + "." + parts[1] + "."},
		{"a forged sid (payload edited)", parts[0] + "." + base64.RawURLEncoding.EncodeToString(mustJSON(forged)) + "." + parts[2]},
	}
	for _, tt := range tests {
		wantStatus(t, tt.name, b.auth(tt.tok).do("GET", "/users/me/", nil), 401, "not_authenticated")
	}
	wantStatus(t, "the access token as a refresh token", b.refresh(tok), 401, "refresh_token_invalid")
	wantStatus(t, "a made-up refresh token", b.refresh(strings.Repeat("A", 43)), 401, "refresh_token_invalid")
	wantStatus(t, "no refresh token", b.refresh(""), 400, "refresh_token_required")
	wantStatus(t, "the real token still", b.auth(tok).do("GET", "/users/me/", nil), 200, "")

	// A token of the first release: HS256 under the key derived from the master secret,
	// no session, at most 7 days.
	now := time.Now()
	legacy := sign(jwt.SigningMethodHS256, secret.Derive(testSecret, "jwt"), jwt.MapClaims{
		"iss": "renran", "aud": []string{"renran-api"}, "sub": strconv.FormatInt(u.ID, 10), "iat": now.Unix(),
		"exp": now.Add(2 * time.Hour).Unix(), "jti": "legacy-1", "ver": u.TokenVersion, "uct": u.CreatedAt.UnixMilli(),
	}, map[string]any{"typ": "at+jwt"})
	wantStatus(t, "a first-release token", b.auth(legacy).do("GET", "/users/me/", nil), 200, "")
	wantStatus(t, "its logout", b.auth(legacy).do("POST", "/users/logout/", nil), 204, "")
	wantStatus(t, "a first-release token after its logout", b.auth(legacy).do("GET", "/users/me/", nil), 401, "not_authenticated")
	expired := sign(jwt.SigningMethodHS256, secret.Derive(testSecret, "jwt"), jwt.MapClaims{
		"iss": "renran", "aud": []string{"renran-api"}, "sub": strconv.FormatInt(u.ID, 10), "iat": now.Add(-3 * time.Hour).Unix(),
		"exp": now.Add(-time.Hour).Unix(), "jti": "legacy-2", "ver": u.TokenVersion, "uct": u.CreatedAt.UnixMilli(),
	}, map[string]any{"typ": "at+jwt"})
	wantStatus(t, "an expired first-release token", b.auth(expired).do("GET", "/users/me/", nil), 401, "not_authenticated")
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// jwksKey fetches /.well-known/jwks.json as another service would and returns the key kid.
func jwksKey(t *testing.T, e *env, kid string) ed25519.PublicKey {
	t.Helper()
	keys := fetchJWKS(t, e)
	k, ok := keys[kid]
	if !ok {
		t.Fatalf("kid %s not in the JWKS (%d keys)", kid, len(keys))
	}
	return k
}

func fetchJWKS(t *testing.T, e *env) map[string]ed25519.PublicKey {
	t.Helper()
	resp, err := http.Get(e.url + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "public, max-age=300" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /.well-known/jwks.json = %d %v", resp.StatusCode, resp.Header)
	}
	var set struct {
		Keys []struct{ Kty, Crv, X, Kid, Alg, Use, D string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	out := map[string]ed25519.PublicKey{}
	for _, k := range set.Keys {
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if k.Kty != "OKP" || k.Crv != "Ed25519" || k.Alg != "EdDSA" || k.Use != "sig" || k.D != "" || err != nil || len(x) != ed25519.PublicKeySize {
			t.Fatalf("JWK %+v", k)
		}
		out[k.Kid] = x
	}
	return out
}

// verifyElsewhere verifies an access token as another Renran service would, with the JWKS
// and golang-jwt, pinning EdDSA and checking iss, aud, exp and nbf (the README's example).
func verifyElsewhere(t *testing.T, e *env, tok string) (jwt.MapClaims, error) {
	t.Helper()
	keys := fetchJWKS(t, e)
	c := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(tok, c, func(tk *jwt.Token) (any, error) {
		if k, ok := keys[tk.Header["kid"].(string)]; ok {
			return k, nil
		}
		return nil, errors.New("unknown kid")
	}, jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer("renran"), jwt.WithAudience("renran-api"), jwt.WithExpirationRequired())
	return c, err
}

// TestSessions_KeyRotation: `renran keys rotate` publishes a new key at once and signs
// with it later; tokens of both keys verify, at this service and for another service
// reading the JWKS; nobody is logged out.
func TestSessions_KeyRotation(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	u := e.user("correct horse battery")
	before := b.login(t, u, false, "").str("token")
	if c, err := verifyElsewhere(t, e, before); err != nil || c["sid"] == "" || c["sub"] != strconv.FormatInt(u.ID, 10) {
		t.Fatalf("another service's verification = %v, %v", c, err)
	}
	ctx := context.Background()
	k, err := account.RotateKey(ctx, e.db, testSecret, time.Now(), 0) // renran keys rotate -now
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ReloadKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(fetchJWKS(t, e)); n != 2 {
		t.Errorf("JWKS after a rotation: %d keys, want 2", n)
	}
	after := b.login(t, u, false, "").str("token")
	var head struct{ Kid string }
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(after, ".")[0])
	json.Unmarshal(raw, &head)
	if head.Kid != k.ID {
		t.Errorf("token after the rotation under %s, want %s", head.Kid, k.ID)
	}
	for name, tok := range map[string]string{"before the rotation": before, "after it": after} {
		wantStatus(t, "a token "+name, b.auth(tok).do("GET", "/users/me/", nil), 200, "")
		if _, err := verifyElsewhere(t, e, tok); err != nil {
			t.Errorf("another service verifying a token %s: %v", name, err)
		}
	}
}
