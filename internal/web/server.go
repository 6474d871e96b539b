// Package web is the service's HTTP side: the JSON API of docs/requirements.md §2, operations endpoints,
// development endpoints, and the middleware around them. Product rules live in account;
// a handler here decodes, calls account, and encodes. Imports: account, outbox and the
// standard library.
package web

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/outbox"
)

// Deps are what the server needs.
type Deps struct {
	Accounts       *account.Service
	Logger         *slog.Logger
	Origin         string   // the site's own origin, scheme://host[:port]
	CORSOrigins    []string // other origins allowed to call the API with credentials
	Secure         bool     // https: cookies are Secure with the __Host- prefix
	TrustedProxies []netip.Prefix
	Dev            bool           // development: /_dev/ routes exist
	Outbox         *outbox.Outbox // development outbox; nil in production
	QQEmulator     http.Handler   // mounted at /_dev/qq/ in development; nil otherwise
	// QQAvatarOrigin is an extra origin pages may load avatars from: the emulator's when it
	// runs as its own process in development. Empty otherwise.
	QQAvatarOrigin string
	// CallbackPath is the path of the redirect URI registered with QQ, where the callback
	// page is served; empty means /oauth/qq/callback.
	CallbackPath string
	// CallbackPaths are the callback page paths of the other providers (weibo →
	// /oauth/weibo/callback); a provider without one gets /oauth/<name>/callback.
	CallbackPaths map[string]string
	// WeiboEmulator is mounted at /_dev/weibo/ in development; nil otherwise.
	WeiboEmulator http.Handler
	// WeChatEmulator is mounted at /_dev/wechat/ in development; nil otherwise.
	WeChatEmulator http.Handler
	// Requests, when set, is told of every answered request (for /metrics).
	Requests RequestObserver
	// Captcha is what the pages need to show Tencent's captcha; a zero AppID: captcha off.
	Captcha CaptchaPage
	// Providers are the names of the login providers, each answering under /oauth/<name>/
	// (nil: qq).
	Providers []string
	// CaptchaEmulator is mounted at /_dev/captcha/ in development; nil otherwise.
	CaptchaEmulator http.Handler
	// AllowedHosts, when set (production), are the Host values (lower case, host[:port])
	// the site answers to; any other gets 421, except the health checks.
	AllowedHosts []string
}

// CaptchaPage configures the captcha on the pages: the CaptchaAppId, the TCaptcha.js URL
// (its origin is added to the pages' CSP), and when each action asks for one (always or
// after-failures, as the server's policy).
type CaptchaPage struct {
	AppID, Script    string
	Login, Bind, SMS string
}

// RequestObserver counts answered requests; route is the mux pattern that matched
// ("" when none did).
type RequestObserver interface {
	ObserveRequest(route, method string, status int, d time.Duration)
}

// Server is the HTTP handler of the whole service.
type Server struct {
	accounts *account.Service
	log      *slog.Logger
	mux      *http.ServeMux
	origin   string
	cors     map[string]bool
	secure   bool
	proxies  []netip.Prefix
	dev      bool
	outbox   *outbox.Outbox
	qqemu    http.Handler
	handler  http.Handler
	requests RequestObserver
	hosts    map[string]bool // nil: any

	captcha    CaptchaPage
	captchaEmu http.Handler
	providers  []string

	qqAvatarOrigin string
	callbackPath   string
	callbackPaths  map[string]string // provider → its callback page path
	weiboemu       http.Handler
	wechatemu      http.Handler
	notFoundPage   http.HandlerFunc // the 404 page for browsers
	patterns       []string         // every route's pattern, for Routes
}

