package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"github.com/renran/accounts/internal/account"
)

//go:embed pages/*.html
var pageFS embed.FS

//go:embed static
var staticFS embed.FS

var pageTemplates = template.Must(template.ParseFS(pageFS, "pages/*.html"))

type pageData struct {
	Title string
	// Provider is the login provider a callback page is for (qq, weibo), and Spaced its
	// name as it sits in a Chinese sentence (" QQ ", "微博"); empty on other pages.
	Provider, Spaced string
	// On are the login providers this site offers (qq, weibo): the others' icons say 暂未开放.
	On      map[string]bool
	Script  string // the page's module under /static/
	Dev     bool
	Captcha CaptchaPage
}

// pageCSP allows our own scripts, styles and images only, plus QQ's avatar hosts over
// https: the QQ client upgrades QQ's http:// avatar URLs to https, and allowing the hosts
// by name costs less than proxying every avatar through this service. No inline script,
// no third-party script, no framing.
func (s *Server) pageCSP() string {
	img := "'self' data: https://*.qlogo.cn https://*.sinaimg.cn"
	if s.qqAvatarOrigin != "" {
		img += " " + s.qqAvatarOrigin
	}
	script, style, frame, connect := "'self'", "'self'", "", "'self'"
	if o := s.captchaOrigin(); o != "" {
		// Tencent's TCaptcha.js, and the frame, styles, images and calls its widget makes.
		script += " " + o
		style += " " + o
		img += " " + o
		connect += " " + o
		frame = "; frame-src " + o
	}
	return "default-src 'none'; script-src " + script + "; style-src " + style + "; img-src " + img +
		"; connect-src " + connect + frame + "; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}

// captchaOrigin is the origin of the captcha script when it is not this site's.
func (s *Server) captchaOrigin() string {
	if s.captcha.AppID == "" || s.captcha.Script == "" {
		return ""
	}
	u, err := url.Parse(s.captcha.Script)
	if err != nil || u.Host == "" {
		return ""
	}
	o := u.Scheme + "://" + u.Host
	if o == s.origin {
		return ""
	}
	return o
}

// page serves one of the pages. Pages are the same for everyone (what differs is fetched
// by their script from the JSON API, exactly as an outside front end would), so each is
// rendered once, when the routes are registered.
func (s *Server) page(name, title string) http.HandlerFunc {
	return s.pageWith(name, title, name+".js", http.StatusOK)
}

// pageWith renders page name once, with script (none when empty), answered with status.
func (s *Server) pageWith(name, title, script string, status int) http.HandlerFunc {
	return s.render(name, pageData{Title: title, Script: script}, status)
}

// render renders page name once with d (the site's own fields filled in) and answers it.
func (s *Server) render(name string, d pageData, status int) http.HandlerFunc {
	d.Dev, d.Captcha, d.On = s.dev, s.captcha, map[string]bool{}
	for _, p := range s.providers {
		d.On[p] = true
	}
	var buf bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&buf, name+".html", d); err != nil {
		panic("web: render page " + name + ": " + err.Error()) // a bug in an embedded template
	}
	body, csp := buf.Bytes(), s.pageCSP()
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", csp)
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

// callbackPageFor renders the callback page for provider: its name in the texts, and in
// data-provider for the script.
func (s *Server) callbackPageFor(provider string) http.HandlerFunc {
	name := account.ProviderName(provider)
	spaced, title := name, name+"登录"
	if name != "" && name[0] < 0x80 { // a Latin name keeps a space on each side: 用 QQ 登录
		spaced, title = " "+name+" ", name+" 登录"
	}
	return s.render("callback", pageData{Title: title, Script: "callback.js", Provider: provider, Spaced: spaced}, http.StatusOK)
}

// handleCallbackPage handles GET /oauth/qq/callback, QQ's redirect target. When QQ's code
// and state arrive in the query, they are moved into a short-lived cookie scoped to this
// path and the browser is sent on to the clean URL, so they stay out of the address bar,
// the history and any Referer (docs/security.md C-02). The page's script then reads the
// cookie once, deletes it and forwards code and state to GET /oauth/qq/info/. The cookie
// is readable by that script on purpose: the code is useless without the HttpOnly state
// cookie of the browser that started the login.
func (s *Server) handleCallbackPage(path string, page http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.callbackRedirect(w, r, path, page) }
}

func (s *Server) callbackRedirect(w http.ResponseWriter, r *http.Request, path string, page http.HandlerFunc) {
	if r.URL.RawQuery == "" {
		page(w, r)
		return
	}
	q := r.URL.Query()
	v := url.Values{}
	for _, k := range []string{"code", "state", "error"} {
		if x := q.Get(k); x != "" && len(x) <= 256 {
			v.Set(k, x)
		}
	}
	switch {
	case v.Get("code") != "" || v.Get("error") != "":
	case v.Get("state") != "":
		// A state and no code: the person refused (WeChat's 取消 comes back this way).
		v.Set("error", "access_denied")
	default:
		v.Set("error", "no_code")
	}
	http.SetCookie(w, &http.Cookie{
		Name: "qq_callback", Value: v.Encode(), Path: path, MaxAge: 120,
		Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
	w.Header().Set("Location", path)
	w.WriteHeader(http.StatusSeeOther)
}

// handleStatic serves the embedded assets.
func (s *Server) handleStatic() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			s.writeError(w, r, account.ErrNotFound)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		fsrv.ServeHTTP(w, r)
	})
}

// handleRoot handles GET /: the user centre, which sends a visitor without a token on to
// the login page.
func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/user", http.StatusFound)
}

// handleFavicon handles GET /favicon.ico, which browsers ask for on their own: the logo.
func (s *Server) handleFavicon(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(logoSVG)
}

// logoSVG is the embedded logo, read once.
var logoSVG = func() []byte {
	b, err := staticFS.ReadFile("static/logo.svg")
	if err != nil {
		panic("web: the embedded logo is missing: " + err.Error())
	}
	return b
}()
