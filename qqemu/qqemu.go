// Package qqemu is a local emulator of QQ Connect (QQ 互联, graph.qq.com) OAuth 2.0 web login.
//
// It speaks the real service's wire formats, quirks included (see docs/qq-connect.md §10): an
// authorize step that checks redirect_uri exactly and shows QQ's error page instead of calling
// the site back, single-use codes that expire in ten minutes, a token endpoint that answers
// url-encoded bodies under text/html and JSONP errors, /oauth2.0/me in JSONP, get_user_info
// with escaped slashes and http:// avatars, refresh tokens that can be used once, and
// deterministic openids per (app, user). Added latency and injected faults are settings, so
// clients can be tested against timeouts and malformed bodies.
//
// The emulator shares no code with the client it tests (only internal/emukit, the latency
// and fault plumbing the emulators have in common): if they shared parsing code, a bug in it
// would be invisible to the tests.
package qqemu

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"github.com/renran/accounts/internal/emukit"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultExpiresIn is the access token lifetime in seconds that QQ historically answered
// (90 days). Recent answers carry 5184000 (60 days); set Config.ExpiresIn to emulate that.
const DefaultExpiresIn = 7776000

// CodeTTL is how long an authorization code stays valid (docs/qq-connect.md §2.3).
const CodeTTL = 10 * time.Minute

// refreshChainTTL caps a refresh-token chain at three months (docs/qq-connect.md §3.5).
const refreshChainTTL = 90 * 24 * time.Hour

// keepTokens is how many tokens (and their refresh tokens) the emulator keeps for a user of
// an app: a new one past it revokes the oldest. Tokens live three months, so a load test
// logging in the same users thousands of times a second would otherwise grow the emulator
// by hundreds of megabytes a minute. QQ's own limit is not documented (docs/qq-connect.md
// §10).
const keepTokens = 16

// issuedPair is a token and the refresh token issued with it.
type issuedPair struct{ access, refresh string }

// App is a QQ Connect application registered with the emulator.
type App struct {
	AppID        string   // numeric string, e.g. "101000001"
	AppKey       string   // the client_secret
	Name         string   // shown on the authorize page
	RedirectURIs []string // compared byte for byte with redirect_uri
	UnionID      bool     // whether /me may answer unionid=1 (else error 100048)
	DeveloperID  string   // apps of one developer share unionids; empty means "default"
	// Unreviewed emulates an app QQ has not approved yet: only the QQ users listed in
	// Developers may log in; anyone else gets QQ's error page with 100011.
	Unreviewed bool
	Developers []string // UINs
}

// User is a test QQ user a person can pick on the authorize page.
type User struct {
	UIN      string // the QQ number; openids are derived from it
	Nickname string
	NoQQ2    bool // leave figureurl_qq_2 out of get_user_info, as for some real users
	IsLost   bool // get_user_info answers is_lost: 1 (partly lost data, not to be cached)
}

// Config configures an emulator.
type Config struct {
	Apps      []App
	Users     []User        // nil: a few default test users
	PublicURL string        // base URL browsers reach the emulator at (for avatar URLs); empty: from the request
	ExpiresIn int           // access token lifetime in seconds; 0: DefaultExpiresIn
	Latency   time.Duration // added before every answer of authorize, token, me and get_user_info
	Seed      string        // secret from which openids and unionids are derived; empty: "qqemu"
	Now       func() time.Time
}

// Fault is an injected failure for one endpoint: "token", "me" or "user_info". Kind is
// one of: "error" (a QQ error body with Code), "http500", "timeout" (no answer until the
// client gives up), "malformed" (a truncated body), "bom" (a UTF-8 BOM before a correct
// body), "trailing_comma" (the wiki's JSONP error with a trailing comma). Times is how many
// requests it hits; 0: until cleared.
type Fault = emukit.Fault

