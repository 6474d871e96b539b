package captcha

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/tencentcloud"
)

const (
	appID     = 2031483705
	appSecret = "app-secret-key"
	secretID  = "AKIDtest0000000000000000"
	secretKey = "tencentcloud-test-secret-key"
)

type fixture struct {
	emu      *Emulator
	client   *Tencent
	clock    atomic.Int64 // emulator's clock offset, seconds
	failOpen atomic.Int64
}

func newFixture(t *testing.T, failOpen bool) *fixture {
	f := &fixture{}
	f.emu = &Emulator{AppID: appID, AppSecret: appSecret, SecretID: secretID, SecretKey: secretKey,
		Now: func() time.Time { return time.Now().Add(time.Duration(f.clock.Load()) * time.Second) }}
	ts := httptest.NewServer(http.StripPrefix("/_dev/captcha", f.emu))
	t.Cleanup(ts.Close)
	f.client = &Tencent{API: NewAPI(ts.URL+"/_dev/captcha/api/", secretID, secretKey), AppID: appID, AppSecret: appSecret,
		FailOpen: failOpen, Log: slog.New(slog.DiscardHandler), OnFailOpen: func(string) { f.failOpen.Add(1) }}
	return f
}

// TestVerify runs the client against the emulator for every answer Tencent gives.
func TestVerify(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	tk, rs, _ := f.emu.Issue()
	if err := f.client.Verify(ctx, tk, rs, "192.0.2.1"); err != nil {
		t.Fatalf("a fresh ticket: %v", err)
	}
	foreign, frs := f.emu.IssueFor(1999999999)
	stale, srs, _ := f.emu.Issue()
	wrong, _, _ := f.emu.Issue()
	tests := []struct {
		name, ticket, randstr string
		before                func()
		want                  error
	}{
		{"replayed", tk, rs, nil, account.ErrCaptchaInvalid},
		{"another app's", foreign, frs, nil, account.ErrCaptchaInvalid},
		{"wrong randstr", wrong, "@nope", nil, account.ErrCaptchaInvalid},
		{"made up", "t03" + strings.Repeat("x", 48), "@abcdef", nil, account.ErrCaptchaInvalid},
		{"disaster-recovery while the service is up", "terror_1001_2031483705_1700000000", "@abcdef", nil, account.ErrCaptchaInvalid},
		{"empty", "", "", nil, account.ErrCaptchaInvalid},
		{"oversized", strings.Repeat("t", 5000), "@a", nil, account.ErrCaptchaInvalid},
		{"expired", stale, srs, func() { f.clock.Store(int64(TicketTTL/time.Second) + 1) }, account.ErrCaptchaInvalid},
	}
	for _, tt := range tests {
		if tt.before != nil {
			tt.before()
		}
		// the emulator's clock moves; the request's timestamp moves with it for "expired"
		f.client.API.Now = func() time.Time { return time.Now().Add(time.Duration(f.clock.Load()) * time.Second) }
		if err := f.client.Verify(ctx, tt.ticket, tt.randstr, "192.0.2.1"); !errors.Is(err, tt.want) {
			t.Errorf("%s: Verify = %v, want %v", tt.name, err, tt.want)
		}
	}
}

// TestSignatureChecked: the emulator refuses what Tencent Cloud refuses, so the client's
// signing is really tested: a wrong key, a stale timestamp, a body changed in transit. A
// refusal of our own credentials is a 503, never a pass, even with fail-open on.
func TestSignatureChecked(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name  string
		setup func(f *fixture)
	}{
		{"wrong secret key", func(f *fixture) { f.client.API.SecretKey = "another key" }},
		{"unknown secret id", func(f *fixture) { f.client.API.SecretID = "AKIDunknown" }},
		{"timestamp 6 minutes old", func(f *fixture) { f.client.API.Now = func() time.Time { return time.Now().Add(-6 * time.Minute) } }},
		{"body changed in transit", func(f *fixture) {
			f.client.API.HTTP = &http.Client{Transport: rewrite{}}
		}},
		{"wrong app secret", func(f *fixture) { f.client.AppSecret = "not the app secret" }},
	} {
		f := newFixture(t, true)
		tt.setup(f)
		tk, rs, _ := f.emu.Issue()
		err := f.client.Verify(ctx, tk, rs, "192.0.2.1")
		if !errors.Is(err, account.ErrCaptchaUnavailable) || f.failOpen.Load() != 0 {
			t.Errorf("%s: Verify = %v (fail-open passes %d), want captcha_unavailable and no pass", tt.name, err, f.failOpen.Load())
		}
	}
}

// rewrite changes the ticket in the signed body, as a tampering hop would.
type rewrite struct{}

func (rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(r.Body)
	b = bytes.Replace(b, []byte(`"UserIp":"192.0.2.1"`), []byte(`"UserIp":"192.0.2.9"`), 1)
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	return http.DefaultTransport.RoundTrip(r)
}

// TestFailOpen: when Tencent cannot decide (InternalError, CaptchaCode 26, unreachable) a
// ticket passes with fail-open on and is refused with 503 with it off; each is counted.
func TestFailOpen(t *testing.T) {
	ctx := context.Background()
	for _, open := range []bool{true, false} {
		for _, mode := range []string{"InternalError", "busy", "unreachable"} {
			f := newFixture(t, open)
			f.emu.SetFailure(mode)
			if mode == "unreachable" {
				f.client.API = NewAPI("http://127.0.0.1:1", secretID, secretKey)
			}
			err := f.client.Verify(ctx, "t03whatever", "@abcdef", "192.0.2.1")
			switch {
			case open && err != nil:
				t.Errorf("fail-open on, %s: Verify = %v, want a pass", mode, err)
			case !open && !errors.Is(err, account.ErrCaptchaUnavailable):
				t.Errorf("fail-open off, %s: Verify = %v, want captcha_unavailable", mode, err)
			}
			if f.failOpen.Load() != 1 {
				t.Errorf("%s: counted %d, want 1", mode, f.failOpen.Load())
			}
		}
	}
}

// TestAPIErrorShape: Tencent's request-level errors come back as APIError.
func TestAPIErrorShape(t *testing.T) {
	f := newFixture(t, true)
	var res describeResponse
	err := f.client.API.Call(context.Background(), "DescribeCaptchaResult", map[string]any{"CaptchaType": 9}, &res)
	var ae *tencentcloud.APIError
	if !errors.As(err, &ae) || ae.Code != "MissingParameter" || ae.RequestID == "" {
		t.Errorf("Call without parameters = %v, want MissingParameter with a RequestId", err)
	}
}

// TestEmulatorForgetsExpiredTickets: once half full, the emulator drops expired tickets,
// so a flood of /solve cannot fill it for good.
func TestEmulatorForgetsExpiredTickets(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	e := &Emulator{AppID: appID, AppSecret: appSecret, Now: func() time.Time { return now }}
	for range maxTickets / 2 {
		e.Issue()
	}
	now = now.Add(TicketTTL + time.Second)
	if _, _, ok := e.Issue(); !ok || len(e.tickets) != 1 {
		t.Errorf("after %d expired tickets: %d kept; want only the new one", maxTickets/2, len(e.tickets))
	}
}
