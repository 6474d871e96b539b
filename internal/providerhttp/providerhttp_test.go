package providerhttp

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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

// A burst of calls larger than the client's connections waits for them instead of
// opening one connection per call.
func TestClientCapsConnections(t *testing.T) {
	var mu sync.Mutex
	opened := 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		_, _ = w.Write([]byte(`{"ok":1}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			opened++
			mu.Unlock()
		}
	}
	srv.Start()
	defer srv.Close()
	c := Client(nil, 4)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 40 {
		wg.Go(func() {
			resp, err := c.Get(srv.URL)
			if err != nil {
				errs <- err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if opened > 4 {
		t.Errorf("40 concurrent calls opened %d connections; want at most 4", opened)
	}
}

// Fetch reads the answer whatever its status, at most max bytes, and tells a timeout from
// other failures without the URL.
func TestFetch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			<-r.Context().Done()
		case "/big":
			_, _ = w.Write([]byte(strings.Repeat("x", 100)))
		default:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error_code":21325}`))
		}
	}))
	defer srv.Close()
	c := Client(nil, 4)
	req, _ := http.NewRequest("GET", srv.URL+"/err", nil)
	if b, status, err := Fetch(c, req, 1<<10); err != nil || status != 400 || string(b) != `{"error_code":21325}` {
		t.Errorf("a 400 with a body = %q, %d, %v; want both", b, status, err)
	}
	req, _ = http.NewRequest("GET", srv.URL+"/big", nil)
	if b, _, err := Fetch(c, req, 10); err != nil || len(b) != 10 {
		t.Errorf("an answer over max = %d bytes, %v; want 10", len(b), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, "GET", srv.URL+"/slow?secret=SECRET", nil)
	if _, _, err := Fetch(c, req, 10); !errors.Is(err, ErrTimeout) {
		t.Errorf("no answer in time = %v, want ErrTimeout", err)
	}
	req, _ = http.NewRequest("GET", "http://127.0.0.1:1/?secret=SECRET", nil)
	if _, _, err := Fetch(c, req, 10); err == nil || errors.Is(err, ErrTimeout) || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("refused connection = %v; want a failure without the URL", err)
	}
}
