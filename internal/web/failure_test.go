package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestInternalErrors covers K-02: with the database gone, answers are a generic 500 that
// names the request id, with no SQL, driver or stack text; the log has the detail.
func TestInternalErrors(t *testing.T) {
	e := newEnv(t)
	u := e.user("correct horse battery")
	b := e.browser()
	tok := b.do("POST", "/users/login/", map[string]any{"account": u.Username, "password": "correct horse battery"}).str("token")
	e.db.Close()
	for _, r := range []response{
		b.auth(tok).do("GET", "/users/me/", nil),
		b.do("POST", "/users/login/", map[string]any{"account": u.Username, "password": "correct horse battery"}),
	} {
		id := r.header.Get("X-Request-ID")
		if r.status != http.StatusInternalServerError || r.str("error") != "internal" || id == "" || !strings.Contains(r.str("message"), id) {
			t.Errorf("with the database closed: %d %s (request id %q)", r.status, r.raw, id)
		}
		for _, leak := range []string{"sql", "SQL", "store:", "goroutine", ".go:"} {
			if strings.Contains(r.raw, leak) {
				t.Errorf("500 body leaks %q: %s", leak, r.raw)
			}
		}
		if !strings.Contains(e.logs.String(), "id="+id) {
			t.Errorf("the log has no line for request %s", id)
		}
	}
	if r := b.do("GET", "/readyz", nil); r.status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database closed = %d, want 503", r.status)
	}
	if r := b.do("GET", "/healthz", nil); r.status != http.StatusOK {
		t.Errorf("/healthz with the database closed = %d, want 200 (the process is alive)", r.status)
	}
}