// NewServer returns the service's handler.
func NewServer(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	s := &Server{
		accounts: d.Accounts, log: d.Logger, origin: d.Origin, secure: d.Secure, proxies: d.TrustedProxies,
		dev: d.Dev, outbox: d.Outbox, qqemu: d.QQEmulator, cors: map[string]bool{}, qqAvatarOrigin: d.QQAvatarOrigin, callbackPath: d.CallbackPath,
		requests: d.Requests, captcha: d.Captcha, captchaEmu: d.CaptchaEmulator, providers: d.Providers,
	}
	for _, o := range d.CORSOrigins {
		s.cors[o] = true
	}
	if len(d.AllowedHosts) > 0 {
		s.hosts = map[string]bool{}
		for _, h := range d.AllowedHosts {
			s.hosts[canonicalHost(h, d.Secure)] = true
		}
	}
	if len(s.providers) == 0 {
		s.providers = []string{account.ProviderQQ}
	}
	if s.callbackPath == "" {
		s.callbackPath = "/oauth/qq/callback"
	}
	s.callbackPaths = map[string]string{account.ProviderQQ: s.callbackPath}
	for _, p := range s.providers {
		if p == account.ProviderQQ {
			continue
		}
		s.callbackPaths[p] = "/oauth/" + p + "/callback"
		if cp := d.CallbackPaths[p]; cp != "" {
			s.callbackPaths[p] = cp
		}
	}
	s.weiboemu = d.WeiboEmulator
	s.wechatemu = d.WeChatEmulator
	s.mux = http.NewServeMux()
	s.routes()
	s.handler = s.withRequestLog(s.withRecover(s.withFraming(s.withHeaders(s.withHosts(s.mux)))))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// handleUnmatched is the mux's catch-all ("/"): it runs only when no other pattern
// matched, and answers with the API's JSON error body (405 with Allow when the path exists
// for other methods, else 404) instead of ServeMux's plain text.
func (s *Server) handleUnmatched(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "" && p != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeError(w, r, account.ErrMethodNotAllowed)
		return
	}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Contains(r.Header.Get("Accept"), "text/html") {
		// A person in a browser: a page, not JSON. A page's address with a slash too many
		// (/login/) goes to the page.
		if p := strings.TrimSuffix(r.URL.Path, "/"); p != r.URL.Path && pagePaths[p] {
			http.Redirect(w, r, p, http.StatusMovedPermanently)
			return
		}
		s.notFoundPage(w, r)
		return
	}
	s.writeError(w, r, account.ErrNotFound)
}

// pagePaths are the pages a mistyped trailing slash is forgiven for.
var pagePaths = map[string]bool{"/login": true, "/register": true, "/user": true, "/find-password": true,
	"/reset-password": true, "/confirm-email": true, "/terms": true, "/privacy": true}

// api adapts a handler that returns an error; it is the only caller of writeError for
// handler failures.
func (s *Server) api(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.checkOrigin(w, r); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// checkOrigin refuses a request whose Origin is neither the site's own nor an allowed
// front end (login CSRF, forced binding), and adds CORS headers for allowed front ends.
// Browsers send Origin on every cross-site request that could change something.
func (s *Server) checkOrigin(w http.ResponseWriter, r *http.Request) error {
	o := r.Header.Get("Origin")
	if o == "" {
		return nil
	}
	if o == s.origin || o == s.requestOrigin(r) {
		return nil
	}
	if s.cors[strings.ToLower(o)] {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", o)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Add("Vary", "Origin")
		return nil
	}
	return account.ErrOriginForbidden
}

// handlePreflight handles OPTIONS for the API: allowed front ends get CORS answers.
func (s *Server) handlePreflight(w http.ResponseWriter, r *http.Request) {
	o := r.Header.Get("Origin")
	if o == "" || !s.cors[strings.ToLower(o)] {
		s.writeError(w, r, account.ErrOriginForbidden)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", o)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
	h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
	h.Set("Access-Control-Max-Age", "600")
	h.Add("Vary", "Origin")
	w.WriteHeader(http.StatusNoContent)
}

// requestOrigin is the origin the request was addressed to, for a site reached under
// another name than its public URL in development (localhost vs 127.0.0.1).
func (s *Server) requestOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || s.secure {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
