package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/renran/accounts/internal/account"
)

// The API reference, docs/openapi.yaml, is held to the server here: the document is valid
// OpenAPI 3.1; it and the server's routes are the same set; its error codes are the
// catalogue's; and every exchange of the scenario and attack tests in this package goes
// through contractChecker, which validates each answer, and each request the service
// accepted (a 2xx), against it. Library: getkin/kin-openapi (loader, validator and
// request/response filter), test-only.

var contract struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

func loadContract() (*openapi3.T, routers.Router, error) {
	contract.once.Do(func() {
		l := openapi3.NewLoader()
		doc, err := l.LoadFromFile("../../docs/openapi.yaml")
		if err != nil {
			contract.err = err
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			contract.err = err
			return
		}
		doc.Servers = nil // any host: the tests' servers listen on random ports
		contract.doc = doc
		contract.router, contract.err = legacy.NewRouter(doc)
	})
	return contract.doc, contract.router, contract.err
}

// contractChecker wraps rt: every answer is validated against the document, and so is the
// request when the service accepted it. Requests to routes the document lacks are the
// route test's business (TestOpenAPICoversEveryRoute), not this one's.
func contractChecker(t testing.TB, rt http.RoundTripper) http.RoundTripper {
	return roundTrip(func(req *http.Request) (*http.Response, error) {
		var reqBody []byte
		if req.Body != nil {
			reqBody, _ = io.ReadAll(req.Body)
			req.Body.Close()
			req.Body = io.NopCloser(bytes.NewReader(reqBody))
		}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			return resp, err
		}
		respBody, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(respBody))
		if err != nil {
			return resp, nil
		}
		_, router, lerr := loadContract()
		if lerr != nil {
			t.Errorf("docs/openapi.yaml: %v", lerr)
			return resp, nil
		}
		check := req.Clone(req.Context())
		check.Body = io.NopCloser(bytes.NewReader(reqBody))
		route, params, ferr := router.FindRoute(check)
		if ferr != nil {
			return resp, nil
		}
		opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
		in := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route, Options: opts}
		if resp.StatusCode/100 == 2 {
			if verr := openapi3filter.ValidateRequest(req.Context(), in); verr != nil {
				t.Errorf("the service accepted %s %s (%d), which docs/openapi.yaml refuses: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, verr, reqBody)
			}
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: opts}
		out.SetBodyBytes(respBody)
		if verr := openapi3filter.ValidateResponse(req.Context(), out); verr != nil {
			t.Errorf("%s %s answered %d, which docs/openapi.yaml does not allow: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, verr, respBody)
		}
		return resp, nil
	})
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestOpenAPICoversEveryRoute: every route the server registers is in docs/openapi.yaml
// and every operation of the document is a route; the mounted emulators, static assets and
// CORS preflights are outside the document.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	doc, _, err := loadContract()
	if err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	e := newEnv(t)
	served := map[string]bool{}
	for _, p := range e.web.Routes() {
		method, path, ok := strings.Cut(strings.TrimSuffix(p, "{$}"), " ")
		switch {
		case !ok: // "/" (the catch-all) and the mounted emulators (/_dev/qq/, /_dev/captcha/)
			continue
		case method == "OPTIONS", path == "/static/":
			continue
		}
		key := method + " " + path
		switch { // the same route with or without the trailing slash
		case !documented[key] && documented[key+"/"]:
			key += "/"
		case !documented[key] && strings.HasSuffix(key, "/") && documented[strings.TrimSuffix(key, "/")]:
			key = strings.TrimSuffix(key, "/")
		}
		served[key] = true
		if !documented[key] {
			t.Errorf("the server has %s; docs/openapi.yaml does not", p)
		}
	}
	var missing []string
	for op := range documented {
		if !served[op] {
			missing = append(missing, op)
		}
	}
	sort.Strings(missing)
	for _, op := range missing {
		t.Errorf("docs/openapi.yaml has %s; the server does not", op)
	}
}

// TestOpenAPIErrorCodes: the document's ErrorCode enum is the catalogue of
// internal/account/errors.go, no more, no less.
func TestOpenAPIErrorCodes(t *testing.T) {
	doc, _, err := loadContract()
	if err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	var inDoc []string
	for _, v := range doc.Components.Schemas["ErrorCode"].Value.Enum {
		inDoc = append(inDoc, v.(string))
	}
	src, err := os.ReadFile("../account/errors.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var inCode []string
	for _, m := range regexp.MustCompile(`(?:newErr\(\w+, |fieldErr\(\w+, |rateLimited\(|Code: )"([a-z_]+)"`).FindAllStringSubmatch(string(src), -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			inCode = append(inCode, m[1])
		}
	}
	for _, e := range account.ProviderErrors() { // QQ's codes under another provider's name
		if !seen[e.Code] {
			seen[e.Code] = true
			inCode = append(inCode, e.Code)
		}
	}
	sort.Strings(inDoc)
	sort.Strings(inCode)
	if !slices.Equal(inDoc, inCode) {
		t.Errorf("ErrorCode enum = %v\ncatalogue      = %v", inDoc, inCode)
	}
}

// recordTB keeps what contractChecker reports instead of failing the test.
type recordTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, format)
}

// TestContractCheckerCatchesDrift: the checker is not a no-op: an answer or an accepted
// request the document does not allow is reported, a conforming exchange is not.
func TestContractCheckerCatchesDrift(t *testing.T) {
	fake := func(status int, body string) http.RoundTripper {
		return roundTrip(func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body))}, nil
		})
	}
	tests := []struct {
		name, method, path, reqBody string
		status                      int
		respBody                    string
		reported                    bool
	}{
		{"a conforming profile", "GET", "/users/me/", "", 200, `{"id":1,"username":"u","nickname":"n","avatar":"","mobile":"","email":"","has_password":true,"created_at":"2026-12-07T00:00:00Z","identities":[]}`, false},
		{"a profile with a field too many", "GET", "/users/me/", "", 200, `{"id":1,"username":"u","nickname":"n","avatar":"","mobile":"","email":"","has_password":true,"created_at":"2026-12-07T00:00:00Z","identities":[],"password_hash":"x"}`, true},
		{"an id of the wrong type", "GET", "/users/me/", "", 200, `{"id":"1","username":"u","nickname":"n","avatar":"","mobile":"","email":"","has_password":true,"created_at":"2026-12-07T00:00:00Z","identities":[]}`, true},
		{"an error with an unknown code", "GET", "/users/me/", "", 401, `{"error":"nope","message":"x"}`, true},
		{"a documented error", "GET", "/users/me/", "", 401, `{"error":"not_authenticated","message":"请先登录"}`, false},
		{"an accepted request the document refuses", "POST", "/users/token/refresh/", `{"token":"x"}`, 200, `{}`, true},
	}
	for _, tt := range tests {
		rec := &recordTB{TB: t}
		c := &http.Client{Transport: contractChecker(rec, fake(tt.status, tt.respBody))}
		req, _ := http.NewRequest(tt.method, "http://127.0.0.1:1"+tt.path, strings.NewReader(tt.reqBody))
		if tt.reqBody != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := len(rec.errs) > 0; got != tt.reported {
			t.Errorf("%s: reported %v (%q), want %v", tt.name, got, rec.errs, tt.reported)
		}
	}
}
