package web_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestPages_Headers covers K-05 and C-02 for the pages: no-store, no-referrer, no
// framing, a CSP with no inline or third-party script.
func TestPages_Headers(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/login", "/register", "/oauth/qq/callback", "/user", "/_dev/"} {
		t.Run(path, func(t *testing.T) {
			resp, err := http.Get(e.url + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			h := resp.Header
			csp := h.Get("Content-Security-Policy")
			if resp.StatusCode != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
				t.Fatalf("GET %s = %d %s", path, resp.StatusCode, h.Get("Content-Type"))
			}
			for _, want := range []string{"default-src 'none'", "script-src 'self';", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %s", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("CSP %q allows inline code", csp)
			}
			if h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" {
				t.Errorf("headers = %v", h)
			}
			// Every script is a file of ours; no inline handlers, no outside assets.
			if regexp.MustCompile(`<script(?:\s+type="module")?>|\son[a-z]+="|(?:src|href)="(?:https?:)?//`).Match(body) {
				t.Errorf("%s has inline script or a third-party asset", path)
			}
		})
	}
}

// TestCallbackPage_MovesCodeOutOfURL covers C-02: QQ's redirect lands on a 303 to the
// clean callback URL; code and state travel on in a cookie scoped to that path.
func TestCallbackPage_MovesCodeOutOfURL(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	r := b.do("GET", "/oauth/qq/callback?code=ABCDEF&state=st4te", nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/oauth/qq/callback" {
		t.Fatalf("callback with a query = %d Location %q; want 303 to the clean URL", r.status, r.header.Get("Location"))
	}
	sc := r.header.Get("Set-Cookie")
	for _, want := range []string{"qq_callback=", "Path=/oauth/qq/callback", "Max-Age=120", "SameSite=Lax"} {
		if !strings.Contains(sc, want) {
			t.Errorf("callback cookie %q lacks %s", sc, want)
		}
	}
	v, _ := url.ParseQuery(strings.TrimPrefix(strings.SplitN(sc, ";", 2)[0], "qq_callback="))
	if v.Get("code") != "ABCDEF" || v.Get("state") != "st4te" {
		t.Errorf("callback cookie holds %v", v)
	}
	if r.header.Get("Referrer-Policy") != "no-referrer" || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("callback redirect headers = %v", r.header)
	}
	// A cancelled login (a state and no code: WeChat's 取消) is carried as an error, not as
	// an empty code; neither code nor state is a link used up (a reload).
	r = b.do("GET", "/oauth/qq/callback?state=st4te", nil)
	if !strings.Contains(r.header.Get("Set-Cookie"), "error=access_denied") {
		t.Errorf("callback with a state and no code: cookie %q", r.header.Get("Set-Cookie"))
	}
	r = b.do("GET", "/oauth/qq/callback?foo=1", nil)
	if !strings.Contains(r.header.Get("Set-Cookie"), "error=no_code") {
		t.Errorf("callback without code or state: cookie %q", r.header.Get("Set-Cookie"))
	}
}

// TestRoutes_NoOpenRedirect covers R-05: no route redirects to an absolute URL a caller
// supplies through next, url, redirect or state.
func TestRoutes_NoOpenRedirect(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	paths := []string{"/", "/login", "/register", "/user", "/oauth/qq/callback", "/oauth/qq/url/", "/oauth/qq/info/", "/users/me/", "/_dev/", "/static/app.css"}
	for _, p := range paths {
		for _, param := range []string{"next", "url", "redirect", "state", "return_to"} {
			r := b.do("GET", p+"?"+param+"="+url.QueryEscape("https://evil.example/x"), nil)
			loc := r.header.Get("Location")
			if strings.Contains(loc, "evil.example") {
				t.Errorf("GET %s?%s=… redirects to %q", p, param, loc)
			}
			if strings.Contains(r.raw, "evil.example") {
				t.Errorf("GET %s?%s=… reflects the URL: %s", p, param, r.raw)
			}
		}
	}
}

func TestStaticAssets(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/static/app.css", "/static/common.js", "/static/login.js", "/static/callback.js", "/static/logo.svg"} {
		r := e.browser().do("GET", p, nil)
		if r.status != 200 {
			t.Errorf("GET %s = %d", p, r.status)
		}
	}
	if r := e.browser().do("GET", "/static/", nil); r.status != 404 {
		t.Errorf("GET /static/ = %d, want 404 (no listing)", r.status)
	}
}

// TestNotFound_PageForBrowsers: an unknown address opened in a browser (Accept: text/html)
// is a Chinese 404 page with a way back; API clients keep the JSON error; a page's address
// with a trailing slash goes to the page; /favicon.ico is the logo.
func TestNotFound_PageForBrowsers(t *testing.T) {
	e := newEnv(t)
	get := func(path, accept string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", e.url+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	browser := "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	resp, body := get("/nonexistent", browser)
	if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "页面不存在") || !strings.Contains(body, `href="/login"`) {
		t.Errorf("browser GET /nonexistent = %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if resp.Header.Get("Content-Security-Policy") == "" {
		t.Error("the 404 page has no CSP")
	}
	for _, accept := range []string{"", "application/json"} {
		resp, body = get("/nonexistent", accept)
		if resp.StatusCode != 404 || !strings.Contains(body, `"error":"not_found"`) {
			t.Errorf("GET /nonexistent with Accept %q = %d %s, want the JSON 404", accept, resp.StatusCode, body)
		}
	}
	resp, _ = get("/login/", browser)
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "/login" {
		t.Errorf("browser GET /login/ = %d → %q, want 301 → /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body = get("/favicon.ico", "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(body, "<svg") {
		t.Errorf("GET /favicon.ico = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
