package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/renran/accounts/internal/account"
)

type ctxKey int

const requestIDKey ctxKey = iota

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey).(string)
	return id
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withRequestLog gives each request an id and logs one line for it. Only the path is
// logged: query strings carry OAuth codes and states.
func (s *Server) withRequestLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-ID", id)
		sw := &statusWriter{ResponseWriter: w}
		r2 := r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
		next.ServeHTTP(sw, r2) // the mux sets r2.Pattern
		took := time.Since(start)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		// LogAttrs: the typed attributes cost no boxing (one line per request, the hottest log).
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("id", id), slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Int("status", sw.status), slog.Int("bytes", sw.bytes),
			slog.Int64("ms", took.Milliseconds()), slog.String("ip", s.clientIP(r)))
		if s.requests != nil {
			s.requests.ObserveRequest(r2.Pattern, r.Method, sw.status, took)
		}
	})
}

// withRecover turns a panic into a logged 500 with the generic body.
func (s *Server) withRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", "id", requestID(r), "path", r.URL.Path, "panic", v)
				s.writeError(w, r, account.ErrInternal)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// withHosts refuses a request whose Host is not one of the site's (production): links,
// redirects and cookies are built for the public URL, and a page served under a host an
// attacker points at this server must not be one of them. The health checks answer any
// host, since load balancers probe by address.
func (s *Server) withHosts(next http.Handler) http.Handler {
	if s.hosts == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hosts[canonicalHost(r.Host, s.secure)] && r.URL.Path != "/healthz" && r.URL.Path != "/readyz" {
			s.writeError(w, r, account.ErrUnknownHost)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withFraming closes the connection after answering a request whose body came chunked.
// A request with both Content-Length and Transfer-Encoding is the request-smuggling shape
// (a proxy that trusts the length and this server that trusts the chunks disagree on
// where the next request starts); RFC 9112 §6.1 says to close the connection after it.
// net/http drops the Content-Length before a handler can see it, so every chunked
// request closes its connection: browsers and the site's pages send lengths, so this
// costs them nothing.
func (s *Server) withFraming(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TransferEncoding) > 0 {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// canonicalHost lower-cases a Host value and drops a trailing dot and the scheme's
// default port, so that every spelling of the public host matches it.
func canonicalHost(h string, https bool) string {
	h = strings.ToLower(h)
	if https {
		h = strings.TrimSuffix(h, ":443")
	} else {
		h = strings.TrimSuffix(h, ":80")
	}
	if host, port, err := net.SplitHostPort(h); err == nil {
		return net.JoinHostPort(strings.TrimSuffix(host, "."), port)
	}
	return strings.TrimSuffix(h, ".")
}

// withHeaders sets the security headers every answer carries. Pages that need more (a
// CSP allowing their own scripts) set their own.
func (s *Server) withHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("Cache-Control", "no-store")
		if s.secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// clientIP is the peer address, or, when the peer is a trusted proxy, the right-most
// X-Forwarded-For address that is not itself a trusted proxy.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !s.Trusted(peer) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !s.Trusted(a) {
			return a.String()
		}
	}
	return peer.String()
}

// Trusted reports whether a is one of the trusted reverse proxies (RENRAN_TRUSTED_PROXIES).
func (s *Server) Trusted(a netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (s *Server) client(r *http.Request) account.Client {
	return account.Client{IP: s.clientIP(r), UserAgent: r.UserAgent()}
}
