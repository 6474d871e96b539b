// Package config loads the service's configuration from the RENRAN_* environment
// variables of docs/requirements.md §4 into a plain struct and refuses impossible or unsafe combinations.
// It is the only package that reads those names. Standard library only.
package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Development defaults for the built-in QQ emulator's test app. They are refused in
// production.
const (
	DevQQAppID  = "101000001"
	DevQQAppKey = "renran-dev-appkey-not-a-secret"
	// The built-in Weibo emulator's test app.
	DevWeiboAppKey    = "4043688639"
	DevWeiboAppSecret = "renran-dev-weibo-secret-not-a-secret"
	// The built-in WeChat emulator's website app and official account.
	DevWeChatAppID       = "wx00000000000000d1"
	DevWeChatAppSecret   = "renran-dev-wechat-secret-not-a-secret"
	DevWeChatMPAppID     = "wx00000000000000d2"
	DevWeChatMPAppSecret = "renran-dev-wechat-mp-secret-not-a-secret"
)

// Development defaults for the built-in captcha emulator and the Tencent Cloud key pair
// that signs calls to it. Refused in production.
const (
	DevCaptchaAppID     = "1900000001"
	DevCaptchaAppSecret = "renran-dev-captcha-secret"
	DevTencentSecretID  = "AKIDrenrandevelopment0000"
	DevTencentSecretKey = "renran-dev-tencentcloud-key"
)

// Var documents one variable; Variables is the table the README shows.
type Var struct {
	Name, Meaning, Default string
}

