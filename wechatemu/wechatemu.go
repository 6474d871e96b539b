// Package wechatemu is a local emulator of WeChat login (docs/wechat.md): the open
// platform's website app (open.weixin.qq.com/connect/qrconnect, a page with a real QR code)
// and an official account's web authorization inside WeChat's browser
// (connect/oauth2/authorize, refused without MicroMessenger in the user agent), with the
// api.weixin.qq.com endpoints both share: sns/oauth2/access_token (GET, errors as HTTP 200
// with errcode and a request id), sns/oauth2/refresh_token, sns/userinfo and sns/auth.
// openids are per app; apps of one open-platform account share unionids, an official
// account not bound to it gets none. Codes are single use (10 minutes for the website app,
// 5 for the official account) and bound to the app that issued them; a new exchange revokes
// the user's older token in that app. Latency and faults are settings;
// `wechatemu_user=<id>` (or `new`) on an authorize URL approves at once, for scripts and
// load tests.
//
// Like qqemu it shares no code with the client it tests.
package wechatemu

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"github.com/renran/accounts/internal/emukit"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Kinds of app.
const (
	Website = "web" // open platform website app: qrconnect, snsapi_login
	MP      = "mp"  // official account (公众号): oauth2/authorize inside WeChat
)

// Lifetimes.
const (
	WebCodeTTL    = 10 * time.Minute
	MPCodeTTL     = 5 * time.Minute
	AccessTTL     = 7200 * time.Second
	RefreshMaxAge = 30 * 24 * time.Hour
)

// App is a WeChat app registered with the emulator.
type App struct {
	ID, Secret   string
	Name         string
	Kind         string   // Website or MP
	RedirectURIs []string // compared byte for byte (stricter than WeChat's domain rule)
	// OpenPlatform is the open-platform account the app is bound to: apps with the same one
	// share unionids. "": not bound, no unionid (only an official account can be unbound).
	OpenPlatform string
}

// User is a test WeChat user.
type User struct {
	ID       string // the emulator's own handle for the person
	Nickname string
	NoAvatar bool
}

// DefaultUsers are the test users of an emulator whose Config.Users is nil.
var DefaultUsers = []User{
	{ID: "wx1", Nickname: "荏苒微信读者"},
	{ID: "wx2", Nickname: "小荏🌸"},
	{ID: "wx3", Nickname: "没有头像的读者", NoAvatar: true},
}

// Config configures an emulator.
type Config struct {
	Apps      []App
	Users     []User
	PublicURL string // where browsers reach it (QR codes, avatars); "": relative
	Seed      string // from which openids and unionids are derived; "": "wechatemu"
	Latency   time.Duration
	Now       func() time.Time
}

// Fault is an injected failure of an API endpoint (token, refresh, userinfo, auth): Kind
// "error" (Code: an errcode), "http500", "garbage", "empty" or "timeout". Times 0: until
// cleared.
type Fault = emukit.Fault

type flow struct {
	app, redirect, state string
	expires              time.Time
}

type codeRec struct {
	app, user, scope string
	expires          time.Time
	used             bool
}

type tokenRec struct {
	app, user, scope string
	expires          time.Time
	refreshUntil     time.Time
	refresh          string
}

// Server is the emulator; an http.Handler.
type Server struct {
	cfg          Config
	mux          *http.ServeMux
	emukit.Knobs // SetLatency, InjectFault, ClearFaults, Calls: "qrconnect", "authorize", "token", "refresh", "userinfo", "auth"
	mu           sync.Mutex
	users        map[string]User
	order        []string
	flows        map[string]flow    // QR uuid → the authorize request it shows
	codes        map[string]codeRec // used codes are kept (40163) until they expire
	tokens       map[string]tokenRec
	refresh      map[string]string // refresh token → access token
	latest       map[string]string // app+" "+user → the user's current access token in that app
	newSeq       atomic.Int64
}

