// Package providerhttp is the HTTP plumbing the login providers' clients (internal/qq,
// internal/wechat, internal/weibo) share: a client that never follows a redirect, telling a
// timeout from other transport failures, and a transport error without its URL (which may
// hold an app secret or a token). It knows no provider's wire format. Imports: the
// standard library.
package providerhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Client returns hc, or when nil a client for many concurrent logins, that never follows
// a redirect (a provider's API does not redirect, and following one could carry a secret
// elsewhere).
//
// The default client keeps up to conns connections to a provider's host, all of them when
// idle, and no more: past conns, a call waits for a connection instead of opening another.
// A burst of a thousand logins at once would otherwise open a thousand connections and keep
// them for IdleConnTimeout, each with two goroutines and its buffers (about 25 KB), while
// far fewer carry the load: at 100 ms a call, 512 connections carry 5,000 calls a second,
// more than one instance serves. The buffers are small: a provider's requests and answers
// are a few hundred bytes to a few kilobytes, which a small buffer reads in a few calls.
func Client(hc *http.Client, conns int) *http.Client {
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = conns
		t.MaxIdleConnsPerHost = conns
		t.MaxConnsPerHost = conns
		t.IdleConnTimeout = 90 * time.Second
		t.ReadBufferSize = 2 << 10
		t.WriteBufferSize = 1 << 10
		hc = &http.Client{Transport: t}
	}
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// ErrTimeout is Fetch's failure when the provider did not answer in time.
var ErrTimeout = errors.New("timed out")

// Fetch sends req with hc (req's context bounds the call) and reads at most max bytes of
// the answer, whatever its status. A failure is ErrTimeout when time ran out, otherwise an
// error that says what failed without the URL, which may hold a secret or a token.
func Fetch(hc *http.Client, req *http.Request, max int64) (body []byte, status int, err error) {
	ctx := req.Context()
	resp, err := hc.Do(req)
	if err != nil {
		if IsTimeout(ctx, err) {
			return nil, 0, ErrTimeout
		}
		return nil, 0, fmt.Errorf("transport: %s", Scrub(err))
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, max))
	if err != nil {
		if IsTimeout(ctx, err) {
			return nil, 0, ErrTimeout
		}
		return nil, 0, fmt.Errorf("read body: %v", err)
	}
	return body, resp.StatusCode, nil
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
