package providerhttp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestClientDoesNotFollowRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://elsewhere.example/?secret=x", http.StatusFound)
	}))
	defer srv.Close()
	resp, err := Client(nil, 4).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("status %d; want the 302 itself, not the page it points at", resp.StatusCode)
	}
}

func TestTimeoutAndScrub(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/sns/oauth2/access_token?secret=SECRET", nil)
	_, err := Client(nil, 4).Do(req)
	if err == nil || !IsTimeout(ctx, err) {
		t.Fatalf("err = %v; want a timeout", err)
	}
	if s := Scrub(err); strings.Contains(s, "SECRET") || strings.Contains(s, srv.URL) {
		t.Errorf("Scrub = %q: the URL (and its secret) must not be in it", s)
	}
	_, err = Client(nil, 4).Get("http://127.0.0.1:1/?secret=SECRET")
	if err == nil || IsTimeout(context.Background(), err) || strings.Contains(Scrub(err), "SECRET") {
		t.Errorf("refused connection: %v (timeout %v, scrub %q)", err, IsTimeout(context.Background(), err), Scrub(err))
	}
}