// Variables lists every variable Load reads.
var Variables = []Var{
	{"RENRAN_ENV", "`development` or `production`", "development"},
	{"RENRAN_ADDR", "listen address", "127.0.0.1:8000"},
	{"RENRAN_PUBLIC_URL", "the site's external base URL (links in mails, redirect URI)", "development: http:// + RENRAN_ADDR (127.0.0.1 for an address on every interface); production: required"},
	{"RENRAN_DATA_DIR", "where the embedded database and the development secret live", "./data"},
	{"RENRAN_DATABASE_URL", "`postgres://…` (pool settings such as `pool_max_conns` in the URL) or a SQLite file path", "SQLite in the data folder"},
	{"RENRAN_DATABASE_TIMEOUT", "longest a database call may take before the request gets 503", "5s"},
	{"RENRAN_REDIS_URL", "`redis://…` or `rediss://…`; empty means in-process (one instance only). Required with PostgreSQL", "empty"},
	{"RENRAN_REDIS_PREFIX", "prefix of every Redis key, so that two sites can share a Redis", "renran:"},
	{"RENRAN_SECRET_KEY", "signing/encryption secret, ≥ 32 random bytes (typed patterns are refused), the same on every instance", "development on SQLite: generated once, kept in the data folder"},
	{"RENRAN_ACCESS_TOKEN_TTL", "lifetime of an access token (the pages renew it silently with the refresh token)", "15m"},
	{"RENRAN_PPROF", "a loopback address where Go's profiler (net/http/pprof) listens, e.g. 127.0.0.1:6060; for measuring, never public", "empty: off"},
	{"RENRAN_METRICS_ADDR", "where `/metrics` (Prometheus) listens, or `off`; keep it private", "127.0.0.1:9464"},
	{"RENRAN_QQ_APP_ID", "the QQ app id", "development: the emulator's test app"},
	{"RENRAN_QQ_APP_KEY", "the QQ app key", "development: the emulator's test app"},
	{"RENRAN_QQ_REDIRECT_URL", "the callback page URL registered with QQ", "PUBLIC_URL + /oauth/qq/callback"},
	{"RENRAN_WECHAT_APP_ID", "the WeChat open-platform website app's AppID (QR login); production: WeChat login is off (its icon says 暂未开放) until it and the secret are set; `off`: off in development too", "development: the emulator's test app"},
	{"RENRAN_WECHAT_APP_SECRET", "that app's AppSecret", "development: the emulator's test app"},
	{"RENRAN_WECHAT_MP_APP_ID", "an official account (公众号) AppID, for logins inside WeChat's own browser (MicroMessenger); bind it to the same open-platform account, so that a person is recognised across both by unionid", "none: inside WeChat the QR page is shown; development: the emulator's"},
	{"RENRAN_WECHAT_MP_APP_SECRET", "the official account's AppSecret", "development: the emulator's"},
	{"RENRAN_WECHAT_OPEN_URL", "where WeChat's authorize pages are", "`https://open.weixin.qq.com`; development: the built-in emulator under `/_dev/wechat/`"},
	{"RENRAN_WECHAT_API_URL", "where WeChat's sns API is", "`https://api.weixin.qq.com`; development: the built-in emulator"},
	{"RENRAN_WECHAT_REDIRECT_URL", "the callback page URL, registered with both apps (授权回调域, 网页授权域名)", "PUBLIC_URL + /oauth/wechat/callback"},
	{"RENRAN_WEIBO_APP_KEY", "the Weibo app key (App Key); production: Weibo login is off (its icon says 暂未开放) until it and the secret are set; `off`: off in development too", "development: the emulator's test app"},
	{"RENRAN_WEIBO_APP_SECRET", "the Weibo app secret (App Secret)", "development: the emulator's test app"},
	{"RENRAN_WEIBO_BASE_URL", "where Weibo's API and authorize page are", "`https://api.weibo.com`; development: the built-in emulator under `/_dev/weibo/`"},
	{"RENRAN_WEIBO_REDIRECT_URL", "the callback page URL registered with Weibo (授权回调页)", "PUBLIC_URL + /oauth/weibo/callback"},
	{"RENRAN_QQ_BASE_URL", "where graph.qq.com is", "development: the built-in emulator; production: https://graph.qq.com"},
	{"RENRAN_CAPTCHA", "`tencent`, `dev` (the built-in emulator under `/_dev/captcha/`), or `off` (development only)", "dev"},
	{"RENRAN_CAPTCHA_LOGIN", "when password login asks for a captcha: `after-failures` (3 for the account or the address) or `always`", "after-failures"},
	{"RENRAN_CAPTCHA_BIND", "when binding QQ to an existing account asks: `always` or `after-failures`", "always"},
	{"RENRAN_CAPTCHA_SMS", "when sending an SMS code asks: `always` or `after-failures` (3 codes an hour from the address)", "always"},
	{"RENRAN_CAPTCHA_APP_ID", "the CaptchaAppId", "development: the emulator's"},
	{"RENRAN_CAPTCHA_APP_SECRET", "the AppSecretKey", "development: the emulator's"},
	{"RENRAN_CAPTCHA_ENDPOINT", "where DescribeCaptchaResult is called", "https://captcha.tencentcloudapi.com; development: the emulator"},
	{"RENRAN_CAPTCHA_SCRIPT_URL", "the TCaptcha.js the pages load (the CSP allows its origin)", "https://turing.captcha.qcloud.com/TCaptcha.js; development: the emulator's"},
	{"RENRAN_CAPTCHA_FAIL_OPEN", "`on`: when Tencent cannot answer, let the request through (logged, counted), as Tencent advises; `off`: 503", "on"},
	{"RENRAN_TENCENTCLOUD_SECRET_ID", "Tencent Cloud API key id (captcha and Tencent SMS calls are signed with it)", "development: the emulator's"},
	{"RENRAN_TENCENTCLOUD_SECRET_KEY", "Tencent Cloud API key secret", "development: the emulator's"},
	{"RENRAN_SMS", "`tencent` (Tencent Cloud SMS), `aliyun` (Dysms), or `dev` (the development outbox)", "dev"},
	{"RENRAN_SMS_SIGN_NAME", "the approved SMS signature (签名), e.g. 荏苒资讯", "required for tencent and aliyun"},
	{"RENRAN_SMS_TEMPLATE_ID", "the approved code template: Tencent's TemplateId (parameters: code, minutes) or Aliyun's TemplateCode (variable `${code}`)", "required for tencent and aliyun"},
	{"RENRAN_SMS_NOTICE_TEMPLATE_ID", "the approved security-notice template, for accounts without a confirmed e-mail: Tencent's TemplateId (one parameter, what happened, e.g. 修改了密码) or Aliyun's TemplateCode (variable `${action}`)", "empty: no notices by SMS (development: the outbox)"},
	{"RENRAN_SMS_SDK_APP_ID", "tencent: the SmsSdkAppId", "required for tencent"},
	{"RENRAN_SMS_REGION", "tencent: X-TC-Region", "ap-guangzhou"},
	{"RENRAN_SMS_ENDPOINT", "the provider's API URL", "https://sms.tencentcloudapi.com or https://dysmsapi.aliyuncs.com"},
	{"RENRAN_ALIYUN_ACCESS_KEY_ID", "aliyun: the AccessKey id", "required for aliyun"},
	{"RENRAN_ALIYUN_ACCESS_KEY_SECRET", "aliyun: the AccessKey secret", "required for aliyun"},
	{"RENRAN_MAIL", "`smtp://user:pass@host:587` (STARTTLS required), `smtps://…:465` (implicit TLS), `dev` (the development outbox), or `off` (no mail: no e-mail confirmation or recovery)", "dev; production: off"},
	{"RENRAN_MAIL_FROM", "the From of the service's mails, e.g. `荏苒资讯 <no-reply@renran.example>`", "required with smtp"},
	{"RENRAN_RATE_LIMITS", "`on`, or `off` for load tests (development only)", "on"},
	{"RENRAN_TRUSTED_PROXIES", "proxy addresses/CIDRs whose `X-Forwarded-For` is believed", "empty: the peer address is the client"},
	{"RENRAN_CORS_ORIGINS", "other front-end origins allowed to call the API with credentials", "empty"},
	{"RENRAN_ALLOWED_HOSTS", "production: other `Host` names the site answers to, besides the public URL's (requests naming any other host get 421)", "empty"},
	{"RENRAN_MAX_CONNS", "most open client connections; past it the longest-idle one is closed for a new one", "the descriptor limit less 256"},
	{"RENRAN_MAX_CONNS_PER_ADDR", "most open connections from one address (IPv6: one /64); trusted proxies count only in the total; 0 for none", "256"},
}