// Server is the emulator. It is an http.Handler; mount it at any path prefix with
// http.StripPrefix, since every link it writes is relative.
type Server struct {
	cfg  Config
	apps map[string]*App
	mux  *http.ServeMux

	emukit.Knobs // SetLatency, InjectFault, ClearFaults, Calls: "authorize", "token", "me", "user_info"

	mu       sync.Mutex
	users    []User
	usersByU map[string]int
	nextUIN  int
	codes    map[string]*codeRecord
	tokens   map[string]*tokenRecord
	refresh  map[string]*refreshRecord
	issued   map[string][]issuedPair // by app and user, oldest first (keepTokens)
	expires  int
	inserts  int
}

type codeRecord struct {
	appID, redirectURI, uin, scope string
	expires                        time.Time
	used                           bool
}

type tokenRecord struct {
	appID, uin string
	expires    time.Time
	revoked    bool
}

type refreshRecord struct {
	appID, uin string
	chainStart time.Time
	used       bool
}

// DefaultUsers are the test users of an emulator whose Config.Users is nil.
var DefaultUsers = []User{
	{UIN: "10001", Nickname: "林枫"},
	{UIN: "10002", Nickname: "小荏"},
	{UIN: "10003", Nickname: "QQ测试用户", NoQQ2: true},
}

