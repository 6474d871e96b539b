// Package weibo is a client for Weibo (微博开放平台) OAuth2 web login, built for the real
// service's quirks (docs/weibo.md): the token is asked for by POST, errors come with 4xx
// statuses and a JSON body that is read anyway, numbers may be strings and strings numbers,
// uids exceed 2^31, and a code is exchanged exactly once. It imports the standard
// library and internal/providerhttp.
package weibo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/renran/accounts/internal/providerhttp"
)

// DefaultBaseURL is where Weibo's API lives.
const DefaultBaseURL = "https://api.weibo.com"

// maxBody bounds what is read of an answer; a users/show object is a few KiB.
const maxBody = 256 << 10

// Config says which Weibo app to speak for and where Weibo is.
type Config struct {
	BaseURL     string // DefaultBaseURL, or an emulator
	AppKey      string // client_id
	AppSecret   string
	RedirectURL string        // byte for byte the 授权回调页; sent again with the token call
	Timeout     time.Duration // per call; 0 means 5 s
}

// Client calls Weibo. It is safe for concurrent use.
type Client struct {
	cfg Config
	hc  *http.Client
}

// Token is the answer of the code exchange. A returning user may get the same token again,
// with fewer seconds left.
type Token struct {
	AccessToken string
	ExpiresIn   int64  // seconds left
	UID         string // the Weibo user id, as a string (it exceeds 2^31)
}

// TokenInfo is the answer of get_token_info.
type TokenInfo struct {
	UID, AppKey string
	ExpireIn    int64
}

// User is the part of users/show we use.
type User struct {
	ID         string // idstr
	ScreenName string
	Avatar     string // the largest avatar offered, https where Weibo's hosts allow it
}

// Error is an error Weibo answered: error_code (21325, 20003, …) with its name.
type Error struct {
	Code        int
	Name        string // "invalid_grant", "User does not exists!"
	Description string
	Status      int // the HTTP status it came with
}

func (e *Error) Error() string {
	return fmt.Sprintf("weibo: error %d %s: %s", e.Code, e.Name, e.Description)
}

// ErrTimeout is returned when Weibo did not answer in time.
var ErrTimeout = errors.New("weibo: timed out")

// ErrUnavailable wraps transport failures, 5xx answers and bodies that cannot be parsed.
var ErrUnavailable = errors.New("weibo: unavailable")

// New returns a client. hc may be nil for a client tuned for many concurrent logins.
func New(cfg Config, hc *http.Client) *Client {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	return &Client{cfg: cfg, hc: providerhttp.Client(hc, 256)}
}

// AppKey is the Weibo app this client speaks for.
func (c *Client) AppKey() string { return c.cfg.AppKey }

// AuthorizeURL is where the browser goes to log in with Weibo; mobile asks for the page
// made for phones (display=mobile).
func (c *Client) AuthorizeURL(state string, mobile bool) string {
	q := url.Values{
		"client_id":     {c.cfg.AppKey},
		"redirect_uri":  {c.cfg.RedirectURL},
		"response_type": {"code"},
		"state":         {state},
	}
	if mobile {
		q.Set("display", "mobile")
	}
	return c.cfg.BaseURL + "/oauth2/authorize?" + q.Encode()
}

// Exchange swaps an authorization code for a token, by POST with the same redirect_uri.
// It is never retried: a code is single use.
func (c *Client) Exchange(ctx context.Context, code string) (Token, error) {
	form := url.Values{
		"client_id":     {c.cfg.AppKey},
		"client_secret": {c.cfg.AppSecret},
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {c.cfg.RedirectURL},
	}
	raw, status, err := c.do(ctx, http.MethodPost, "/oauth2/access_token", form, "")
	if err != nil {
		return Token{}, err
	}
	return parseToken(raw, status)
}

// TokenInfo asks which user and app a token belongs to.
func (c *Client) TokenInfo(ctx context.Context, token string) (TokenInfo, error) {
	raw, status, err := c.do(ctx, http.MethodPost, "/oauth2/get_token_info", url.Values{"access_token": {token}}, "")
	if err != nil {
		return TokenInfo{}, err
	}
	return parseTokenInfo(raw, status)
}

// UserShow fetches the profile of uid, the token sent in the Authorization header.
func (c *Client) UserShow(ctx context.Context, token, uid string) (User, error) {
	raw, status, err := c.do(ctx, http.MethodGet, "/2/users/show.json?"+url.Values{"uid": {uid}}.Encode(), nil, token)
	if err != nil {
		return User{}, err
	}
	return parseUser(raw, status)
}

// do makes one call bounded by the timeout and returns the body and status; a 4xx body is
// returned for the parser (Weibo's errors live there), a 5xx is ErrUnavailable.
func (c *Client) do(ctx context.Context, method, path string, form url.Values, token string) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.BaseURL+path, body)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("Authorization", "OAuth2 "+token)
	}
	req.Header.Set("Accept", "application/json")
	raw, status, err := providerhttp.Fetch(c.hc, req, maxBody)
	if errors.Is(err, providerhttp.ErrTimeout) {
		return nil, 0, ErrTimeout
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %s %s: %v", ErrUnavailable, method, strings.SplitN(path, "?", 2)[0], err)
	}
	if status >= 500 {
		return nil, 0, fmt.Errorf("%w: HTTP %d", ErrUnavailable, status)
	}
	return raw, status, nil
}