// New returns an emulator.
func New(cfg Config) *Server {
	if cfg.Users == nil {
		cfg.Users = append([]User(nil), DefaultUsers...)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Seed == "" {
		cfg.Seed = "wechatemu"
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	s := &Server{cfg: cfg, mux: http.NewServeMux(), users: map[string]User{}, flows: map[string]flow{}, codes: map[string]codeRec{},
		tokens: map[string]tokenRec{}, refresh: map[string]string{}, latest: map[string]string{}}
	for _, u := range cfg.Users {
		s.users[u.ID] = u
		s.order = append(s.order, u.ID)
	}
	s.Latency.Set(cfg.Latency)
	s.mux.HandleFunc("GET /connect/qrconnect", s.handleQRConnect)
	s.mux.HandleFunc("GET /connect/oauth2/authorize", s.handleMPAuthorize)
	s.mux.HandleFunc("GET /connect/qrcode/{uuid}", s.handleQRCode)
	s.mux.HandleFunc("GET /connect/confirm", s.handleConfirm)
	s.mux.HandleFunc("POST /connect/approve", s.handleApprove)
	s.mux.HandleFunc("POST /connect/deny", s.handleDeny)
	s.mux.HandleFunc("/sns/oauth2/access_token", s.handleToken)
	s.mux.HandleFunc("/sns/oauth2/refresh_token", s.handleRefresh)
	s.mux.HandleFunc("/sns/userinfo", s.handleUserInfo)
	s.mux.HandleFunc("/sns/auth", s.handleAuth)
	s.mux.HandleFunc("GET /avatar/{user}/{size}", s.handleAvatar) // WeChat's URLs end with a size
	s.mux.HandleFunc("GET /avatar/{user}", s.handleAvatar)
	s.mux.HandleFunc("POST /_wechatemu/users", s.handleAddUser)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// AddUser adds a new test user and returns it.
func (s *Server) AddUser(nickname string) User {
	id := fmt.Sprintf("new%d-%s", s.newSeq.Add(1), emukit.RandomHex(3))
	if nickname == "" {
		nickname = "微信用户" + id[len(id)-4:]
	}
	u := User{ID: id, Nickname: nickname}
	s.mu.Lock()
	s.users[id] = u
	s.order = append(s.order, id)
	s.mu.Unlock()
	return u
}

// OpenID is the openid user has in app: 28 characters starting with o.
func (s *Server) OpenID(app, user string) string { return s.derive("openid", app, user) }

// UnionID is user's unionid in app, "" when the app is not bound to an open platform.
func (s *Server) UnionID(app, user string) string {
	a, ok := s.app(app)
	if !ok || a.OpenPlatform == "" {
		return ""
	}
	return s.derive("unionid", a.OpenPlatform, user)
}

func (s *Server) derive(kind, scope, user string) string {
	m := hmac.New(sha256.New, []byte(s.cfg.Seed))
	m.Write([]byte(kind + "\x00" + scope + "\x00" + user))
	return "o" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:27]
}

func (s *Server) app(id string) (App, bool) {
	for _, a := range s.cfg.Apps {
		if a.ID == id {
			return a, true
		}
	}
	return App{}, false
}

func (s *Server) user(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	return u, ok
}

// randomAlnum is n letters and digits, as WeChat's codes are.
func randomAlnum(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, endpoint string) bool {
	f, ok := s.Faults.Take(endpoint)
	if !ok {
		return false
	}
	switch f.Kind {
	case "http500":
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("<html><body>500 Internal Server Error</body></html>"))
	case "garbage":
		w.Header().Set("Content-Type", "text/html; charset=gbk")
		_, _ = w.Write([]byte("<html>\xcf\xb5\xcd\xb3\xb7\xb1\xc3\xa6</html>")) // 系统繁忙 in GBK
	case "empty":
		w.Header().Set("Content-Type", "text/html; charset=gbk")
	case "timeout":
		<-r.Context().Done()
	default:
		code := f.Code
		if code == 0 {
			code = -1
		}
		writeError(w, code)
	}
	return true
}

// errmsgs are WeChat's texts (docs/wechat.md §8); the emulator adds ", rid: …" as WeChat
// does since 2020.
var errmsgs = map[int]string{
	-1: "system error", 40001: "invalid credential, access_token is invalid or not latest", 40002: "invalid grant_type",
	40003: "invalid openid", 40013: "invalid appid", 40029: "invalid code", 40030: "invalid refresh_token",
	40125: "invalid appsecret, view more at http://t.cn/RAEkdVq", 40163: "code been used", 41001: "access_token missing",
	41002: "appid missing", 41003: "refresh_token missing", 41004: "appsecret missing", 41008: "missing code",
	41009: "missing openid", 42001: "access_token expired", 42002: "refresh_token expired", 42003: "code expired",
	45011: "api minute-quota reach limit", 48001: "api unauthorized",
}

func writeError(w http.ResponseWriter, code int) {
	msg := errmsgs[code]
	if msg == "" {
		msg = "emulated error"
	}
	rid := fmt.Sprintf("%s-%s-%s", emukit.RandomHex(4), emukit.RandomHex(4), emukit.RandomHex(4))
	writeJSON(w, []field{{"errcode", code}, {"errmsg", msg + ", rid: " + rid}})
}

type field struct {
	k string
	v any
}

// writeJSON answers 200 under text/plain, the fields in WeChat's order, "/" escaped as "\/"
// and non-ASCII kept as UTF-8.
func writeJSON(w http.ResponseWriter, fields []field) {
	b := emukit.OrderedJSON(len(fields), func(i int) (string, any) { return fields[i].k, fields[i].v })
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write(bytes.ReplaceAll(b, []byte("/"), []byte(`\/`)))
}

func (s *Server) avatarURL(user string) string {
	return s.cfg.PublicURL + "/avatar/" + user + "/132"
}

// handleAvatar draws a user's avatar (the path ends with a size, as WeChat's do).
func (s *Server) handleAvatar(w http.ResponseWriter, r *http.Request) {
	u, ok := s.user(r.PathValue("user"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	initial := "微"
	for _, c := range u.Nickname {
		initial = string(c)
		break
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="132" height="132" viewBox="0 0 132 132"><rect width="132" height="132" fill="#07c160"/><text x="66" y="88" font-size="64" text-anchor="middle" fill="#fff" font-family="sans-serif">%s</text></svg>`,
		strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(initial))
}

// handleAddUser handles POST /_wechatemu/users: a new test user, {"id", "nickname"}.
func (s *Server) handleAddUser(w http.ResponseWriter, r *http.Request) {
	name, ok := emukit.NewUserName(w, r, "nickname", 32)
	if !ok {
		return
	}
	u := s.AddUser(name)
	emukit.WriteCreated(w, map[string]string{"id": u.ID, "nickname": u.Nickname})
}
