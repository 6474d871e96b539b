// Package apptest runs the whole program (app.Run) in a test, on a free loopback port and
// a temporary data folder, and waits until /readyz answers. Only tests import it.
package apptest

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/renran/accounts/internal/app"
	"github.com/renran/accounts/internal/testenv"
)

// Instance is a running program.
type Instance struct {
	URL            string // http://127.0.0.1:port, also its RENRAN_PUBLIC_URL
	MetricsURL     string // http://127.0.0.1:port/metrics, unless RENRAN_METRICS_ADDR=off
	Stdout, Stderr *testenv.SyncBuffer
	stop           func() error
}

// Stop cancels the program's context and returns what Run returned. Cleanup calls it too.
func (in *Instance) Stop() error { return in.stop() }

// Start runs `renran` with no arguments on the embedded default; vars add or override
// RENRAN_* variables.
func Start(tb testing.TB, vars map[string]string) *Instance {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	in := &Instance{URL: "http://" + addr, Stdout: &testenv.SyncBuffer{}, Stderr: &testenv.SyncBuffer{}}
	env := map[string]string{"RENRAN_ADDR": addr, "RENRAN_PUBLIC_URL": in.URL, "RENRAN_DATA_DIR": filepath.Join(tb.TempDir(), "data"),
		"RENRAN_METRICS_ADDR": "127.0.0.1:0"}
	for k, v := range vars {
		env[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, nil, func(k string) string { return env[k] }, in.Stdout, in.Stderr) }()
	var result error
	stopped := false
	in.stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case result = <-done:
			case <-time.After(15 * time.Second):
				tb.Error("app.Run did not return within 15 s of its context being cancelled")
			}
		}
		return result
	}
	tb.Cleanup(func() {
		if err := in.stop(); err != nil {
			tb.Errorf("app.Run: %v", err)
		}
		if tb.Failed() {
			tb.Logf("server log:\n%s", in.Stderr.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(in.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if _, rest, ok := strings.Cut(in.Stdout.String(), "renran: metrics on "); ok {
					in.MetricsURL, _, _ = strings.Cut(rest, "\n")
				}
				return in
			}
		}
		select {
		case err := <-done:
			stopped, result = true, err
			tb.Fatalf("app.Run returned before it was ready: %v\n%s", err, in.Stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("/readyz never answered 200\n%s", in.Stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
