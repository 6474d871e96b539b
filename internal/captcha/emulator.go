package captcha

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/renran/accounts/internal/tencentcloud/tcfake"
)

// Emulator is the development twin of Tencent captcha: it hands out tickets (to the
// slider puzzle a person solves, and to POST /solve for tests and tools) and answers
// DescribeCaptchaResult at POST /api/ as Tencent Cloud does, checking the TC3 signature
// with its own code (not tencentcloud's), the clock skew, the app's secret key, and that
// each ticket is used once, within 5 minutes, by the app it was made for. Mount it under
// /_dev/captcha/ in development only.
type Emulator struct {
	AppID     int64
	AppSecret string
	SecretID  string // the Tencent Cloud API key pair that signs verify calls
	SecretKey string
	Now       func() time.Time // nil: time.Now

	mu         sync.Mutex
	tickets    map[string]*ticket
	challenges map[string]*challenge
	swept      time.Time // the last sweep
	failure    string    // "", "InternalError", "busy": the next answers fail that way (tests)
	calls      int
}

type ticket struct {
	appID   int64
	randstr string
	expires time.Time
	used    bool
}

// TicketTTL is how long a ticket can be verified, as at Tencent.
const TicketTTL = 5 * time.Minute

const maxTickets = 100_000 // a flood of /solve cannot grow the emulator without bound

func (e *Emulator) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Issue makes a solved ticket for the emulator's app.
func (e *Emulator) Issue() (tk, randstr string, ok bool) {
	return e.issue(e.AppID)
}

// IssueFor makes a solved ticket for another app id (to test a foreign ticket).
func (e *Emulator) IssueFor(appID int64) (string, string) {
	tk, rs, _ := e.issue(appID)
	return tk, rs
}

func (e *Emulator) issue(appID int64) (string, string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tickets == nil {
		e.tickets = map[string]*ticket{}
	}
	now := e.now()
	e.sweep(now)
	if len(e.tickets) >= maxTickets {
		return "", "", false
	}
	tk := "t03" + random(48)
	rs := "@" + random(6)
	e.tickets[tk] = &ticket{appID: appID, randstr: rs, expires: now.Add(TicketTTL)}
	return tk, rs, true
}

// sweep drops expired tickets and challenges once the maps are half full, at most once a
// second (call with e.mu held), so that a flood does not scan the maps on every request.
func (e *Emulator) sweep(now time.Time) {
	if len(e.tickets)+len(e.challenges) < maxTickets/2 || now.Sub(e.swept) < time.Second {
		return
	}
	e.swept = now
	for k, t := range e.tickets {
		if now.After(t.expires) {
			delete(e.tickets, k)
		}
	}
	for k, c := range e.challenges {
		if now.After(c.expires) {
			delete(e.challenges, k)
		}
	}
}

// SetFailure makes the verify endpoint answer InternalError ("InternalError"), CaptchaCode
// 26 ("busy"), or normally (""), to test fail-open.
func (e *Emulator) SetFailure(mode string) {
	e.mu.Lock()
	e.failure = mode
	e.mu.Unlock()
}

// Calls is how many verify calls the emulator answered.
func (e *Emulator) Calls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls
}

func random(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// ServeHTTP serves POST /api/ (DescribeCaptchaResult) and POST /solve; the pages of the
// puzzle are in puzzle.go.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/api/" && r.Method == http.MethodPost:
		e.serveAPI(w, r)
	case r.URL.Path == "/solve" && r.Method == http.MethodPost:
		tk, rs, ok := e.Issue()
		if !ok {
			http.Error(w, "too many live tickets", http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]string{"ticket": tk, "randstr": rs})
	default:
		e.servePuzzle(w, r)
	}
}

func (e *Emulator) serveAPI(w http.ResponseWriter, r *http.Request) {
	reqID := random(16)
	fail := func(code, msg string) {
		writeJSON(w, map[string]any{"Response": map[string]any{"Error": map[string]string{"Code": code, "Message": msg}, "RequestId": reqID}})
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		fail("InvalidParameter", "body unreadable")
		return
	}
	if r.Header.Get("X-TC-Action") != "DescribeCaptchaResult" {
		fail("InvalidAction", "the action is not DescribeCaptchaResult")
		return
	}
	if r.Header.Get("X-TC-Version") != "2019-07-22" {
		fail("InvalidParameterValue", "the version is not 2019-07-22")
		return
	}
	if code, msg := tcfake.CheckSignature(r, body, "captcha", e.SecretID, e.SecretKey, e.now()); code != "" {
		fail(code, msg)
		return
	}
	var in describeRequest
	if err := json.Unmarshal(body, &in); err != nil {
		fail("InvalidParameter", "the body is not JSON of DescribeCaptchaResult")
		return
	}
	if in.Ticket == "" || in.Randstr == "" || in.CaptchaAppId == 0 || in.AppSecretKey == "" || in.UserIp == "" {
		fail("MissingParameter", "Ticket, Randstr, CaptchaAppId, AppSecretKey and UserIp are required")
		return
	}
	if in.CaptchaType != 9 {
		fail("InvalidParameterValue", "CaptchaType must be 9")
		return
	}
	e.mu.Lock()
	e.calls++
	failure := e.failure
	e.mu.Unlock()
	answer := func(code int, msg string, evil int) {
		writeJSON(w, map[string]any{"Response": map[string]any{"CaptchaCode": code, "CaptchaMsg": msg, "EvilLevel": evil,
			"GetCaptchaTime": 0, "RequestId": reqID}})
	}
	switch failure {
	case "InternalError":
		fail("InternalError", "internal error")
		return
	case "busy":
		answer(26, "system busy", 0)
		return
	}
	if in.CaptchaAppId != e.AppID || in.AppSecretKey != e.AppSecret {
		answer(100, "appid-secretkey-ticket mismatch", 0)
		return
	}
	if strings.HasPrefix(in.Ticket, "terror_") || strings.HasPrefix(in.Ticket, "trerror_") {
		answer(21, "diff", 100) // a disaster-recovery ticket while the service is up
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.tickets[in.Ticket]
	switch {
	case !ok:
		answer(15, "decrypt fail", 0)
	case t.appID != in.CaptchaAppId:
		answer(16, "appid-ticket mismatch", 0)
	case t.used:
		answer(9, "ticket reused", 0)
	case e.now().After(t.expires):
		answer(8, "ticket expired", 0)
	case t.randstr != in.Randstr:
		answer(7, "captcha no match", 0)
	default:
		t.used = true
		answer(1, "OK", 0)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