// Config is the loaded configuration.
type Config struct {
	Production        bool
	Addr              string
	PublicURL         *url.URL // no trailing slash in Path
	DataDir           string
	SQLitePath        string // when DatabaseURL is a SQLite file
	DatabaseURL       string
	Postgres          bool // DatabaseURL is postgres://…
	DBTimeout         time.Duration
	AccessTTL         time.Duration
	RedisURL          string
	RedisPrefix       string
	MetricsAddr       string // "" when off
	PprofAddr         string // "" when off; loopback only
	SecretKey         []byte // nil in development until the data folder's secret is loaded
	QQAppID           string
	QQAppKey          string
	QQRedirectURL     string
	QQBaseURL         string
	QQEmulator        bool   // serve the built-in emulator under /_dev/qq/ and point the client at it
	WeChatAppID       string // "": WeChat login is off
	WeChatAppSecret   string
	WeChatMPAppID     string // "": no official account
	WeChatMPAppSecret string
	WeChatOpenURL     string
	WeChatAPIURL      string
	WeChatRedirectURL string
	WeChatEmulator    bool   // serve the built-in WeChat emulator under /_dev/wechat/
	WeiboAppKey       string // "": Weibo login is off
	WeiboAppSecret    string
	WeiboRedirectURL  string
	WeiboBaseURL      string
	WeiboEmulator     bool      // serve the built-in Weibo emulator under /_dev/weibo/
	Captcha           string    // tencent, dev, off
	CaptchaPolicy     [3]string // login, bind, sms: always or after-failures
	CaptchaAppID      string
	CaptchaSecret     string
	CaptchaURL        string // DescribeCaptchaResult endpoint
	CaptchaScript     string // TCaptcha.js
	CaptchaOpen       bool   // fail open
	TencentID         string
	TencentKey        string
	SMS               string // tencent, aliyun, dev
	SMSSign           string
	SMSTemplate       string
	SMSNoticeTemplate string // empty: no security notices by SMS
	SMSAppID          string // tencent SmsSdkAppId
	SMSRegion         string
	SMSEndpoint       string
	AliyunID          string
	AliyunSecret      string
	Mail              string
	MailFrom          string
	RateLimits        bool
	TrustedProxies    []netip.Prefix
	CORSOrigins       []string // normalised scheme://host[:port]
	AllowedHosts      []string // production: lower-case host[:port] the site answers to; nil in development (any)
	MaxConns          int      // 0: the descriptor limit less a reserve
	MaxConnsPerIP     int      // 0: none
}

// Secure reports whether cookies must be Secure with the __Host- prefix (https public URL).
func (c Config) Secure() bool { return c.PublicURL.Scheme == "https" }

// Origin is the site's own origin, scheme://host[:port].
func (c Config) Origin() string { return c.PublicURL.Scheme + "://" + c.PublicURL.Host }

// QQRedirectPath is the path of RENRAN_QQ_REDIRECT_URL: where the callback page is served.
func (c Config) QQRedirectPath() string {
	u, err := url.Parse(c.QQRedirectURL)
	if err != nil || u.Path == "" {
		return "/oauth/qq/callback"
	}
	return u.Path
}

// WeChatRedirectPath is the path of RENRAN_WECHAT_REDIRECT_URL: where WeChat's callback page is.
func (c Config) WeChatRedirectPath() string {
	u, err := url.Parse(c.WeChatRedirectURL)
	if err != nil || u.Path == "" {
		return "/oauth/wechat/callback"
	}
	return u.Path
}

// WeiboRedirectPath is the path of RENRAN_WEIBO_REDIRECT_URL: where Weibo's callback page is.
func (c Config) WeiboRedirectPath() string {
	u, err := url.Parse(c.WeiboRedirectURL)
	if err != nil || u.Path == "" {
		return "/oauth/weibo/callback"
	}
	return u.Path
}

