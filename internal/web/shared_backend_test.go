package web_test

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"testing"

	"github.com/renran/accounts/internal/testenv"
)

// TestOnPostgresAndRedis runs this package's tests a second time with every env on
// PostgreSQL and Redis (the production storage), in a child process of the same test
// binary. Tests that need a fake clock skip there: Redis keeps real time.
func TestOnPostgresAndRedis(t *testing.T) {
	if onSharedBackend() {
		t.Skip("this is the run on PostgreSQL and Redis")
	}
	testenv.Postgres(t) // skips, or fails under RENRAN_TEST_REQUIRE, saying what is missing
	testenv.Redis(t)
	cmd := exec.Command(os.Args[0], "-test.count=1", "-test.timeout=5m", "-test.v")
	cmd.Env = append(os.Environ(), backendVar+"="+sharedBackend)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	passed := len(regexp.MustCompile(`(?m)^\s*--- PASS`).FindAll(out.Bytes(), -1))
	skipped := len(regexp.MustCompile(`(?m)^\s*--- SKIP`).FindAll(out.Bytes(), -1))
	t.Logf("on PostgreSQL + Redis: %d passed, %d skipped", passed, skipped)
	if err != nil {
		t.Fatalf("the tests on PostgreSQL + Redis failed: %v\n%s", err, failures(out.Bytes()))
	}
	if passed < 20 {
		t.Fatalf("only %d tests passed on PostgreSQL + Redis:\n%s", passed, out.Bytes())
	}
}

// failures drops the lines of a verbose run that say a test started, passed or skipped,
// keeping the failures and their logs.
func failures(out []byte) []byte {
	var keep bytes.Buffer
	noise := regexp.MustCompile(`^\s*(=== (RUN|PAUSE|CONT|NAME)|--- (PASS|SKIP))`)
	for _, line := range bytes.SplitAfter(out, []byte("\n")) {
		if !noise.Match(line) {
			keep.Write(line)
		}
	}
	return keep.Bytes()
}
