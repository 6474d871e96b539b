// Package providerhttp is the HTTP plumbing the login providers' clients (internal/qq,
// internal/wechat, internal/weibo) share: a client that never follows a redirect, telling a
// timeout from other transport failures, and a transport error without its URL (which may
// hold an app secret or a token). It knows no provider's wire format. Imports: the
// standard library.
package providerhttp

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Client returns hc, or when nil a client keeping idle connections for many concurrent
// logins, that never follows a redirect (a provider's API does not redirect, and following
// one could carry a secret elsewhere).
func Client(hc *http.Client, idle int) *http.Client {
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = idle
		t.MaxIdleConnsPerHost = idle
		t.IdleConnTimeout = 90 * time.Second
		hc = &http.Client{Transport: t}
	}
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// IsTimeout reports whether a call bounded by ctx failed with err because time ran out.
func IsTimeout(ctx context.Context, err error) bool {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Scrub says what went wrong in a transport error without its URL.
func Scrub(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return "request failed"
}