// QQBaseOrigin is the origin of RENRAN_QQ_BASE_URL.
func (c Config) QQBaseOrigin() string {
	u, err := url.Parse(c.QQBaseURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// Load reads the configuration through getenv and validates it.
func Load(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	var c Config
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	getInt := func(name string, def, lo, hi int) int {
		v := get(name, "")
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			bad("%s=%q: want a whole number from %d to %d", name, v, lo, hi)
			return def
		}
		return n
	}

	switch env := get("RENRAN_ENV", "development"); env {
	case "development":
	case "production":
		c.Production = true
	default:
		bad("RENRAN_ENV=%q: want development or production", env)
	}
	c.Addr = get("RENRAN_ADDR", "127.0.0.1:8000")
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("RENRAN_ADDR=%q: want host:port", c.Addr)
	}
	pubDefault := "http://127.0.0.1:8000"
	if !c.Production {
		pubDefault = devPublicURL(c.Addr) // the address the developer chose, unless told otherwise
	}
	pub := strings.TrimRight(get("RENRAN_PUBLIC_URL", pubDefault), "/")
	u, ok := httpURL(pub)
	if !ok || u.RawQuery != "" || u.Fragment != "" {
		bad("RENRAN_PUBLIC_URL=%q: want an absolute http(s) URL without query", pub)
		u, _ = url.Parse("http://127.0.0.1:8000")
	}
	c.PublicURL = u
	c.DataDir = get("RENRAN_DATA_DIR", "./data")

	c.DatabaseURL = get("RENRAN_DATABASE_URL", "")
	switch {
	case c.DatabaseURL == "":
		c.SQLitePath = filepath.Join(c.DataDir, "renran.db")
	case strings.HasPrefix(c.DatabaseURL, "postgres://"), strings.HasPrefix(c.DatabaseURL, "postgresql://"):
		c.Postgres = true
		if du, err := url.Parse(c.DatabaseURL); err != nil || du.Host == "" {
			bad("RENRAN_DATABASE_URL: not a PostgreSQL URL like postgres://user:password@host:5432/renran")
		}
	default:
		c.SQLitePath = strings.TrimPrefix(c.DatabaseURL, "sqlite://")
	}
	c.DBTimeout = 5 * time.Second
	if v := get("RENRAN_DATABASE_TIMEOUT", ""); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 100*time.Millisecond || d > time.Minute {
			bad("RENRAN_DATABASE_TIMEOUT=%q: want a duration between 100ms and 1m, like 5s", v)
		} else {
			c.DBTimeout = d
		}
	}
	c.AccessTTL = 15 * time.Minute
	if v := get("RENRAN_ACCESS_TOKEN_TTL", ""); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > time.Hour {
			bad("RENRAN_ACCESS_TOKEN_TTL=%q: want a duration between 1s and 1h, like 15m", v)
		} else {
			c.AccessTTL = d
		}
	}
	c.RedisURL = get("RENRAN_REDIS_URL", "")
	if c.RedisURL != "" {
		ru, err := url.Parse(c.RedisURL)
		if err != nil || (ru.Scheme != "redis" && ru.Scheme != "rediss" && ru.Scheme != "unix") {
			bad("RENRAN_REDIS_URL: want redis://[:password@]host:6379/0, rediss://… or unix://…")
		}
	}
	c.RedisPrefix = get("RENRAN_REDIS_PREFIX", "renran:")
	if len(c.RedisPrefix) > 64 || strings.ContainsAny(c.RedisPrefix, " \t\r\n*?[]") {
		bad("RENRAN_REDIS_PREFIX=%q: at most 64 characters, no spaces or glob characters", c.RedisPrefix)
	}
	if c.Postgres && c.RedisURL == "" {
		// Every instance on one database must see the same states, pending identities,
		// SMS codes and counters; an in-process store breaks at the second instance.
		bad("RENRAN_DATABASE_URL is PostgreSQL but RENRAN_REDIS_URL is empty: set RENRAN_REDIS_URL (redis://…) so that instances share short-lived records")
	}
	if k := getenv("RENRAN_SECRET_KEY"); k != "" {
		if why := WeakSecret([]byte(k)); why != "" {
			bad("RENRAN_SECRET_KEY %s: use at least 32 random bytes, e.g. the output of openssl rand -hex 32", why)
		}
		c.SecretKey = []byte(k)
	} else if c.Production {
		bad("RENRAN_SECRET_KEY must be set in production (at least 32 random bytes)")
	} else if c.Postgres {
		bad("RENRAN_SECRET_KEY must be set with PostgreSQL: every instance must sign and seal with the same secret (at least 32 random bytes)")
	}
	c.MetricsAddr = get("RENRAN_METRICS_ADDR", "127.0.0.1:9464")
	if c.MetricsAddr == "off" {
		c.MetricsAddr = ""
	} else if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
		bad("RENRAN_METRICS_ADDR=%q: want host:port or off", c.MetricsAddr)
	}

	c.PprofAddr = get("RENRAN_PPROF", "")
	if c.PprofAddr != "" {
		host, _, err := net.SplitHostPort(c.PprofAddr)
		if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			bad("RENRAN_PPROF=%q: want a loopback host:port such as 127.0.0.1:6060 (profiles are not for the network)", c.PprofAddr)
		}
	}

	c.QQAppID = get("RENRAN_QQ_APP_ID", "")
	c.QQAppKey = get("RENRAN_QQ_APP_KEY", "")
	c.QQBaseURL = strings.TrimRight(get("RENRAN_QQ_BASE_URL", ""), "/")
	c.QQRedirectURL = get("RENRAN_QQ_REDIRECT_URL", c.Origin()+c.PublicURL.Path+"/oauth/qq/callback")
	if _, ok := httpURL(c.QQRedirectURL); !ok {
		bad("RENRAN_QQ_REDIRECT_URL=%q: want an absolute http(s) URL", c.QQRedirectURL)
	}
	if c.Production {
		if c.QQAppID == "" || c.QQAppKey == "" {
			bad("RENRAN_QQ_APP_ID and RENRAN_QQ_APP_KEY must be set in production")
		}
		if c.QQAppID == DevQQAppID || c.QQAppKey == DevQQAppKey {
			bad("RENRAN_QQ_APP_ID/RENRAN_QQ_APP_KEY are the emulator's test app: refused in production")
		}
		if c.QQBaseURL == "" {
			c.QQBaseURL = "https://graph.qq.com"
		}
		if strings.Contains(c.QQBaseURL, "/_dev/") {
			bad("RENRAN_QQ_BASE_URL points at the development emulator: refused in production")
		}
	} else {
		if c.QQAppID == "" {
			c.QQAppID = DevQQAppID
		}
		if c.QQAppKey == "" {
			c.QQAppKey = DevQQAppKey
		}
		if c.QQBaseURL == "" {
			c.QQEmulator = true
			c.QQBaseURL = c.Origin() + c.PublicURL.Path + "/_dev/qq"
		}
	}
	if _, ok := httpURL(c.QQBaseURL); !ok {
		bad("RENRAN_QQ_BASE_URL=%q: want an absolute http(s) URL", c.QQBaseURL)
	}

	c.WeChatAppID, c.WeChatAppSecret = get("RENRAN_WECHAT_APP_ID", ""), get("RENRAN_WECHAT_APP_SECRET", "")
	wechatOff := c.WeChatAppID == "off" // off in development too
	if wechatOff {
		c.WeChatAppID = ""
	}
	c.WeChatMPAppID, c.WeChatMPAppSecret = get("RENRAN_WECHAT_MP_APP_ID", ""), get("RENRAN_WECHAT_MP_APP_SECRET", "")
	c.WeChatOpenURL = strings.TrimRight(get("RENRAN_WECHAT_OPEN_URL", ""), "/")
	c.WeChatAPIURL = strings.TrimRight(get("RENRAN_WECHAT_API_URL", ""), "/")
	c.WeChatRedirectURL = get("RENRAN_WECHAT_REDIRECT_URL", c.Origin()+c.PublicURL.Path+"/oauth/wechat/callback")
	if _, ok := httpURL(c.WeChatRedirectURL); !ok {
		bad("RENRAN_WECHAT_REDIRECT_URL=%q: want an absolute http(s) URL", c.WeChatRedirectURL)
	}
	if (c.WeChatAppID == "") != (c.WeChatAppSecret == "") {
		bad("RENRAN_WECHAT_APP_ID and RENRAN_WECHAT_APP_SECRET go together: set both (WeChat login on) or neither (off)")
	}
	if (c.WeChatMPAppID == "") != (c.WeChatMPAppSecret == "") {
		bad("RENRAN_WECHAT_MP_APP_ID and RENRAN_WECHAT_MP_APP_SECRET go together")
	}
	if c.WeChatMPAppID != "" && c.WeChatAppID == "" {
		bad("RENRAN_WECHAT_MP_APP_ID needs RENRAN_WECHAT_APP_ID: the official account only serves logins inside WeChat")
	}
	if c.Production {
		for _, v := range []string{c.WeChatAppID, c.WeChatAppSecret, c.WeChatMPAppID, c.WeChatMPAppSecret} {
			if v != "" && (v == DevWeChatAppID || v == DevWeChatAppSecret || v == DevWeChatMPAppID || v == DevWeChatMPAppSecret) {
				bad("RENRAN_WECHAT_* name the emulator's test apps: refused in production")
				break
			}
		}
		if c.WeChatOpenURL == "" {
			c.WeChatOpenURL = "https://open.weixin.qq.com"
		}
		if c.WeChatAPIURL == "" {
			c.WeChatAPIURL = "https://api.weixin.qq.com"
		}
		if strings.Contains(c.WeChatOpenURL+c.WeChatAPIURL, "/_dev/") {
			bad("RENRAN_WECHAT_OPEN_URL/RENRAN_WECHAT_API_URL point at the development emulator: refused in production")
		}
	} else {
		if c.WeChatAppID == "" && !wechatOff {
			c.WeChatAppID, c.WeChatAppSecret = DevWeChatAppID, DevWeChatAppSecret
			if c.WeChatMPAppID == "" {
				c.WeChatMPAppID, c.WeChatMPAppSecret = DevWeChatMPAppID, DevWeChatMPAppSecret
			}
		}
		if c.WeChatOpenURL == "" && c.WeChatAPIURL == "" {
			c.WeChatEmulator = true
			c.WeChatOpenURL = c.Origin() + c.PublicURL.Path + "/_dev/wechat"
			c.WeChatAPIURL = c.WeChatOpenURL
		}
	}
	for _, v := range [][2]string{{"RENRAN_WECHAT_OPEN_URL", c.WeChatOpenURL}, {"RENRAN_WECHAT_API_URL", c.WeChatAPIURL}} {
		if _, ok := httpURL(v[1]); !ok {
			bad("%s=%q: want an absolute http(s) URL (in development set both, or neither for the built-in emulator)", v[0], v[1])
		}
	}

	c.WeiboAppKey = get("RENRAN_WEIBO_APP_KEY", "")
	weiboOff := c.WeiboAppKey == "off" // off in development too
	if weiboOff {
		c.WeiboAppKey = ""
	}
	c.WeiboAppSecret = get("RENRAN_WEIBO_APP_SECRET", "")
	c.WeiboBaseURL = strings.TrimRight(get("RENRAN_WEIBO_BASE_URL", ""), "/")
	c.WeiboRedirectURL = get("RENRAN_WEIBO_REDIRECT_URL", c.Origin()+c.PublicURL.Path+"/oauth/weibo/callback")
	if _, ok := httpURL(c.WeiboRedirectURL); !ok {
		bad("RENRAN_WEIBO_REDIRECT_URL=%q: want an absolute http(s) URL", c.WeiboRedirectURL)
	}
	if (c.WeiboAppKey == "") != (c.WeiboAppSecret == "") {
		bad("RENRAN_WEIBO_APP_KEY and RENRAN_WEIBO_APP_SECRET go together: set both (Weibo login on) or neither (off)")
	}
	if c.Production {
		if c.WeiboAppKey == DevWeiboAppKey || c.WeiboAppSecret == DevWeiboAppSecret {
			bad("RENRAN_WEIBO_APP_KEY/RENRAN_WEIBO_APP_SECRET are the emulator's test app: refused in production")
		}
		if c.WeiboBaseURL == "" {
			c.WeiboBaseURL = "https://api.weibo.com"
		}
		if strings.Contains(c.WeiboBaseURL, "/_dev/") {
			bad("RENRAN_WEIBO_BASE_URL points at the development emulator: refused in production")
		}
	} else {
		if c.WeiboAppKey == "" && !weiboOff {
			c.WeiboAppKey, c.WeiboAppSecret = DevWeiboAppKey, DevWeiboAppSecret
		}
		if c.WeiboBaseURL == "" {
			c.WeiboEmulator = true
			c.WeiboBaseURL = c.Origin() + c.PublicURL.Path + "/_dev/weibo"
		}
	}
	if _, ok := httpURL(c.WeiboBaseURL); !ok {
		bad("RENRAN_WEIBO_BASE_URL=%q: want an absolute http(s) URL", c.WeiboBaseURL)
	}

	c.Captcha = get("RENRAN_CAPTCHA", "dev")
	for i, name := range []string{"RENRAN_CAPTCHA_LOGIN", "RENRAN_CAPTCHA_BIND", "RENRAN_CAPTCHA_SMS"} {
		def := "always"
		if i == 0 {
			def = "after-failures"
		}
		c.CaptchaPolicy[i] = get(name, def)
		if p := c.CaptchaPolicy[i]; p != "always" && p != "after-failures" {
			bad("%s=%q: want always or after-failures", name, p)
		}
	}
	c.TencentID = get("RENRAN_TENCENTCLOUD_SECRET_ID", "")
	c.TencentKey = get("RENRAN_TENCENTCLOUD_SECRET_KEY", "")
	c.CaptchaAppID = get("RENRAN_CAPTCHA_APP_ID", "")
	c.CaptchaSecret = get("RENRAN_CAPTCHA_APP_SECRET", "")
	switch v := get("RENRAN_CAPTCHA_FAIL_OPEN", "on"); v {
	case "on":
		c.CaptchaOpen = true
	case "off":
	default:
		bad("RENRAN_CAPTCHA_FAIL_OPEN=%q: want on or off", v)
	}
	switch c.Captcha {
	case "tencent":
		c.CaptchaURL = get("RENRAN_CAPTCHA_ENDPOINT", "https://captcha.tencentcloudapi.com")
		c.CaptchaScript = get("RENRAN_CAPTCHA_SCRIPT_URL", "https://turing.captcha.qcloud.com/TCaptcha.js")
		if c.CaptchaAppID == "" || c.CaptchaSecret == "" {
			bad("RENRAN_CAPTCHA=tencent needs RENRAN_CAPTCHA_APP_ID and RENRAN_CAPTCHA_APP_SECRET (the captcha app's CaptchaAppId and AppSecretKey)")
		}
		if c.TencentID == "" || c.TencentKey == "" {
			bad("RENRAN_CAPTCHA=tencent needs RENRAN_TENCENTCLOUD_SECRET_ID and RENRAN_TENCENTCLOUD_SECRET_KEY (a Tencent Cloud API key allowed to call captcha)")
		}
		if c.Production && (c.CaptchaAppID == DevCaptchaAppID || c.TencentID == DevTencentSecretID) {
			bad("RENRAN_CAPTCHA_APP_ID/RENRAN_TENCENTCLOUD_SECRET_ID are the emulator's: refused in production")
		}
	case "dev":
		base := c.Origin() + c.PublicURL.Path + "/_dev/captcha"
		c.CaptchaURL = get("RENRAN_CAPTCHA_ENDPOINT", base+"/api/")
		c.CaptchaScript = get("RENRAN_CAPTCHA_SCRIPT_URL", base+"/TCaptcha.js")
		c.CaptchaAppID = DevCaptchaAppID
		c.CaptchaSecret = DevCaptchaAppSecret
		if c.TencentID == "" {
			c.TencentID, c.TencentKey = DevTencentSecretID, DevTencentSecretKey
		}
	case "off":
		if c.Production {
			bad("RENRAN_CAPTCHA=off is for development only")
		}
	default:
		bad("RENRAN_CAPTCHA=%q: want tencent, dev or off", c.Captcha)
	}
	for _, v := range []struct{ name, u string }{{"RENRAN_CAPTCHA_ENDPOINT", c.CaptchaURL}, {"RENRAN_CAPTCHA_SCRIPT_URL", c.CaptchaScript}} {
		if v.u == "" {
			continue
		}
		if pu, ok := httpURL(v.u); !ok {
			bad("%s=%q: want an absolute http(s) URL", v.name, v.u)
		} else if c.Production && pu.Scheme != "https" && v.name == "RENRAN_CAPTCHA_SCRIPT_URL" {
			bad("%s must be https in production (an https page cannot load an http script)", v.name)
		}
	}
	if c.CaptchaAppID != "" {
		if n, err := strconv.ParseInt(c.CaptchaAppID, 10, 64); err != nil || n <= 0 {
			bad("RENRAN_CAPTCHA_APP_ID=%q: a CaptchaAppId is a number like 2031483705", c.CaptchaAppID)
		}
	}
	c.SMS = get("RENRAN_SMS", "dev")
	c.SMSSign = get("RENRAN_SMS_SIGN_NAME", "")
	c.SMSTemplate = get("RENRAN_SMS_TEMPLATE_ID", "")
	c.SMSNoticeTemplate = get("RENRAN_SMS_NOTICE_TEMPLATE_ID", "")
	c.SMSAppID = get("RENRAN_SMS_SDK_APP_ID", "")
	c.SMSRegion = get("RENRAN_SMS_REGION", "ap-guangzhou")
	c.AliyunID = get("RENRAN_ALIYUN_ACCESS_KEY_ID", "")
	c.AliyunSecret = get("RENRAN_ALIYUN_ACCESS_KEY_SECRET", "")
	switch c.SMS {
	case "dev":
	case "tencent":
		c.SMSEndpoint = get("RENRAN_SMS_ENDPOINT", "https://sms.tencentcloudapi.com")
		if c.SMSAppID == "" || c.SMSSign == "" || c.SMSTemplate == "" {
			bad("RENRAN_SMS=tencent needs RENRAN_SMS_SDK_APP_ID, RENRAN_SMS_SIGN_NAME and RENRAN_SMS_TEMPLATE_ID")
		}
		if c.TencentID == "" || c.TencentKey == "" || c.TencentID == DevTencentSecretID {
			bad("RENRAN_SMS=tencent needs RENRAN_TENCENTCLOUD_SECRET_ID and RENRAN_TENCENTCLOUD_SECRET_KEY (a Tencent Cloud API key allowed to send SMS)")
		}
	case "aliyun":
		c.SMSEndpoint = get("RENRAN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com")
		if c.SMSSign == "" || c.SMSTemplate == "" {
			bad("RENRAN_SMS=aliyun needs RENRAN_SMS_SIGN_NAME and RENRAN_SMS_TEMPLATE_ID (the TemplateCode, e.g. SMS_123456789)")
		}
		if c.AliyunID == "" || c.AliyunSecret == "" {
			bad("RENRAN_SMS=aliyun needs RENRAN_ALIYUN_ACCESS_KEY_ID and RENRAN_ALIYUN_ACCESS_KEY_SECRET")
		}
	default:
		bad("RENRAN_SMS=%q: want tencent, aliyun or dev", c.SMS)
	}
	if c.SMSEndpoint != "" {
		if _, ok := httpURL(c.SMSEndpoint); !ok {
			bad("RENRAN_SMS_ENDPOINT=%q: want an absolute http(s) URL", c.SMSEndpoint)
		}
	}
	mailDefault := "dev"
	if c.Production {
		mailDefault = "off" // no SMTP set: no e-mail can be confirmed, so nobody recovers by mail
	}
	c.Mail = get("RENRAN_MAIL", mailDefault)
	c.MailFrom = get("RENRAN_MAIL_FROM", "")
	switch {
	case c.Mail == "dev", c.Mail == "off":
	case strings.HasPrefix(c.Mail, "smtp://"), strings.HasPrefix(c.Mail, "smtps://"):
		if mu, err := url.Parse(c.Mail); err != nil || mu.Hostname() == "" {
			bad("RENRAN_MAIL: not an SMTP URL like smtp://user:password@smtp.example.com:587")
		}
		if c.MailFrom == "" {
			bad("RENRAN_MAIL is SMTP but RENRAN_MAIL_FROM is empty: set it, e.g. 荏苒资讯 <no-reply@renran.example>")
		}
	default:
		bad("RENRAN_MAIL: want smtp://…, smtps://…, dev or off")
	}
	switch rl := get("RENRAN_RATE_LIMITS", "on"); rl {
	case "on":
		c.RateLimits = true
	case "off":
		if c.Production {
			bad("RENRAN_RATE_LIMITS=off is for development only")
		}
	default:
		bad("RENRAN_RATE_LIMITS=%q: want on or off", rl)
	}
	for _, p := range splitList(getenv("RENRAN_TRUSTED_PROXIES")) {
		pref, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				bad("RENRAN_TRUSTED_PROXIES: %q is neither an address nor a CIDR", p)
				continue
			}
			pref = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, pref.Masked())
	}
	for _, o := range splitList(getenv("RENRAN_CORS_ORIGINS")) {
		ou, ok := httpURL(o)
		if !ok || (ou.Path != "" && ou.Path != "/") {
			bad("RENRAN_CORS_ORIGINS: %q is not an origin like https://m.example.com", o)
			continue
		}
		c.CORSOrigins = append(c.CORSOrigins, ou.Scheme+"://"+strings.ToLower(ou.Host))
	}
	c.MaxConns = getInt("RENRAN_MAX_CONNS", 0, 16, 10_000_000)
	c.MaxConnsPerIP = getInt("RENRAN_MAX_CONNS_PER_ADDR", 256, 0, 10_000_000)
	if c.Production {
		c.AllowedHosts = []string{strings.ToLower(c.PublicURL.Host)}
		for _, h := range splitList(getenv("RENRAN_ALLOWED_HOSTS")) {
			if strings.ContainsAny(h, "/@?#") {
				bad("RENRAN_ALLOWED_HOSTS: %q is not a host name like m.example.com", h)
				continue
			}
			c.AllowedHosts = append(c.AllowedHosts, strings.ToLower(h))
		}
	}
	if c.Production {
		if getenv("RENRAN_PUBLIC_URL") == "" {
			bad("RENRAN_PUBLIC_URL is required in production: the https address people reach the site at")
		} else if !c.Secure() {
			bad("RENRAN_PUBLIC_URL must be https in production")
		}
		if c.Captcha == "dev" || c.SMS == "dev" || c.Mail == "dev" {
			bad("production refuses development providers: set RENRAN_CAPTCHA=tencent and RENRAN_SMS=tencent or aliyun (and RENRAN_MAIL to smtp://… or off)")
		}
	}
	return c, errors.Join(errs...)
}