// New returns an emulator for cfg.
func New(cfg Config) *Server {
	if cfg.Users == nil {
		cfg.Users = append([]User(nil), DefaultUsers...)
	}
	if cfg.Seed == "" {
		cfg.Seed = "qqemu"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ExpiresIn == 0 {
		cfg.ExpiresIn = DefaultExpiresIn
	}
	s := &Server{
		cfg:      cfg,
		apps:     make(map[string]*App),
		usersByU: make(map[string]int),
		nextUIN:  firstNewUIN(),
		codes:    make(map[string]*codeRecord),
		tokens:   make(map[string]*tokenRecord),
		refresh:  make(map[string]*refreshRecord),
		issued:   make(map[string][]issuedPair),
		expires:  cfg.ExpiresIn,
	}
	for i := range cfg.Apps {
		a := cfg.Apps[i]
		if a.DeveloperID == "" {
			a.DeveloperID = "default"
		}
		s.apps[a.AppID] = &a
	}
	for _, u := range cfg.Users {
		s.usersByU[u.UIN] = len(s.users)
		s.users = append(s.users, u)
	}
	s.Latency.Set(cfg.Latency)
	s.routes()
	return s
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /oauth2.0/authorize", s.handleAuthorize)
	m.HandleFunc("GET /oauth2.0/show", s.handleShow)
	m.HandleFunc("POST /oauth2.0/approve", s.handleApprove)
	m.HandleFunc("GET /oauth2.0/cancel", s.handleCancel)
	m.HandleFunc("GET /oauth2.0/token", s.handleToken)
	m.HandleFunc("POST /oauth2.0/token", s.handleToken)
	m.HandleFunc("GET /oauth2.0/me", s.handleMe)
	m.HandleFunc("POST /oauth2.0/me", s.handleMe)
	m.HandleFunc("GET /user/get_user_info", s.handleUserInfo)
	m.HandleFunc("POST /user/get_user_info", s.handleUserInfo)
	m.HandleFunc("GET /qlogo/{uin}/{size}", s.handleAvatar)
	m.HandleFunc("GET /favicon.ico", handleFavicon) // run on its own, browsers ask for it
	m.HandleFunc("GET /_qqemu/settings", s.handleGetSettings)
	m.HandleFunc("POST /_qqemu/users", s.handleAddUser)
	m.HandleFunc("PUT /_qqemu/settings", s.handlePutSettings)
	s.mux = m
}

// handleFavicon answers a browser's /favicon.ico with the pages' icon (a blue dot).
func handleFavicon(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write([]byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="8" fill="#0a6e9c"/></svg>`))
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// firstNewUIN is where the QQ numbers of new users start: a random 10-digit number, so
// that a new user of this run never has the number (and so the openid) of a new user of
// an earlier run against the same database. The default users keep their fixed numbers.
func firstNewUIN() int {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return 1_000_000_000 + int(uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3]))%1_000_000_000
}

// AddUser makes a new test QQ user, as the authorize page's 新 QQ 用户 button does.
func (s *Server) AddUser(nickname string) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addUserLocked(nickname)
}

func (s *Server) addUserLocked(nickname string) User {
	uin := strconv.Itoa(s.nextUIN)
	for {
		if _, taken := s.usersByU[uin]; !taken {
			break
		}
		s.nextUIN++
		uin = strconv.Itoa(s.nextUIN)
	}
	s.nextUIN++
	if strings.TrimSpace(nickname) == "" {
		nickname = "QQ用户" + uin
	}
	u := User{UIN: uin, Nickname: nickname}
	s.usersByU[uin] = len(s.users)
	s.users = append(s.users, u)
	return u
}

// Users lists the test users.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]User(nil), s.users...)
}

func (s *Server) user(uin string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.usersByU[uin]
	if !ok {
		return User{}, false
	}
	return s.users[i], true
}

// OpenID returns the openid the emulator gives user uin in app appID: 32 upper-case hex
// characters, the same on every run for the same seed (docs/qq-connect.md §10.13).
func (s *Server) OpenID(appID, uin string) string {
	return s.derive("openid", appID, uin)
}

// UnionID returns the unionid of user uin for the developer of appID: "UID_" + 32 hex.
func (s *Server) UnionID(appID, uin string) string {
	dev := "default"
	if a, ok := s.apps[appID]; ok {
		dev = a.DeveloperID
	}
	return "UID_" + s.derive("unionid", dev, uin)
}

func (s *Server) derive(kind, scope, uin string) string {
	m := hmac.New(sha256.New, []byte(s.cfg.Seed))
	m.Write([]byte(kind + "\x00" + scope + "\x00" + uin))
	return strings.ToUpper(hex.EncodeToString(m.Sum(nil))[:32])
}

// IssueCode approves a login as the authorize page would and returns the code, for tests
// that do not drive the page.
func (s *Server) IssueCode(appID, redirectURI, uin string) (string, error) {
	app, ok := s.apps[appID]
	if !ok {
		return "", errorf(100008)
	}
	if !app.allows(redirectURI) {
		return "", errorf(100010)
	}
	if _, ok := s.user(uin); !ok {
		return "", errorf(100029)
	}
	return s.newCode(appID, redirectURI, uin, "get_user_info"), nil
}

func (s *Server) newCode(appID, redirectURI, uin, scope string) string {
	code := hex32()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	s.codes[code] = &codeRecord{appID: appID, redirectURI: redirectURI, uin: uin, scope: scope,
		expires: s.cfg.Now().Add(CodeTTL)}
	return code
}

// sweepLocked drops expired records every few thousand inserts, so a long load test does
// not grow memory without bound.
func (s *Server) sweepLocked() {
	s.inserts++
	if s.inserts%4096 != 0 {
		return
	}
	now := s.cfg.Now()
	for k, c := range s.codes {
		if now.After(c.expires) {
			delete(s.codes, k)
		}
	}
	for k, t := range s.tokens {
		if now.After(t.expires) {
			delete(s.tokens, k)
		}
	}
	for k, r := range s.refresh {
		if r.used || now.Sub(r.chainStart) > refreshChainTTL {
			delete(s.refresh, k)
		}
	}
}

// admits reports whether user uin may log in to the app (docs/qq-connect.md §6, 100011).
func (a *App) admits(uin string) bool {
	if !a.Unreviewed {
		return true
	}
	for _, d := range a.Developers {
		if d == uin {
			return true
		}
	}
	return false
}

func (a *App) allows(redirectURI string) bool {
	for _, u := range a.RedirectURIs {
		if u == redirectURI {
			return true
		}
	}
	return false
}

func hex32() string { return strings.ToUpper(emukit.RandomHex(16)) }
