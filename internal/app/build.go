package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/captcha"
	"github.com/renran/accounts/internal/config"
	"github.com/renran/accounts/internal/kv"
	"github.com/renran/accounts/internal/mail"
	"github.com/renran/accounts/internal/metrics"
	"github.com/renran/accounts/internal/outbox"
	"github.com/renran/accounts/internal/password"
	"github.com/renran/accounts/internal/provider/qqprovider"
	"github.com/renran/accounts/internal/provider/wechatprovider"
	"github.com/renran/accounts/internal/provider/weiboprovider"
	"github.com/renran/accounts/internal/qq"
	"github.com/renran/accounts/internal/sms"
	"github.com/renran/accounts/internal/store"
	"github.com/renran/accounts/internal/web"
	"github.com/renran/accounts/internal/wechat"
	"github.com/renran/accounts/internal/weibo"
	"github.com/renran/accounts/qqemu"
	"github.com/renran/accounts/wechatemu"
	"github.com/renran/accounts/weiboemu"
)

// Options are what Build takes besides the configuration: what tests replace.
type Options struct {
	Logger    *slog.Logger
	Now       func() time.Time // a fake clock for the service, the store and the in-process kv
	Hasher    *password.Hasher // nil: the production parameters
	QQTimeout time.Duration    // per QQ call; 0: the client's default (5 s)
	QQUnionID bool             // ask QQ for the unionid (needs the permission on QQ's side)
	Captcha   account.Captcha  // replaces the configured captcha (tests)
}

// Service is the whole service built from a configuration: the parts, for tests and
// commands that need one of them, and the HTTP handler that serves them.
type Service struct {
	Config   config.Config
	Store    *store.DB
	KV       account.KV
	Accounts *account.Service
	Outbox   *outbox.Outbox // the development SMS outbox; nil in production
	Metrics  *metrics.Metrics
	Handler  *web.Server
	Captcha  *captcha.Emulator // the development captcha emulator; nil unless RENRAN_CAPTCHA=dev

	closers []func() error // in the order to run them
}

