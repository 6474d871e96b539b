// Package wechat is a client for WeChat login (docs/wechat.md): the open platform's
// website app (QR code, snsapi_login) and, inside WeChat's own browser, an official
// account's web authorization (snsapi_userinfo), which share one token endpoint and one
// userinfo endpoint. Errors come with HTTP 200 and an errcode; bodies are read as UTF-8
// JSON whatever the Content-Type; a code is exchanged once, with the app that issued it.
// It imports the standard library and internal/providerhttp.
package wechat

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

// The real service's hosts.
const (
	DefaultOpenURL = "https://open.weixin.qq.com"
	DefaultAPIURL  = "https://api.weixin.qq.com"
)

const maxBody = 64 << 10

// App is a WeChat app: the website app, or the official account.
type App struct {
	ID, Secret string
}

// Config says which apps to speak for and where WeChat is.
type Config struct {
	OpenURL     string // authorize pages; DefaultOpenURL or an emulator
	APIURL      string // sns/* endpoints; DefaultAPIURL or an emulator
	Web         App    // the open platform's website app (QR login)
	MP          App    // the official account, for WeChat's own browser; ID "" when none
	RedirectURL string // byte for byte; registered with both apps
	Timeout     time.Duration
}

// Client calls WeChat. It is safe for concurrent use.
type Client struct {
	cfg Config
	hc  *http.Client
}

// Token is the answer of the code exchange (and of a refresh).
type Token struct {
	AccessToken  string
	ExpiresIn    int64
	RefreshToken string
	OpenID       string
	Scope        []string
	UnionID      string // present when the app is bound to an open-platform account
}

// UserInfo is what sns/userinfo tells that we use; sex and region are defaults since
// 2021 and ignored.
type UserInfo struct {
	OpenID, Nickname, Avatar, UnionID string
}

// Error is an errcode WeChat answered (40029, 40163, …); Msg without the per-request
// rid/hints suffix.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("wechat: errcode %d: %s", e.Code, e.Msg) }

// ErrTimeout is returned when WeChat did not answer in time.
var ErrTimeout = errors.New("wechat: timed out")

// ErrUnavailable wraps transport failures, 5xx answers and bodies that cannot be parsed.
var ErrUnavailable = errors.New("wechat: unavailable")

// ErrUnknownApp is returned for an app id that is neither of the configured ones.
var ErrUnknownApp = errors.New("wechat: unknown app")

// New returns a client; hc may be nil.
func New(cfg Config, hc *http.Client) *Client {
	if cfg.OpenURL == "" {
		cfg.OpenURL = DefaultOpenURL
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	cfg.OpenURL = strings.TrimRight(cfg.OpenURL, "/")
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	return &Client{cfg: cfg, hc: providerhttp.Client(hc, 256)}
}

// WebAppID is the website app's id.
func (c *Client) WebAppID() string { return c.cfg.Web.ID }

// InWeChat reports a user agent of WeChat's own browser.
func InWeChat(userAgent string) bool { return strings.Contains(userAgent, "MicroMessenger") }

// AuthorizeURL is where the browser goes, and the app whose code will come back: inside
// WeChat's browser (when an official account is configured) its web authorization with
// snsapi_userinfo, elsewhere the website app's QR page. #wechat_redirect ends the URL,
// after the query, never inside state.
func (c *Client) AuthorizeURL(state string, inWeChat bool) (string, string) {
	app, path, scope := c.cfg.Web.ID, "/connect/qrconnect", "snsapi_login"
	if inWeChat && c.cfg.MP.ID != "" {
		app, path, scope = c.cfg.MP.ID, "/connect/oauth2/authorize", "snsapi_userinfo"
	}
	// WeChat documents this order; url.Values would sort it.
	q := "appid=" + url.QueryEscape(app) + "&redirect_uri=" + url.QueryEscape(c.cfg.RedirectURL) +
		"&response_type=code&scope=" + scope + "&state=" + url.QueryEscape(state)
	return c.cfg.OpenURL + path + "?" + q + "#wechat_redirect", app
}

func (c *Client) app(id string) (App, error) {
	switch {
	case id != "" && id == c.cfg.Web.ID:
		return c.cfg.Web, nil
	case id != "" && id == c.cfg.MP.ID:
		return c.cfg.MP, nil
	}
	return App{}, fmt.Errorf("%w %q", ErrUnknownApp, id)
}

// Exchange swaps a code issued to app for a token. Never retried: a code is single use.
func (c *Client) Exchange(ctx context.Context, app, code string) (Token, error) {
	a, err := c.app(app)
	if err != nil {
		return Token{}, err
	}
	raw, err := c.get(ctx, "/sns/oauth2/access_token", url.Values{"appid": {a.ID}, "secret": {a.Secret}, "code": {code},
		"grant_type": {"authorization_code"}})
	if err != nil {
		return Token{}, err
	}
	return parseToken(raw)
}

// Refresh renews an access token of app with its refresh token (no secret).
func (c *Client) Refresh(ctx context.Context, app, refresh string) (Token, error) {
	a, err := c.app(app)
	if err != nil {
		return Token{}, err
	}
	raw, err := c.get(ctx, "/sns/oauth2/refresh_token", url.Values{"appid": {a.ID}, "grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	if err != nil {
		return Token{}, err
	}
	return parseToken(raw)
}

// UserInfo fetches nickname and avatar (and unionid) for openid.
func (c *Client) UserInfo(ctx context.Context, token, openid string) (UserInfo, error) {
	raw, err := c.get(ctx, "/sns/userinfo", url.Values{"access_token": {token}, "openid": {openid}, "lang": {"zh_CN"}})
	if err != nil {
		return UserInfo{}, err
	}
	return parseUserInfo(raw)
}

// Auth checks that token is alive and belongs to openid (nil when it does).
func (c *Client) Auth(ctx context.Context, token, openid string) error {
	raw, err := c.get(ctx, "/sns/auth", url.Values{"access_token": {token}, "openid": {openid}})
	if err != nil {
		return err
	}
	return parseAuth(raw)
}

func (c *Client) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.APIURL+path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	raw, status, err := providerhttp.Fetch(c.hc, req, maxBody)
	if errors.Is(err, providerhttp.ErrTimeout) {
		return nil, ErrTimeout
	}
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %v", ErrUnavailable, path, err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("%w: HTTP %d", ErrUnavailable, status)
	}
	return raw, nil
}
