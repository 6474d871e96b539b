package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/renran/accounts/internal/captcha"
	"github.com/renran/accounts/internal/config"
	"github.com/renran/accounts/internal/kv"
	"github.com/renran/accounts/internal/mail"
	"github.com/renran/accounts/internal/sms"
	"github.com/renran/accounts/internal/store"
	"github.com/renran/accounts/internal/tencentcloud"
	"github.com/renran/accounts/internal/wechat"
	"github.com/renran/accounts/internal/weibo"
)

// Check is one line of renran doctor: what was checked, whether it passed, and for a
// failure what to fix, in Chinese and in English, naming the variable.
type Check struct {
	Name     string `json:"check"`
	OK       bool   `json:"ok"`
	Variable string `json:"variable,omitempty"`
	Chinese  string `json:"message_zh"`
	English  string `json:"message_en"`
}

// ErrDoctorFailed is returned when any check fails (exit status 1).
var ErrDoctorFailed = errors.New("doctor: some checks failed")

var (
	varName = regexp.MustCompile(`RENRAN_[A-Z0-9_]+`)
	qqAppID = regexp.MustCompile(`^[0-9]{6,12}$`)
)

// Doctor runs every check on the configuration getenv describes. The network checks make
// real calls: the database and Redis are connected to and read (nothing is written or
// migrated); the captcha's DescribeCaptchaResult is called with a made-up ticket (an
// answer with a CaptchaCode proves the API key and the app are accepted); Tencent SMS is
// asked DescribePhoneNumberInfo and Aliyun QuerySmsTemplate for the template, neither of
// which sends anything.
func Doctor(ctx context.Context, getenv func(string) string) []Check {
	var out []Check
	add := func(name string, ok bool, variable, zh, en string) {
		out = append(out, Check{Name: name, OK: ok, Variable: variable, Chinese: zh, English: en})
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				add("configuration", false, varName.FindString(line), "配置有误，请按提示修改："+line, line)
			}
		}
		return out
	}
	add("configuration", true, "", "配置可以加载", "the configuration loads")

	// The secret (config refused a weak one; this says what was found).
	if cfg.SecretKey != nil {
		add("secret", true, "RENRAN_SECRET_KEY", fmt.Sprintf("密钥 %d 字节，看起来是随机的", len(cfg.SecretKey)), fmt.Sprintf("the secret is %d bytes and looks random", len(cfg.SecretKey)))
	} else if !cfg.Production {
		add("secret", true, "RENRAN_SECRET_KEY", "开发模式：密钥在数据目录中自动生成", "development: the secret is generated in the data folder")
	}

	// The public URL.
	if cfg.Production && !cfg.Secure() {
		add("public URL", false, "RENRAN_PUBLIC_URL", "生产环境的站点地址必须是 https://", "the public URL must be https:// in production")
	} else {
		add("public URL", true, "RENRAN_PUBLIC_URL", "站点地址："+cfg.PublicURL.String(), "public URL: "+cfg.PublicURL.String())
	}

	// The QQ redirect URL, as QQ compares it: exactly the string registered, under the site.
	out = append(out, checkRedirect(cfg)...)
	if qqAppID.MatchString(cfg.QQAppID) {
		add("QQ app id", true, "RENRAN_QQ_APP_ID", "QQ 应用 ID 格式正确："+cfg.QQAppID, "the QQ app id looks right: "+cfg.QQAppID)
	} else {
		add("QQ app id", false, "RENRAN_QQ_APP_ID", "QQ 互联的 APP ID 是一串数字（如 101234567），请从 connect.qq.com 的应用详情复制", "a QQ Connect APP ID is a number like 101234567: copy it from the app's page on connect.qq.com")
	}

	// WeChat and Weibo: a made-up code, exchanged; the kind of refusal says whether the
	// app id and secret are right (no user is involved, nothing is created).
	if cfg.WeChatAppID != "" && !cfg.WeChatEmulator {
		out = append(out, checkWeChat(ctx, cfg, cfg.WeChatAppID, "RENRAN_WECHAT_APP_ID", "RENRAN_WECHAT_APP_SECRET")...)
		if cfg.WeChatMPAppID != "" {
			out = append(out, checkWeChat(ctx, cfg, cfg.WeChatMPAppID, "RENRAN_WECHAT_MP_APP_ID", "RENRAN_WECHAT_MP_APP_SECRET")...)
		}
	}
	if cfg.WeiboAppKey != "" && !cfg.WeiboEmulator {
		out = append(out, checkWeibo(ctx, cfg))
	}

	// The database.
	dsn := cfg.DatabaseURL
	if !cfg.Postgres {
		dsn = cfg.SQLitePath
	}
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	sc, err := store.Inspect(dctx, dsn)
	cancel()
	switch {
	case err != nil:
		add("database", false, "RENRAN_DATABASE_URL", "无法连接数据库："+err.Error(), "cannot reach the database: "+err.Error())
	case sc.Missing:
		add("database", true, "RENRAN_DATABASE_URL", "SQLite 数据库文件尚不存在，首次启动时创建", "the SQLite file does not exist yet; the first start creates it")
	case sc.Version < sc.Latest:
		add("database", false, "RENRAN_DATABASE_URL", fmt.Sprintf("数据库结构版本 %d，本程序需要 %d：请先运行 renran migrate", sc.Version, sc.Latest),
			fmt.Sprintf("the schema is at version %d, this build needs %d: run renran migrate", sc.Version, sc.Latest))
	case sc.Version > sc.Latest:
		add("database", false, "RENRAN_DATABASE_URL", fmt.Sprintf("数据库结构版本 %d 比本程序（%d）新：请升级程序", sc.Version, sc.Latest),
			fmt.Sprintf("the schema (version %d) is newer than this build (%d): upgrade the binary", sc.Version, sc.Latest))
	default:
		add("database", true, "RENRAN_DATABASE_URL", fmt.Sprintf("数据库可以连接，结构版本 %d（最新）", sc.Version), fmt.Sprintf("the database answers, schema version %d (latest)", sc.Version))
	}

	// Redis.
	if cfg.RedisURL != "" {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		r, err := kv.OpenRedis(rctx, cfg.RedisURL, cfg.RedisPrefix)
		if err == nil {
			err = r.Ping(rctx)
			r.Close()
		}
		cancel()
		if err != nil {
			add("redis", false, "RENRAN_REDIS_URL", "无法连接 Redis："+err.Error(), "cannot reach Redis: "+err.Error())
		} else {
			add("redis", true, "RENRAN_REDIS_URL", "Redis 可以连接", "Redis answers")
		}
	}

	// The captcha.
	if cfg.Captcha == "tencent" {
		out = append(out, checkCaptcha(ctx, cfg))
	} else if cfg.Captcha == "dev" {
		add("captcha", true, "RENRAN_CAPTCHA", "开发模式：使用内置的验证码模拟器", "development: the built-in captcha emulator")
	}

	// SMS.
	switch cfg.SMS {
	case "tencent", "aliyun":
		out = append(out, checkSMS(ctx, cfg))
	case "dev":
		add("sms", true, "RENRAN_SMS", "开发模式：短信写入开发发件箱", "development: codes go to the development outbox")
	}

	// Mail.
	switch {
	case cfg.Mail == "off":
		add("mail", true, "RENRAN_MAIL", "未配置邮件：无法确认邮箱，也无法通过邮件找回密码", "no mail: no e-mail can be confirmed, and nobody can recover a password by mail")
	case cfg.Mail == "dev":
		add("mail", true, "RENRAN_MAIL", "开发模式：邮件写入开发发件箱", "development: mails go to the development outbox")
	default:
		u, _ := url.Parse(cfg.Mail)
		host, port := mail.Addr(u)
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			add("mail", false, "RENRAN_MAIL", "无法连接 SMTP 服务器 "+addr+"："+err.Error(), "cannot reach the SMTP server "+addr+": "+err.Error())
		} else {
			c.Close()
			add("mail", true, "RENRAN_MAIL", "SMTP 服务器 "+addr+" 可以连接", "the SMTP server "+addr+" answers")
		}
	}
	return out
}

