// Package tencentcloud calls Tencent Cloud API 3.0 actions (captcha's DescribeCaptchaResult,
// SMS's SendSms) over HTTPS POST with a JSON body, signed with TC3-HMAC-SHA256. It is the
// one place that signing is written (docs/tencent.md). Standard library only.
package tencentcloud

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client calls one service (captcha, sms) at one endpoint.
type Client struct {
	Endpoint  string // full URL, e.g. https://sms.tencentcloudapi.com (tests: a local twin, which may have a path)
	Service   string // the service name in the credential scope: "sms", "captcha"
	Version   string // the API version, e.g. 2021-01-11
	Region    string // X-TC-Region; empty for services without regions
	SecretID  string
	SecretKey string
	HTTP      *http.Client     // nil: a client with Timeout
	Timeout   time.Duration    // per call when HTTP is nil; 0: 5 s
	Now       func() time.Time // nil: time.Now
}

// APIError is an error Tencent Cloud answered with (Response.Error).
type APIError struct {
	Code, Message, RequestID string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("tencentcloud: %s: %s (request %s)", e.Code, e.Message, e.RequestID)
}

// ErrUnavailable wraps failures to reach the service or to read its answer: timeouts,
// refused connections, 5xx pages, bodies that are not API 3.0 JSON.
var ErrUnavailable = errors.New("tencentcloud: service unavailable")

const contentType = "application/json; charset=utf-8"

// Call sends action with the JSON of req and decodes Response into resp.
func (c *Client) Call(ctx context.Context, action string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("tencentcloud: encode %s: %w", action, err)
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil || u.Host == "" {
		return fmt.Errorf("tencentcloud: endpoint %q is not a URL", c.Endpoint)
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ts := now().Unix()
	if u.Path == "" {
		u.Path = "/"
	}
	// The request goes to the endpoint as given (a local twin may be mounted under a
	// path); the signature covers "/" as the canonical URI, as Tencent Cloud's does.
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	r.Header.Set("Content-Type", contentType)
	r.Header.Set("X-TC-Action", action)
	r.Header.Set("X-TC-Version", c.Version)
	r.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	if c.Region != "" {
		r.Header.Set("X-TC-Region", c.Region)
	}
	r.Header.Set("Authorization", Authorization(c.SecretID, c.SecretKey, c.Service, strings.ToLower(u.Host), body, ts))
	hc := c.HTTP
	if hc == nil {
		t := c.Timeout
		if t == 0 {
			t = 5 * time.Second
		}
		hc = &http.Client{Timeout: t}
	}
	res, err := hc.Do(r)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, action, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: %s: read: %v", ErrUnavailable, action, err)
	}
	var env struct {
		Response json.RawMessage
	}
	if err := json.Unmarshal(raw, &env); err != nil || len(env.Response) == 0 {
		return fmt.Errorf("%w: %s: HTTP %d, not an API 3.0 answer", ErrUnavailable, action, res.StatusCode)
	}
	var head struct {
		Error *struct {
			Code, Message string
		}
		RequestID string `json:"RequestId"`
	}
	if err := json.Unmarshal(env.Response, &head); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, action, err)
	}
	if head.Error != nil {
		return &APIError{Code: head.Error.Code, Message: head.Error.Message, RequestID: head.RequestID}
	}
	if err := json.Unmarshal(env.Response, resp); err != nil {
		return fmt.Errorf("%w: %s: decode: %v", ErrUnavailable, action, err)
	}
	return nil
}

// Authorization is the TC3-HMAC-SHA256 Authorization header for a POST of body to host
// at Unix time ts, signing content-type and host.
func Authorization(secretID, secretKey, service, host string, body []byte, ts int64) string {
	date := time.Unix(ts, 0).UTC().Format("2006-01-02")
	canonical := "POST\n/\n\n" +
		"content-type:" + contentType + "\nhost:" + host + "\n\n" +
		"content-type;host\n" + sha256hex(body)
	scope := date + "/" + service + "/tc3_request"
	toSign := "TC3-HMAC-SHA256\n" + strconv.FormatInt(ts, 10) + "\n" + scope + "\n" + sha256hex([]byte(canonical))
	k := hmacSHA256([]byte("TC3"+secretKey), date)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "tc3_request")
	sig := hex.EncodeToString(hmacSHA256(k, toSign))
	return "TC3-HMAC-SHA256 Credential=" + secretID + "/" + scope + ", SignedHeaders=content-type;host, Signature=" + sig
}

func sha256hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
