// Package qq is a client for QQ Connect (QQ 互联) OAuth 2.0 web login, built for the real
// service's quirks (docs/qq-connect.md §11): it asks for fmt=json and need_openid=1 but parses
// url-encoded, JSON and JSONP bodies under any content type, exchanges a code exactly once,
// and keeps timeouts apart from errors QQ answered. It imports the standard library and internal/providerhttp.
package qq

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/renran/accounts/internal/providerhttp"
)

// DefaultBaseURL is where QQ Connect lives.
const DefaultBaseURL = "https://graph.qq.com"

// maxBody bounds what is read of a QQ answer; real ones are well under 2 KiB.
const maxBody = 64 << 10

// Config says which QQ app to speak for and where QQ is.
type Config struct {
	BaseURL     string // DefaultBaseURL, or an emulator
	AppID       string
	AppKey      string
	RedirectURL string        // byte for byte the URL registered with QQ; reused for the token call
	UnionID     bool          // ask /me for the unionid (needs the permission on QQ's side)
	Timeout     time.Duration // per call; 0 means 5 s
}

// Client calls QQ Connect. It is safe for concurrent use.
type Client struct {
	cfg Config
	hc  *http.Client
}

// Token is the answer of the code exchange.
type Token struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    int64  // seconds, as QQ said (7776000 or 5184000 seen)
	OpenID       string // present because we ask need_openid=1
}

// Me is the answer of /oauth2.0/me.
type Me struct {
	ClientID, OpenID, UnionID string
}

// UserInfo is the part of get_user_info we use. Gender, province, city and year are
// placeholders since QQ's privacy reform and are ignored.
type UserInfo struct {
	Nickname string
	Avatar   string // https where QQ's hosts allow it
}

// Error is an error QQ answered: an OAuth error code (100019, …) or a get_user_info ret.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("qq: error %d: %s", e.Code, e.Msg) }

// ErrTimeout is returned when QQ did not answer in time.
var ErrTimeout = errors.New("qq: timed out")

// ErrUnavailable wraps transport failures, 5xx answers and bodies that cannot be parsed.
var ErrUnavailable = errors.New("qq: unavailable")

// New returns a client. hc may be nil for a client tuned for many concurrent logins.
func New(cfg Config, hc *http.Client) *Client {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	// QQ never redirects its API calls; following one could leak the app key elsewhere.
	return &Client{cfg: cfg, hc: providerhttp.Client(hc, 512)}
}

// WantsUnionID reports whether the client asks /me for the unionid.
func (c *Client) WantsUnionID() bool { return c.cfg.UnionID }

// AppID is the QQ app this client speaks for.
func (c *Client) AppID() string { return c.cfg.AppID }

// AuthorizeURL is where the browser goes to log in with QQ. mobile asks QQ for its mobile
// page, without which phones get the desktop QR page (docs/qq-connect.md §2.7).
func (c *Client) AuthorizeURL(state string, mobile bool) string {
	q := url.Values{
		"response_type": {"code"},
		"client_id":     {c.cfg.AppID},
		"redirect_uri":  {c.cfg.RedirectURL},
		"state":         {state},
		"scope":         {"get_user_info"},
	}
	if mobile {
		q.Set("display", "mobile")
	}
	return c.cfg.BaseURL + "/oauth2.0/authorize?" + q.Encode()
}

// Exchange swaps an authorization code for a token. It is never retried: QQ codes are
// single use, and a retry of an exchange that reached QQ only earns 100020.
func (c *Client) Exchange(ctx context.Context, code string) (Token, error) {
	q := url.Values{
		"grant_type":    {"authorization_code"},
		"client_id":     {c.cfg.AppID},
		"client_secret": {c.cfg.AppKey},
		"code":          {code},
		"redirect_uri":  {c.cfg.RedirectURL},
		"fmt":           {"json"},
		"need_openid":   {"1"},
	}
	raw, err := c.get(ctx, "/oauth2.0/token", q)
	if err != nil {
		return Token{}, fmt.Errorf("qq: exchange code: %w", err)
	}
	t, err := parseToken(raw)
	if err != nil {
		return Token{}, classify("exchange code", err)
	}
	return t, nil
}

// Me asks /oauth2.0/me for the openid (and the unionid when configured). Without the
// unionid permission QQ answers 100048 and no openid at all, so the call is repeated once
// without it (docs/qq-connect.md §11.9).
func (c *Client) Me(ctx context.Context, accessToken string) (Me, error) {
	q := url.Values{"access_token": {accessToken}, "fmt": {"json"}}
	if c.cfg.UnionID {
		q.Set("unionid", "1")
	}
	m, err := c.me(ctx, q)
	var qe *Error
	if c.cfg.UnionID && errors.As(err, &qe) && qe.Code == 100048 {
		q.Del("unionid")
		m, err = c.me(ctx, q)
	}
	return m, err
}

func (c *Client) me(ctx context.Context, q url.Values) (Me, error) {
	raw, err := c.getIdempotent(ctx, "/oauth2.0/me", q)
	if err != nil {
		return Me{}, fmt.Errorf("qq: me: %w", err)
	}
	m, err := parseMe(raw)
	if err != nil {
		return Me{}, classify("me", err)
	}
	return m, nil
}

// UserInfo asks get_user_info for the nickname and avatar.
func (c *Client) UserInfo(ctx context.Context, accessToken, openID string) (UserInfo, error) {
	q := url.Values{"access_token": {accessToken}, "oauth_consumer_key": {c.cfg.AppID}, "openid": {openID}}
	raw, err := c.getIdempotent(ctx, "/user/get_user_info", q)
	if err != nil {
		return UserInfo{}, fmt.Errorf("qq: user info: %w", err)
	}
	u, err := parseUserInfo(raw)
	if err != nil {
		return UserInfo{}, classify("user info", err)
	}
	return u, nil
}

// classify keeps QQ's own errors as *Error and turns unparseable bodies into ErrUnavailable.
func classify(op string, err error) error {
	var qe *Error
	if errors.As(err, &qe) {
		return err
	}
	return fmt.Errorf("qq: %s: %w: %v", op, ErrUnavailable, err)
}

// getIdempotent retries once a GET that failed in transport or with a 5xx; only for calls
// that change nothing on QQ's side (docs/qq-connect.md §11.15).
func (c *Client) getIdempotent(ctx context.Context, path string, q url.Values) ([]byte, error) {
	b, err := c.get(ctx, path, q)
	if err != nil && errors.Is(err, ErrUnavailable) && ctx.Err() == nil {
		return c.get(ctx, path, q)
	}
	return b, err
}

// get performs one call. Errors never carry the URL: its query holds the app key and tokens.
func (c *Client) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.BaseURL+path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", ErrUnavailable)
	}
	b, status, err := providerhttp.Fetch(c.hc, req, maxBody)
	if errors.Is(err, providerhttp.ErrTimeout) {
		return nil, ErrTimeout
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("%w: http status %d", ErrUnavailable, status)
	}
	return b, nil
}