// checkRedirect checks RENRAN_QQ_REDIRECT_URL the way QQ compares it to the registered
// callback (the whole string: scheme, host, port, path, trailing slash) and that it is
// this site's callback page.
func checkRedirect(cfg config.Config) []Check {
	u, err := url.Parse(cfg.QQRedirectURL)
	bad := func(zh, en string) []Check {
		return []Check{{Name: "QQ redirect URL", Variable: "RENRAN_QQ_REDIRECT_URL", Chinese: zh, English: en}}
	}
	if err != nil {
		return bad("回调地址无法解析", "the redirect URL does not parse")
	}
	pub := cfg.PublicURL
	switch {
	case u.Scheme != pub.Scheme || !strings.EqualFold(u.Host, pub.Host):
		return bad(fmt.Sprintf("回调地址 %s 不在站点 %s 之下：QQ 会把用户送到别的网站", cfg.QQRedirectURL, pub),
			fmt.Sprintf("the redirect URL %s is not on the site %s: QQ would send people elsewhere", cfg.QQRedirectURL, pub))
	case !strings.HasPrefix(u.Path, strings.TrimSuffix(pub.Path, "/")+"/"):
		return bad("回调地址的路径不在站点路径之下", "the redirect URL's path is not under the public URL's path")
	case u.RawQuery != "" || u.Fragment != "":
		return bad("回调地址不能带查询参数或 #：QQ 按整个字符串比较", "the redirect URL must have no query or fragment: QQ compares the whole string")
	case cfg.Production && u.Scheme != "https":
		return bad("生产环境的回调地址必须是 https://", "the redirect URL must be https:// in production")
	}
	msg := "请在 QQ 互联的应用设置中登记完全相同的回调地址（协议、域名、端口、路径、末尾斜杠都要一致）：" + cfg.QQRedirectURL
	en := "register exactly this callback with QQ Connect (scheme, host, port, path and trailing slash must all match): " + cfg.QQRedirectURL
	return []Check{{Name: "QQ redirect URL", OK: true, Variable: "RENRAN_QQ_REDIRECT_URL", Chinese: msg, English: en}}
}