// Build composes the service from cfg: the store named by RENRAN_DATABASE_URL, the
// short-lived store named by RENRAN_REDIS_URL, the QQ client, the SMS and captcha
// providers, the metrics, the account service and the web handler. It is the one place
// that wires them; serve, migrate and the tests' environments all come through here.
// Close the result to flush the journal and release connections.
func Build(ctx context.Context, cfg config.Config, o Options) (_ *Service, err error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Hasher == nil {
		o.Hasher = password.NewHasher(password.DefaultParams, runtime.GOMAXPROCS(0))
	}
	if cfg.SecretKey == nil { // development on SQLite: config refuses this otherwise
		if cfg.SecretKey, err = devSecret(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	s := &Service{Config: cfg, Metrics: metrics.New()}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	if s.Store, err = OpenStore(ctx, cfg, o); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.Store.Close)
	s.Metrics.DB(s.Store.SQL(), s.Store.Engine())

	if cfg.RedisURL != "" {
		r, err := kv.OpenRedis(ctx, cfg.RedisURL, cfg.RedisPrefix)
		if err != nil {
			return nil, err
		}
		s.KV = r
		s.closers = append(s.closers, r.Close)
		s.Metrics.Redis(r.Client())
	} else {
		m := kv.NewMemory(o.Now)
		s.KV = m
		s.closers = append(s.closers, m.Close)
	}

	if !cfg.Production {
		s.Outbox = outbox.New()
	}
	var smsSender account.SMS
	var notices account.NoticeSMS // security notices need a template of their own
	switch cfg.SMS {
	case "dev":
		d := sms.Dev{Outbox: s.Outbox}
		smsSender, notices = d, d
	case "tencent":
		t := &sms.Tencent{API: sms.NewTencentAPI(cfg.SMSEndpoint, cfg.SMSRegion, cfg.TencentID, cfg.TencentKey),
			SdkAppID: cfg.SMSAppID, SignName: cfg.SMSSign, TemplateID: cfg.SMSTemplate, NoticeTemplateID: cfg.SMSNoticeTemplate, Log: o.Logger}
		smsSender = t
		if cfg.SMSNoticeTemplate != "" {
			notices = t
		}
	case "aliyun":
		a := &sms.Aliyun{Endpoint: cfg.SMSEndpoint, AccessKeyID: cfg.AliyunID, AccessSecret: cfg.AliyunSecret,
			SignName: cfg.SMSSign, TemplateCode: cfg.SMSTemplate, NoticeTemplateCode: cfg.SMSNoticeTemplate, Log: o.Logger}
		smsSender = a
		if cfg.SMSNoticeTemplate != "" {
			notices = a
		}
	default:
		return nil, fmt.Errorf("RENRAN_SMS=%q: no such provider", cfg.SMS)
	}

	// Mail: queued and sent in the background, to the outbox in development.
	var mailer account.Mailer
	var sender mail.Sender
	switch {
	case cfg.Mail == "dev" && s.Outbox != nil:
		sender = mail.Dev{Outbox: s.Outbox}
	case strings.HasPrefix(cfg.Mail, "smtp://") || strings.HasPrefix(cfg.Mail, "smtps://"):
		u, err := url.Parse(cfg.Mail)
		if err != nil {
			return nil, fmt.Errorf("RENRAN_MAIL: %w", err)
		}
		sender = &mail.SMTP{URL: u, From: cfg.MailFrom}
	}
	if sender != nil {
		q := mail.NewQueue(sender, o.Logger)
		mailer = mailQueue{q}
		s.closers = append(s.closers, func() error { q.Close(); return nil })
	}

	// The captcha: the real Tencent client in both modes; in development it is pointed at
	// the emulator this binary serves under /_dev/captcha/.
	var captchaEmu *captcha.Emulator
	verifier := o.Captcha
	if cfg.Captcha != "off" && verifier == nil {
		appID, err := captcha.AppIDOf(cfg.CaptchaAppID)
		if err != nil {
			return nil, err
		}
		verifier = &captcha.Tencent{
			API: captcha.NewAPI(cfg.CaptchaURL, cfg.TencentID, cfg.TencentKey), AppID: appID, AppSecret: cfg.CaptchaSecret,
			FailOpen: cfg.CaptchaOpen, Log: o.Logger, OnFailOpen: s.Metrics.CaptchaUndecided,
		}
		if cfg.Captcha == "dev" {
			captchaEmu = &captcha.Emulator{AppID: appID, AppSecret: cfg.CaptchaSecret, SecretID: cfg.TencentID, SecretKey: cfg.TencentKey}
		}
	}
	if cfg.Captcha == "off" && o.Captcha == nil {
		verifier = nil
	}

	providers := []account.Provider{
		qqprovider.New(qq.New(qq.Config{
			BaseURL: cfg.QQBaseURL, AppID: cfg.QQAppID, AppKey: cfg.QQAppKey, RedirectURL: cfg.QQRedirectURL,
			Timeout: o.QQTimeout, UnionID: o.QQUnionID,
		}, nil)),
	}
	if cfg.WeChatAppID != "" {
		providers = append(providers, wechatprovider.New(wechat.New(wechat.Config{
			OpenURL: cfg.WeChatOpenURL, APIURL: cfg.WeChatAPIURL, RedirectURL: cfg.WeChatRedirectURL, Timeout: o.QQTimeout,
			Web: wechat.App{ID: cfg.WeChatAppID, Secret: cfg.WeChatAppSecret}, MP: wechat.App{ID: cfg.WeChatMPAppID, Secret: cfg.WeChatMPAppSecret},
		}, nil)))
	}
	if cfg.WeiboAppKey != "" {
		providers = append(providers, weiboprovider.New(weibo.New(weibo.Config{
			BaseURL: cfg.WeiboBaseURL, AppKey: cfg.WeiboAppKey, AppSecret: cfg.WeiboAppSecret, RedirectURL: cfg.WeiboRedirectURL,
			Timeout: o.QQTimeout,
		}, nil)))
	}
	s.Accounts, err = account.New(account.Options{
		Store: s.Store, KV: s.KV, SMS: smsSender, Notices: notices, Captcha: verifier, Hasher: o.Hasher, Mailer: mailer, PublicURL: cfg.PublicURL.String(),
		CaptchaPolicy: account.CaptchaPolicy{Login: account.Policy(cfg.CaptchaPolicy[0]), Bind: account.Policy(cfg.CaptchaPolicy[1]), SMS: account.Policy(cfg.CaptchaPolicy[2])},
		Providers:     providers,
		Secret:        cfg.SecretKey, Limits: cfg.RateLimits, Logger: o.Logger, Now: o.Now, AccessTTL: cfg.AccessTTL, Observer: s.Metrics,
	})
	if err != nil {
		return nil, err
	}
	// Closed first: the journal's last writes need the store.
	s.closers = append([]func() error{func() error { s.Accounts.Close(); return nil }}, s.closers...)
	s.Metrics.JournalPending(s.Accounts.JournalPending)

	deps := web.Deps{
		Accounts: s.Accounts, Logger: o.Logger, Origin: cfg.Origin(), CORSOrigins: cfg.CORSOrigins, Secure: cfg.Secure(),
		TrustedProxies: cfg.TrustedProxies, Dev: !cfg.Production, CallbackPath: cfg.QQRedirectPath(), Requests: s.Metrics,
		AllowedHosts: cfg.AllowedHosts, Providers: s.Accounts.Providers(),
		CallbackPaths: map[string]string{account.ProviderWeibo: cfg.WeiboRedirectPath(), wechatprovider.ProviderWeChat: cfg.WeChatRedirectPath()},
	}
	if verifier != nil && o.Captcha == nil {
		deps.Captcha = web.CaptchaPage{AppID: cfg.CaptchaAppID, Script: cfg.CaptchaScript,
			Login: cfg.CaptchaPolicy[0], Bind: cfg.CaptchaPolicy[1], SMS: cfg.CaptchaPolicy[2]}
	}
	if captchaEmu != nil {
		deps.CaptchaEmulator = captchaEmu
		s.Captcha = captchaEmu
	}
	if !cfg.Production {
		deps.Outbox = s.Outbox
		if !cfg.QQEmulator {
			deps.QQAvatarOrigin = cfg.QQBaseOrigin() // an emulator running as its own process
		}
	}
	if cfg.QQEmulator {
		deps.QQEmulator = qqemu.New(qqemu.Config{
			Apps:      []qqemu.App{{AppID: cfg.QQAppID, AppKey: cfg.QQAppKey, Name: "荏苒资讯（开发）", RedirectURIs: []string{cfg.QQRedirectURL}, UnionID: o.QQUnionID}},
			PublicURL: cfg.QQBaseURL,
		})
	}
	if cfg.WeChatEmulator && cfg.WeChatAppID != "" {
		apps := []wechatemu.App{{ID: cfg.WeChatAppID, Secret: cfg.WeChatAppSecret, Name: "荏苒资讯（开发）", Kind: wechatemu.Website,
			RedirectURIs: []string{cfg.WeChatRedirectURL}, OpenPlatform: "renran-dev"}}
		if cfg.WeChatMPAppID != "" {
			apps = append(apps, wechatemu.App{ID: cfg.WeChatMPAppID, Secret: cfg.WeChatMPAppSecret, Name: "荏苒资讯公众号（开发）", Kind: wechatemu.MP,
				RedirectURIs: []string{cfg.WeChatRedirectURL}, OpenPlatform: "renran-dev"})
		}
		deps.WeChatEmulator = wechatemu.New(wechatemu.Config{Apps: apps, PublicURL: cfg.WeChatOpenURL})
	}
	if cfg.WeiboEmulator && cfg.WeiboAppKey != "" {
		deps.WeiboEmulator = weiboemu.New(weiboemu.Config{
			Apps:      []weiboemu.App{{AppKey: cfg.WeiboAppKey, AppSecret: cfg.WeiboAppSecret, Name: "荏苒资讯（开发）", RedirectURIs: []string{cfg.WeiboRedirectURL}}},
			PublicURL: cfg.WeiboBaseURL,
		})
	}
	s.Handler = web.NewServer(deps)
	return s, nil
}

// mailQueue adapts the mail queue to account.Mailer.
type mailQueue struct{ q *mail.Queue }

func (m mailQueue) Enqueue(msg account.MailMessage) error {
	return m.q.Enqueue(mail.Message{To: msg.To, Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML, Link: msg.Link})
}

// OpenStore opens (and migrates) the database cfg names.
func OpenStore(ctx context.Context, cfg config.Config, o Options) (*store.DB, error) {
	dsn := cfg.DatabaseURL
	if !cfg.Postgres {
		dsn = cfg.SQLitePath
	}
	db, err := store.Open(ctx, dsn, store.Options{Timeout: cfg.DBTimeout, Now: o.Now})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return db, nil
}

// Close flushes the journal, then closes the short-lived store and the database.
func (s *Service) Close() error {
	var errs []error
	for _, c := range s.closers {
		if err := c(); err != nil {
			errs = append(errs, err)
		}
	}
	s.closers = nil
	return errors.Join(errs...)
}
