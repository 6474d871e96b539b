// Package qqemutest starts the QQ Connect emulator in tests, the way httptest.NewServer
// starts a handler.
package qqemutest

import (
	"net/http/httptest"
	"testing"

	"github.com/renran/accounts/qqemu"
)

// Emulator is a running emulator.
type Emulator struct {
	*qqemu.Server
	URL string // base URL, e.g. http://127.0.0.1:41234
}

// Start starts an emulator for cfg on a loopback port and closes it when the test ends.
// cfg.PublicURL, when empty, is set to the emulator's own URL.
func Start(tb testing.TB, cfg qqemu.Config) *Emulator {
	tb.Helper()
	ts := httptest.NewUnstartedServer(nil)
	url := "http://" + ts.Listener.Addr().String()
	if cfg.PublicURL == "" {
		cfg.PublicURL = url
	}
	s := qqemu.New(cfg)
	ts.Config.Handler = s
	ts.Start()
	tb.Cleanup(ts.Close)
	return &Emulator{Server: s, URL: url}
}