// doctorCode is the made-up authorization code the provider probes exchange.
const doctorCode = "renrandoctorprobe"

// checkWeChat exchanges a made-up code with app: 40029 (invalid code) means WeChat accepted
// the AppID and secret.
func checkWeChat(ctx context.Context, cfg config.Config, app, idVar, secretVar string) []Check {
	c := wechat.New(wechat.Config{OpenURL: cfg.WeChatOpenURL, APIURL: cfg.WeChatAPIURL, RedirectURL: cfg.WeChatRedirectURL,
		Web: wechat.App{ID: cfg.WeChatAppID, Secret: cfg.WeChatAppSecret}, MP: wechat.App{ID: cfg.WeChatMPAppID, Secret: cfg.WeChatMPAppSecret}}, nil)
	_, err := c.Exchange(ctx, app, doctorCode)
	name := "WeChat " + app
	var we *wechat.Error
	switch {
	case errors.As(err, &we) && (we.Code == 40029 || we.Code == 40163 || we.Code == 42003):
		return []Check{{Name: name, OK: true, Variable: secretVar, Chinese: "微信接受了 AppID 和 AppSecret（测试 code 答复 " + strconv.Itoa(we.Code) + "，属正常）",
			English: fmt.Sprintf("WeChat accepts the AppID and AppSecret (a made-up code answered %d, as expected)", we.Code)}}
	case errors.As(err, &we) && (we.Code == 40125 || we.Code == 41004):
		return []Check{{Name: name, Variable: secretVar, Chinese: "微信拒绝了 AppSecret（" + strconv.Itoa(we.Code) + "）：请从开放平台/公众平台重新复制",
			English: fmt.Sprintf("WeChat refused the AppSecret (%d): copy it again from the platform", we.Code)}}
	case errors.As(err, &we) && (we.Code == 40013 || we.Code == 41002):
		return []Check{{Name: name, Variable: idVar, Chinese: "微信不认识这个 AppID（" + strconv.Itoa(we.Code) + "）", English: fmt.Sprintf("WeChat does not know this AppID (%d)", we.Code)}}
	case err != nil:
		return []Check{{Name: name, Variable: "RENRAN_WECHAT_API_URL", Chinese: "无法调用微信接口：" + err.Error(), English: "cannot call WeChat's API: " + err.Error()}}
	}
	return []Check{{Name: name, Variable: secretVar, Chinese: "微信接受了一个编造的 code：这不是真的微信接口", English: "WeChat accepted a made-up code: this is not WeChat's real API"}}
}

