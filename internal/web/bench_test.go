package web_test

import (
	"io"
	"net/http"
	"net/url"
	"testing"
)

// BenchmarkQQReturning measures the whole returning-user flow against a real server and
// emulator in this process: GET /oauth/qq/url/, the emulator's authorize (auto-approved),
// GET /oauth/qq/info/ (token exchange, one read, JWT). Run with -cpu and -benchtime.
func BenchmarkQQReturning(b *testing.B) {
	e := newEnv(b, func(o *envOptions) { o.noLimits = true })
	br := e.browser()
	u := e.user("correct horse battery")
	p := br.qqLogin("/", "10001")
	br.do("PUT", "/oauth/qq/info/", map[string]any{"qq_user": p.str("qq_user"), "account": u.Username, "password": "correct horse battery"})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for pb.Next() {
			resp, err := c.Get(e.url + "/oauth/qq/url/")
			if err != nil {
				b.Fatal(err)
			}
			var state string
			for _, ck := range resp.Cookies() {
				if ck.Name == "qq_state" {
					state = ck.Value
				}
			}
			drain(resp)
			auth, _ := http.NewRequest("GET", e.emu.URL+"/oauth2.0/authorize?response_type=code&client_id="+testAppID+
				"&redirect_uri="+url.QueryEscape(e.url+"/oauth/qq/callback")+"&state="+state+"&qqemu_user=10001", nil)
			resp, err = c.Do(auth)
			if err != nil {
				b.Fatal(err)
			}
			drain(resp)
			cb, _ := url.Parse(resp.Header.Get("Location"))
			req, _ := http.NewRequest("GET", e.url+"/oauth/qq/info/?"+cb.RawQuery, nil)
			req.AddCookie(&http.Cookie{Name: "qq_state", Value: state})
			resp, err = c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			drain(resp)
			if resp.StatusCode != 200 {
				b.Fatalf("info = %d", resp.StatusCode)
			}
		}
	})
}

// BenchmarkMe measures GET /users/me/: the EdDSA signature, the user and its session in
// one read, the identities in another.
func BenchmarkMe(b *testing.B) {
	e := newEnv(b, func(o *envOptions) { o.noLimits = true })
	u := e.user("correct horse battery")
	tok := e.browser().do("POST", "/users/login/", map[string]any{"account": u.Username, "password": "correct horse battery"}).str("token")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := &http.Client{}
		for pb.Next() {
			req, _ := http.NewRequest("GET", e.url+"/users/me/", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			drain(resp)
			if resp.StatusCode != 200 {
				b.Fatalf("me = %d", resp.StatusCode)
			}
		}
	})
}

// BenchmarkRefresh measures POST /users/token/refresh/: each goroutine renews its own
// session's tokens in a chain, as a page does (one transaction, one EdDSA signature).
func BenchmarkRefresh(b *testing.B) {
	e := newEnv(b, func(o *envOptions) { o.noLimits = true })
	u := e.user("correct horse battery")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		br := e.browser()
		rt := br.do("POST", "/users/login/", map[string]any{"account": u.Username, "password": "correct horse battery"}).str("refresh_token")
		for pb.Next() {
			r := br.refresh(rt)
			if r.status != 200 {
				b.Fatalf("refresh = %d %s", r.status, r.raw)
			}
			rt = r.str("refresh_token")
		}
	})
}

// drain reads the rest of a body before closing it, so the connection is reused: a
// benchmark that dials for every request measures the kernel, not the service.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
