package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/renran/accounts/internal/app/apptest"
	"github.com/renran/accounts/internal/bench"
)

// TestScenariosAgainstAService runs every scenario briefly against a service started in
// the test (embedded default, rate limits and captcha off, its built-in emulator): each
// completes flows without errors and reports them in the machine-readable line.
func TestScenariosAgainstAService(t *testing.T) {
	site := apptest.Start(t, map[string]string{"RENRAN_RATE_LIMITS": "off", "RENRAN_CAPTCHA": "off", "RENRAN_TRUSTED_PROXIES": "127.0.0.1"})
	var out bytes.Buffer
	err := bench.Run(context.Background(), []string{"-target", site.URL, "-scenario", "all", "-c", "2", "-d", "700ms", "-warmup", "200ms", "-reference=false"}, &out, io.Discard)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(out.String(), "\n") {
		js, ok := strings.CutPrefix(line, "BENCH ")
		if !ok {
			continue
		}
		var r bench.Result
		if err := json.Unmarshal([]byte(js), &r); err != nil {
			t.Fatalf("BENCH line %q: %v", line, err)
		}
		seen[r.Scenario] = true
		if r.Flows == 0 || r.Errors != 0 || r.P50MS <= 0 || r.P99MS < r.P50MS || r.Concurrency != 2 {
			t.Errorf("%s: %d flows, %d errors (%v, e.g. %s), p50 %.1f ms, p99 %.1f ms", r.Scenario, r.Flows, r.Errors, r.ErrorKinds, r.ErrorExample, r.P50MS, r.P99MS)
		}
	}
	for _, sc := range bench.Scenarios {
		if !seen[sc] {
			t.Errorf("no result for %s:\n%s", sc, out.String())
		}
	}
}

// TestOnlyLoopback: bench refuses any target that is not this machine.
func TestOnlyLoopback(t *testing.T) {
	for _, target := range []string{"http://10.0.0.1:8000", "http://example.com", "http://192.168.1.2:80", "ftp://"} {
		if err := bench.Run(context.Background(), []string{"-target", target, "-d", "1s"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("bench -target %s: %v, want a refusal", target, err)
		}
	}
}