// checkWeibo exchanges a made-up code: 21325 (invalid_grant) means Weibo accepted the app
// key, the secret and the redirect URL.
func checkWeibo(ctx context.Context, cfg config.Config) Check {
	c := weibo.New(weibo.Config{BaseURL: cfg.WeiboBaseURL, AppKey: cfg.WeiboAppKey, AppSecret: cfg.WeiboAppSecret, RedirectURL: cfg.WeiboRedirectURL}, nil)
	_, err := c.Exchange(ctx, doctorCode)
	var we *weibo.Error
	switch {
	case errors.As(err, &we) && we.Code == 21325:
		return Check{Name: "Weibo", OK: true, Variable: "RENRAN_WEIBO_APP_SECRET", Chinese: "微博接受了 App Key 和 App Secret（测试 code 答复 21325，属正常）",
			English: "Weibo accepts the app key and secret (a made-up code answered 21325, as expected)"}
	case errors.As(err, &we) && (we.Code == 21324 || we.Code == 21323):
		return Check{Name: "Weibo", Variable: "RENRAN_WEIBO_APP_SECRET", Chinese: fmt.Sprintf("微博拒绝了 App Key 或 App Secret（%d）", we.Code),
			English: fmt.Sprintf("Weibo refused the app key or secret (%d)", we.Code)}
	case errors.As(err, &we) && we.Code == 21322:
		return Check{Name: "Weibo", Variable: "RENRAN_WEIBO_REDIRECT_URL", Chinese: "微博不认这个回调地址：请在应用的「授权回调页」登记 " + cfg.WeiboRedirectURL,
			English: "Weibo does not accept the redirect URL: register " + cfg.WeiboRedirectURL + " as the app's 授权回调页"}
	case err != nil:
		return Check{Name: "Weibo", Variable: "RENRAN_WEIBO_BASE_URL", Chinese: "无法调用微博接口：" + err.Error(), English: "cannot call Weibo's API: " + err.Error()}
	}
	return Check{Name: "Weibo", Variable: "RENRAN_WEIBO_APP_SECRET", Chinese: "微博接受了一个编造的 code：这不是真的微博接口", English: "Weibo accepted a made-up code: this is not Weibo's real API"}
}

func checkCaptcha(ctx context.Context, cfg config.Config) Check {
	c := Check{Name: "captcha", Variable: "RENRAN_CAPTCHA_APP_ID"}
	appID, err := captcha.AppIDOf(cfg.CaptchaAppID)
	if err != nil {
		c.Chinese, c.English = "CaptchaAppId 不是数字", "the CaptchaAppId is not a number"
		return c
	}
	api := captcha.NewAPI(cfg.CaptchaURL, cfg.TencentID, cfg.TencentKey)
	var res struct {
		CaptchaCode int
		CaptchaMsg  string
	}
	err = api.Call(ctx, "DescribeCaptchaResult", map[string]any{
		"CaptchaType": 9, "Ticket": "renran-doctor-probe", "UserIp": "127.0.0.1", "Randstr": "@doctor",
		"CaptchaAppId": appID, "AppSecretKey": cfg.CaptchaSecret,
	}, &res)
	var ae *tencentcloud.APIError
	switch {
	case errors.As(err, &ae) && strings.HasPrefix(ae.Code, "AuthFailure"):
		c.Variable = "RENRAN_TENCENTCLOUD_SECRET_ID"
		c.Chinese = "腾讯云拒绝了 API 密钥（" + ae.Code + "）：检查 RENRAN_TENCENTCLOUD_SECRET_ID / RENRAN_TENCENTCLOUD_SECRET_KEY 以及服务器时间"
		c.English = "Tencent Cloud refused the API key (" + ae.Code + "): check RENRAN_TENCENTCLOUD_SECRET_ID / _KEY and the server's clock"
	case err != nil:
		c.Variable = "RENRAN_CAPTCHA_ENDPOINT"
		c.Chinese, c.English = "无法调用验证码接口："+err.Error(), "cannot call the captcha API: "+err.Error()
	case res.CaptchaCode == 100:
		c.Variable = "RENRAN_CAPTCHA_APP_SECRET"
		c.Chinese = "CaptchaAppId 与 AppSecretKey 不匹配：请核对 RENRAN_CAPTCHA_APP_ID 和 RENRAN_CAPTCHA_APP_SECRET"
		c.English = "the CaptchaAppId and AppSecretKey do not match: check RENRAN_CAPTCHA_APP_ID and RENRAN_CAPTCHA_APP_SECRET"
	default:
		c.OK = true
		c.Chinese = fmt.Sprintf("验证码接口接受了密钥（测试票据答复 CaptchaCode %d，属正常）", res.CaptchaCode)
		c.English = fmt.Sprintf("the captcha API accepts the keys (a made-up ticket answered CaptchaCode %d, as expected)", res.CaptchaCode)
	}
	return c
}

