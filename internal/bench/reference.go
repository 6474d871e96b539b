package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Reference is `renran bench-reference`: the handlers the service is compared with, in a
// process of their own, as the service runs. GET /users/me/ is a bare net/http handler
// writing a fixed profile. GET /oauth/qq/url/ and GET /oauth/qq/info/ are the least a
// returning QQ login needs: a state cookie, one token call to the emulator (fmt=json,
// need_openid=1), a map from openid to user, and an EdDSA signature — no database, no
// short-lived store, no log.
func Reference(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("renran bench-reference", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	emulator := fs.String("emulator", "", "the QQ emulator's base URL")
	appID := fs.String("app-id", "", "the QQ app id")
	appKey := fs.String("app-key", "", "the QQ app key")
	redirect := fs.String("redirect-uri", "", "the redirect URI registered for the app")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	ref := &reference{emulator: *emulator, appID: *appID, appKey: *appKey, redirect: *redirect, key: priv,
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 10000, MaxIdleConns: 10000}}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("GET /users/me/", ref.me)
	mux.HandleFunc("GET /oauth/qq/url/", ref.url)
	mux.HandleFunc("GET /oauth/qq/info/", ref.info)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	fmt.Fprintf(stdout, "bench-reference: listening on http://%s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type reference struct {
	emulator, appID, appKey, redirect string
	key                               ed25519.PrivateKey
	client                            *http.Client
	users                             sync.Map // openid → user id
	nextID                            atomic.Int64
}

// profile is about the size of the service's /users/me/ answer.
var profile = []byte(`{"id":1,"username":"rr_4zf923vjrz","nickname":"林枫","avatar":"","mobile":"139****1234","email":"","has_password":true,"created_at":"2026-12-07T00:00:00Z","identities":[{"provider":"qq","nickname":"林枫","avatar":"","bound_at":"2026-12-07T00:00:00Z"}]}` + "\n")

func (r *reference) me(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(profile)
}

func (r *reference) url(w http.ResponseWriter, _ *http.Request) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	state := hex.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: "qq_state", Value: state, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 600})
	u := r.emulator + "/oauth2.0/authorize?" + url.Values{"response_type": {"code"}, "client_id": {r.appID}, "redirect_uri": {r.redirect}, "state": {state}}.Encode()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"url": u})
}

func (r *reference) info(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	c, err := req.Cookie("qq_state")
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(q.Get("state"))) != 1 {
		http.Error(w, `{"error":"oauth_state_invalid"}`, http.StatusBadRequest)
		return
	}
	tu := r.emulator + "/oauth2.0/token?" + url.Values{"grant_type": {"authorization_code"}, "client_id": {r.appID}, "client_secret": {r.appKey},
		"code": {q.Get("code")}, "redirect_uri": {r.redirect}, "fmt": {"json"}, "need_openid": {"1"}}.Encode()
	resp, err := r.client.Get(tu)
	if err != nil {
		http.Error(w, `{"error":"qq_unavailable"}`, http.StatusBadGateway)
		return
	}
	var tok struct {
		OpenID string `json:"openid"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.OpenID == "" {
		http.Error(w, `{"error":"qq_error"}`, http.StatusBadGateway)
		return
	}
	id, _ := r.users.LoadOrStore(tok.OpenID, r.nextID.Add(1))
	now := time.Now()
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"sub": strconv.FormatInt(id.(int64), 10), "iat": now.Unix(), "exp": now.Add(15 * time.Minute).Unix()})
	s, err := t.SignedString(r.key)
	if err != nil {
		http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"token": s, "id": id})
}