// httpURL parses an absolute http(s) URL with a host.
func httpURL(s string) (*url.URL, bool) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, false
	}
	return u, true
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// WeakSecret says why a secret is too weak to sign and seal with, or "" when it is not:
// fewer than 32 bytes, blank, a short pattern repeated, a quarter of its three-byte pieces
// seen before (a word typed twice), mostly a run like abcdef or 123456,
// or, estimated from its character frequencies, under 80 bits. The estimate is generous to
// real random strings (32 random hex digits, 128 bits, pass) and stops the keys people
// type: 32 × a, 32 spaces, "0123456789abcdef" twice, the alphabet.
func WeakSecret(k []byte) string {
	if len(k) < 32 {
		return fmt.Sprintf("is %d bytes: it must be at least 32", len(k))
	}
	if len(strings.TrimSpace(string(k))) == 0 {
		return "is blank"
	}
	for p := 1; p <= len(k)/2; p++ {
		repeats := true
		for i := p; i < len(k) && repeats; i++ {
			repeats = k[i] == k[i-p]
		}
		if repeats {
			return fmt.Sprintf("repeats a %d-byte pattern", p)
		}
	}
	grams := map[string]bool{}
	for i := 0; i+3 <= len(k); i++ {
		grams[string(k[i:i+3])] = true
	}
	if n := len(k) - 2; len(grams)*4 < n*3 {
		return "repeats itself"
	}
	runs := 0
	for i := 1; i < len(k); i++ {
		if d := int(k[i]) - int(k[i-1]); d == 1 || d == -1 {
			runs++
		}
	}
	if runs*2 > len(k) {
		return "is mostly a run of consecutive characters"
	}
	var freq [256]int
	for _, b := range k {
		freq[b]++
	}
	bits := 0.0
	for _, f := range freq {
		if f > 0 {
			p := float64(f) / float64(len(k))
			bits -= float64(f) * math.Log2(p)
		}
	}
	if bits < 80 {
		return fmt.Sprintf("looks like about %.0f bits of randomness: it needs at least 80", bits)
	}
	return ""
}

// devPublicURL is the public URL development assumes for the listen address addr: the
// same host and port over http, with 127.0.0.1 for a wildcard host (":8080", "0.0.0.0").
func devPublicURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://127.0.0.1:8000"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