func checkSMS(ctx context.Context, cfg config.Config) Check {
	c := Check{Name: "sms", Variable: "RENRAN_SMS"}
	var err error
	switch cfg.SMS {
	case "tencent":
		api := sms.NewTencentAPI(cfg.SMSEndpoint, cfg.SMSRegion, cfg.TencentID, cfg.TencentKey)
		var res map[string]any
		err = api.Call(ctx, "DescribePhoneNumberInfo", map[string]any{"PhoneNumberSet": []string{"+8613800138000"}}, &res)
		var ae *tencentcloud.APIError
		if errors.As(err, &ae) && strings.HasPrefix(ae.Code, "AuthFailure") {
			c.Variable = "RENRAN_TENCENTCLOUD_SECRET_ID"
		}
	case "aliyun":
		a := &sms.Aliyun{Endpoint: cfg.SMSEndpoint, AccessKeyID: cfg.AliyunID, AccessSecret: cfg.AliyunSecret, TemplateCode: cfg.SMSTemplate}
		var status int
		status, err = a.TemplateStatus(ctx)
		if err == nil && status != 1 {
			c.Variable = "RENRAN_SMS_TEMPLATE_ID"
			c.Chinese = fmt.Sprintf("短信模板 %s 尚未审核通过（状态 %d）", cfg.SMSTemplate, status)
			c.English = fmt.Sprintf("the SMS template %s is not approved (status %d)", cfg.SMSTemplate, status)
			return c
		}
		if err != nil && strings.Contains(err.Error(), "AccessKey") {
			c.Variable = "RENRAN_ALIYUN_ACCESS_KEY_ID"
		}
	}
	if err != nil {
		c.Chinese, c.English = "短信服务商拒绝或无法访问："+err.Error(), "the SMS provider refused or cannot be reached: "+err.Error()
		return c
	}
	c.OK = true
	c.Chinese, c.English = "短信服务商接受了密钥（未发送任何短信）", "the SMS provider accepts the keys (nothing was sent)"
	return c
}

// runDoctor prints the checks (or their JSON) and fails when any failed.
func runDoctor(ctx context.Context, asJSON bool, getenv func(string) string, stdout io.Writer) error {
	checks := Doctor(ctx, getenv)
	failed := 0
	for _, c := range checks {
		if !c.OK {
			failed++
		}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(map[string]any{"ok": failed == 0, "checks": checks}); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(stdout, "renran doctor：检查配置 / checking the configuration")
		for _, c := range checks {
			mark := "✓"
			if !c.OK {
				mark = "✗"
			}
			fmt.Fprintf(stdout, "%s %s\n    %s\n    %s\n", mark, c.Name, c.Chinese, c.English)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%w: %d of %d", ErrDoctorFailed, failed, len(checks))
	}
	return nil
}
