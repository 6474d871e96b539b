package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestRecoverGivesGeneric500(t *testing.T) {
	var logs strings.Builder
	s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil))}
	h := s.withRequestLog(s.withRecover(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("secret detail") })))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 500 || strings.Contains(string(body), "secret detail") || !strings.Contains(string(body), `"error":"internal"`) {
		t.Errorf("panic answered %d %s", rec.Code, body)
	}
	if !strings.Contains(logs.String(), "secret detail") {
		t.Error("the panic is not in the log")
	}
}

func TestClientIP(t *testing.T) {
	s := &Server{proxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	tests := []struct {
		name, remote, xff, want string
	}{
		{"direct", "203.0.113.5:1234", "", "203.0.113.5"},
		{"untrusted peer's X-Forwarded-For is ignored", "203.0.113.5:1234", "1.2.3.4", "203.0.113.5"},
		{"trusted proxy", "10.0.0.2:80", "198.51.100.7", "198.51.100.7"},
		{"spoofed left entries are skipped", "10.0.0.2:80", "1.1.1.1, 198.51.100.7", "198.51.100.7"},
		{"chain of proxies", "10.0.0.2:80", "198.51.100.7, 10.0.0.9", "198.51.100.7"},
		{"garbage", "10.0.0.2:80", "not-an-ip", "10.0.0.2"},
		{"IPv4-mapped IPv6 peer", "[::ffff:203.0.113.5]:1", "", "203.0.113.5"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := s.clientIP(r); got != tt.want {
			t.Errorf("%s: clientIP = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestHostCheck: in production a request naming another host is refused (issue 14: any
// Host was believed), every spelling of the public host and the configured extra names
// pass, and the health checks answer any host.
func TestHostCheck(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	s := &Server{log: slog.New(slog.DiscardHandler), secure: true, hosts: map[string]bool{}}
	for _, h := range []string{"renran.example", "m.renran.example"} {
		s.hosts[canonicalHost(h, true)] = true
	}
	h := s.withHosts(ok)
	tests := []struct {
		host, path string
		want       int
	}{
		{"renran.example", "/login", 204},
		{"RENRAN.example:443", "/users/login/", 204},
		{"renran.example.", "/", 204},
		{"m.renran.example", "/", 204},
		{"evil.example", "/login", 421},
		{"renran.example:8443", "/login", 421},
		{"renran.example.evil.example", "/", 421},
		{"", "/", 421},
		{"10.0.0.5:8000", "/healthz", 204},
		{"10.0.0.5:8000", "/readyz", 204},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", tt.path, nil)
		r.Host = tt.host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != tt.want || (tt.want == 421 && !strings.Contains(rec.Body.String(), `"error":"unknown_host"`)) {
			t.Errorf("Host %q %s = %d %s, want %d", tt.host, tt.path, rec.Code, rec.Body, tt.want)
		}
	}
}
