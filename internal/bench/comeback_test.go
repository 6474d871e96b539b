package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// A virtual user told 503 with Retry-After waits before it asks again (a flood of retries
// would be the load generator's doing, not the burst's), and the end of the run ends the
// wait.
func TestVirtualUsersHonourRetryAfter(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":"service_busy"}`))
	}))
	defer srv.Close()
	c := newClient(srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	for ctx.Err() == nil {
		a, err := c.do(ctx, "POST", "/users/login/", map[string]any{}, "")
		if err == nil && a.status != http.StatusServiceUnavailable {
			t.Fatalf("status %d", a.status)
		}
	}
	if n := calls.Load(); n > 3 {
		t.Errorf("%d requests in 1.5 s against Retry-After: 1; want at most 3", n)
	}
}
