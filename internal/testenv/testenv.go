// Package testenv finds what some tests need from outside the process (Chromium now;
// PostgreSQL and Redis later) through environment variables, and skips those tests with a
// message that says how to enable them. With RENRAN_TEST_REQUIRE=1 (set by .ci/run) a
// missing tool fails the test instead, so CI cannot pass by skipping. Only tests import it.
package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"sync"
	"testing"
)

// Chromium returns the Chromium binary for browser tests: $RENRAN_TEST_CHROMIUM, else a
// chromium on the PATH.
func Chromium(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("RENRAN_TEST_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			Missing(tb, "RENRAN_TEST_CHROMIUM="+p+" does not exist")
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(tb, "no Chromium: skipping browser tests (apt-get install chromium, or set RENRAN_TEST_CHROMIUM to its path)")
	return ""
}

// Missing skips the test saying msg, or fails it under RENRAN_TEST_REQUIRE=1 (CI): for a
// tool or server the test needs that is not there.
func Missing(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("RENRAN_TEST_REQUIRE") == "1" {
		tb.Fatal(msg + " (RENRAN_TEST_REQUIRE=1)")
	}
	tb.Skip(msg)
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers: a log sink for a server
// running in the test's process.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
