// Package weiboemu is a local emulator of Weibo (微博开放平台, api.weibo.com) OAuth2 web login.
//
// It speaks the real service's wire formats, quirks included (docs/weibo.md): an authorize
// page (GET or POST) that checks redirect_uri exactly and shows Weibo's error page instead of
// calling the site back, display=mobile for phones, a cancel that calls back with
// error=access_denied and error_code=21330, single-use codes that expire in ten minutes, a
// token endpoint that takes POST only and answers errors with 4xx statuses, the same token
// again for a returning user with fewer seconds left, get_token_info with numbers where the
// doc says strings, and users/show with id as a number beside idstr. Added latency and
// injected faults are settings. `weiboemu_user=<uid>` on the authorize URL approves at once,
// for scripts and load tests.
//
// Like qqemu, it shares no code with the client it tests (internal/emukit is only the
// latency and fault plumbing of the emulators).
package weiboemu

import (
	"crypto/rand"
	"fmt"
	"github.com/renran/accounts/internal/emukit"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CodeTTL is how long an authorization code stays valid (unconfirmed at Weibo; 10 minutes).
const CodeTTL = 10 * time.Minute

// TokenLifetime is what Weibo gives most apps today: about five years.
const TokenLifetime = 157679999

// App is a Weibo application registered with the emulator.
type App struct {
	AppKey       string // digits, e.g. "4043688639"
	AppSecret    string
	Name         string
	RedirectURIs []string // compared byte for byte
}

// User is a test Weibo user a person can pick on the authorize page.
type User struct {
	UID        string // decimal; Weibo's are global, not per app
	ScreenName string
	NoAvatar   bool
}

// DefaultUsers are the test users of an emulator whose Config.Users is nil. Their uids are
// above 2^31, as many real ones are.
var DefaultUsers = []User{
	{UID: "6672271347", ScreenName: "荏苒微博读者"},
	{UID: "7214960791", ScreenName: "小荏的微博😀"},
	{UID: "1404376560", ScreenName: "zaku", NoAvatar: true},
}

// Config configures an emulator.
type Config struct {
	Apps      []App
	Users     []User        // nil: DefaultUsers
	PublicURL string        // where browsers reach the emulator (for avatar URLs); "" : relative
	Latency   time.Duration // added before every API answer
	Now       func() time.Time
}

// Fault is an injected failure of an API endpoint ("token", "token_info", "users_show"):
// Kind "error" (Code: a Weibo error_code, with its usual status), "http500", "garbage"
// (an HTML page) or "timeout" (no answer until the client gives up). Times 0: until
// cleared.
type Fault = emukit.Fault

type codeRec struct {
	app, uid, redirect string
	expires            time.Time
}

type tokenRec struct {
	app, uid string
	created  time.Time
	expires  time.Time
}

// Server is the emulator; it is an http.Handler.
type Server struct {
	cfg          Config
	mux          *http.ServeMux
	emukit.Knobs // SetLatency, InjectFault, ClearFaults, Calls: "authorize", "token", "token_info", "users_show"
	mu           sync.Mutex
	users        map[string]User
	order        []string
	codes        map[string]codeRec
	tokens       map[string]tokenRec
	byUser       map[string]string // app+" "+uid → its token (Weibo hands the same one back)
	nextUID      atomic.Int64
}

// New returns an emulator.
func New(cfg Config) *Server {
	if cfg.Users == nil {
		cfg.Users = append([]User(nil), DefaultUsers...)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	s := &Server{cfg: cfg, mux: http.NewServeMux(), users: map[string]User{}, codes: map[string]codeRec{},
		tokens: map[string]tokenRec{}, byUser: map[string]string{}}
	for _, u := range cfg.Users {
		s.users[u.UID] = u
		s.order = append(s.order, u.UID)
	}
	s.Latency.Set(cfg.Latency)
	// New users get 10-digit uids starting at a random point, so runs do not collide.
	var b [4]byte
	_, _ = rand.Read(b[:])
	s.nextUID.Store(5_000_000_000 + int64(b[0])<<24 | int64(b[1])<<16 | int64(b[2])<<8 | int64(b[3]))
	s.mux.HandleFunc("/oauth2/authorize", s.handleAuthorize)
	s.mux.HandleFunc("POST /oauth2/approve", s.handleApprove)
	s.mux.HandleFunc("POST /oauth2/cancel", s.handleCancel)
	s.mux.HandleFunc("/oauth2/access_token", s.handleToken)
	s.mux.HandleFunc("/oauth2/get_token_info", s.handleTokenInfo)
	s.mux.HandleFunc("/2/users/show.json", s.handleUsersShow)
	s.mux.HandleFunc("GET /avatar/{uid}", s.handleAvatar)
	s.mux.HandleFunc("POST /_weiboemu/users", s.handleAddUser)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// AddUser adds a test user with a new uid and returns it.
func (s *Server) AddUser(name string) User {
	uid := strconv.FormatInt(s.nextUID.Add(1), 10)
	if name == "" {
		name = "微博用户" + uid[len(uid)-4:]
	}
	u := User{UID: uid, ScreenName: name}
	s.mu.Lock()
	s.users[uid] = u
	s.order = append(s.order, uid)
	s.mu.Unlock()
	return u
}

func (s *Server) app(key string) (App, bool) {
	for _, a := range s.cfg.Apps {
		if a.AppKey == key {
			return a, true
		}
	}
	return App{}, false
}

func (s *Server) user(uid string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[uid]
	return u, ok
}

// newCode mints a code for uid: 32 lower-case hex characters.
func (s *Server) newCode(app, uid, redirect string) string {
	c := emukit.RandomHex(16)
	s.mu.Lock()
	s.codes[c] = codeRec{app: app, uid: uid, redirect: redirect, expires: s.cfg.Now().Add(CodeTTL)}
	s.mu.Unlock()
	return c
}

// tokenFor returns the user's token for app: the same one while it lives.
func (s *Server) tokenFor(app, uid string) (string, tokenRec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	if t, ok := s.byUser[app+" "+uid]; ok && s.tokens[t].expires.After(now) {
		return t, s.tokens[t]
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
	b := make([]byte, 28)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	t := "2.00" + string(b)
	rec := tokenRec{app: app, uid: uid, created: now, expires: now.Add(TokenLifetime * time.Second)}
	s.tokens[t] = rec
	s.byUser[app+" "+uid] = t
	return t, rec
}

// applyFault writes an injected failure for endpoint (request is the path Weibo names in
// its error bodies) and reports whether it did.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, endpoint, request string) bool {
	f, ok := s.Faults.Take(endpoint)
	if !ok {
		return false
	}
	switch f.Kind {
	case "http500":
		emukit.WriteHTTP500(w)
	case "garbage":
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>新浪微博 - 系统繁忙</body></html>"))
	case "timeout":
		<-r.Context().Done()
	default:
		code := f.Code
		if code == 0 {
			code = 10001
		}
		writeError(w, request, code, "emulated error")
	}
	return true
}

// errorNames are Weibo's error texts and the status each comes with (docs/weibo.md §14).
var errorNames = map[int]struct {
	name   string
	status int
}{
	10001: {"system error", 500}, 10006: {"source paramter(appkey) is missing", 400},
	10016: {"miss required parameter", 400}, 10017: {"parameter value invalid", 400},
	10021: {"HTTP method is not suported for this request", 400}, 10023: {"User requests out of rate limit!", 403},
	20003: {"User does not exists!", 400}, 21301: {"auth failed!", 401},
	21323: {"invalid_request", 400}, 21324: {"invalid_client", 401}, 21325: {"invalid_grant", 400},
	21327: {"expired_token", 401}, 21328: {"unsupported_grant_type", 400}, 21330: {"access_denied", 403},
	21332: {"invalid_access_token", 401}, 21337: {"appkey permission denied", 403},
}

// writeError writes a Weibo error body with its status. OAuth endpoints add error_uri and
// error_description; API endpoints have only error, error_code and request.
func writeError(w http.ResponseWriter, request string, code int, description string) {
	e, ok := errorNames[code]
	if !ok {
		e.name, e.status = "error", 400
	}
	var body []byte
	if strings.HasPrefix(request, "/oauth2/") && code >= 21322 && code <= 21331 {
		body = marshalOrdered([]kv{{"error", e.name}, {"error_code", code}, {"request", request}, {"error_uri", request}, {"error_description", description}})
	} else {
		body = marshalOrdered([]kv{{"error", e.name}, {"error_code", code}, {"request", request}})
	}
	writeJSON(w, e.status, body)
}

type kv struct {
	k string
	v any
}

// marshalOrdered writes an object in the given key order, with "/" unescaped as Weibo does.
func marshalOrdered(fields []kv) []byte {
	return emukit.OrderedJSON(len(fields), func(i int) (string, any) { return fields[i].k, fields[i].v })
}

// writeJSON answers under text/plain;charset=UTF-8, as Weibo was seen to.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
	w.Header().Set("Server", "weibo-emulator")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// params are a request's parameters: the query, and for a POST the form body too.
func params(r *http.Request) func(string) string {
	_ = r.ParseForm()
	return func(k string) string { return r.Form.Get(k) }
}

func (s *Server) avatarURL(uid string, size int) string {
	return fmt.Sprintf("%s/avatar/%s?size=%d", s.cfg.PublicURL, uid, size)
}

// handleAvatar draws a user's avatar: a coloured square with the name's first character.
func (s *Server) handleAvatar(w http.ResponseWriter, r *http.Request) {
	u, ok := s.user(r.PathValue("uid"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	initial := "微"
	for _, c := range u.ScreenName {
		initial = string(c)
		break
	}
	n, _ := strconv.ParseInt(u.UID, 10, 64)
	colours := []string{"#e6162d", "#ff8200", "#1da1f2", "#6c5ce7", "#00b894"}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="180" height="180" viewBox="0 0 180 180"><rect width="180" height="180" fill="%s"/><text x="90" y="118" font-size="90" text-anchor="middle" fill="#fff" font-family="sans-serif">%s</text></svg>`,
		colours[n%int64(len(colours))], escapeXML(initial))
}

func escapeXML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// handleAddUser handles POST /_weiboemu/users (emulator-only): a new test user, answered
// as {"uid", "screen_name"}. The body, optional, is {"screen_name"}.
func (s *Server) handleAddUser(w http.ResponseWriter, r *http.Request) {
	name, ok := emukit.NewUserName(w, r, "screen_name", 30)
	if !ok {
		return
	}
	u := s.AddUser(name)
	emukit.WriteCreated(w, map[string]string{"uid": u.UID, "screen_name": u.ScreenName})
}
