package app

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/config"
	"github.com/renran/accounts/internal/connlimit"
	"github.com/renran/accounts/internal/web"
)

// descriptorReserve is what MaxConns leaves of the descriptor limit for the database and
// Redis pools, the log and the listener, so that accepting one more visitor never fails.
const descriptorReserve = 256

// NewHTTPServer returns the public server for h: timeouts that end slow and silent
// clients, and connection limits (docs/abuse.md) so that idle connections cannot take
// every descriptor. The limiter is returned for metrics and tests.
func NewHTTPServer(cfg config.Config, h *web.Server, log *slog.Logger) (*http.Server, *connlimit.Limiter) {
	lim := &connlimit.Limiter{MaxTotal: cfg.MaxConns, MaxPerAddr: cfg.MaxConnsPerIP}
	if lim.MaxTotal == 0 {
		lim.MaxTotal = max(descriptorLimit()-descriptorReserve, 64)
	}
	lim.Key = func(a netip.Addr) string { return account.AddrBucket(a.String()) }
	// A trusted proxy carries many visitors on its connections; the proxy limits them.
	lim.Exempt = h.Trusted
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ConnState:         lim.ConnState,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return srv, lim
}
