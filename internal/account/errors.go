package account

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind classifies a failure; the web layer maps each Kind to one HTTP status.
type Kind int

// The kinds of failure.
const (
	Internal         Kind = iota // 500; the detail goes to the log only
	Invalid                      // 400
	Unauthorized                 // 401
	Forbidden                    // 403
	NotFound                     // 404
	MethodNotAllowed             // 405
	Conflict                     // 409
	Gone                         // 410
	TooLarge                     // 413
	Unsupported                  // 415
	RateLimited                  // 429, with RetryAfter
	Upstream                     // 502: QQ (or another provider) answered an error
	UpstreamTimeout              // 504: QQ did not answer in time
	Unavailable                  // 503: the database or the short-lived store is unreachable, with RetryAfter
	Misdirected                  // 421: the request names a host this site is not
)

// Error is a failure a person can act on: a stable code for machines and a Chinese
// message for people. Everything else is an internal error.
type Error struct {
	Kind       Kind
	Code       string // stable snake_case, e.g. "qq_already_bound"
	Message    string // Chinese, for people
	Field      string // the input at fault, if one is
	RetryAfter time.Duration
}

func (e *Error) Error() string { return fmt.Sprintf("account: %s", e.Code) }

// Is makes errors.Is match on the code, so wrapped copies (with another field or
// Retry-After) still match the catalogue's variable.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// ErrorOf returns the *Error in err's chain, or nil.
func ErrorOf(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

func newErr(k Kind, code, msg string) *Error { return &Error{Kind: k, Code: code, Message: msg} }

func fieldErr(k Kind, code, field, msg string) *Error {
	return &Error{Kind: k, Code: code, Field: field, Message: msg}
}

func rateLimited(code, msg string, after time.Duration) *Error {
	if after < time.Second {
		after = time.Second
	}
	return &Error{Kind: RateLimited, Code: code, Message: msg, RetryAfter: after}
}

// The error catalogue: every code the API answers is made here.
var (
	ErrInvalidJSON        = newErr(Invalid, "invalid_json", "请求格式错误，需要一个 JSON 对象")
	ErrBodyTooLarge       = newErr(TooLarge, "body_too_large", "请求内容过大")
	ErrUnsupportedMedia   = newErr(Unsupported, "unsupported_media_type", "请求需使用 Content-Type: application/json")
	ErrNotFound           = newErr(NotFound, "not_found", "页面或接口不存在")
	ErrMethodNotAllowed   = newErr(MethodNotAllowed, "method_not_allowed", "不支持该请求方法")
	ErrUnknownHost        = newErr(Misdirected, "unknown_host", "请求的网址不属于本站，请从本站首页进入")
	ErrOriginForbidden    = newErr(Forbidden, "origin_forbidden", "不允许从其他网站发起该请求")
	ErrInternal           = newErr(Internal, "internal", "服务器内部错误，请稍后再试")
	ErrUnauthenticated    = newErr(Unauthorized, "not_authenticated", "请先登录")
	ErrInvalidCredentials = newErr(Unauthorized, "invalid_credentials", "账号或密码错误")
	ErrAccountRequired    = fieldErr(Invalid, "account_required", "account", "请输入账号")
	ErrPasswordRequired   = fieldErr(Invalid, "password_required", "password", "请输入密码")
	ErrRefreshRequired    = fieldErr(Invalid, "refresh_token_required", "refresh_token", "缺少 refresh_token")
	ErrRefreshInvalid     = newErr(Unauthorized, "refresh_token_invalid", "登录已失效，请重新登录")
	ErrSessionReused      = newErr(Unauthorized, "session_revoked", "为了账号安全，这次登录已失效，请重新登录")
	ErrSessionNotFound    = newErr(NotFound, "session_not_found", "该登录设备不存在或已退出")

	ErrStateInvalid  = newErr(Invalid, "oauth_state_invalid", "QQ 登录已过期或链接无效，请重新发起 QQ 登录")
	ErrQQCancelled   = newErr(Invalid, "qq_login_cancelled", "QQ 登录已取消")
	ErrPendingGone   = newErr(Gone, "qq_user_expired", "QQ 登录信息已过期，请重新用 QQ 登录")
	ErrQQBound       = newErr(Conflict, "qq_already_bound", "该 QQ 已绑定其他荏苒账号")
	ErrAccountHasQQ  = newErr(Conflict, "account_has_qq", "该荏苒账号已绑定其他 QQ")
	ErrQQCodeInvalid = newErr(Upstream, "qq_code_invalid", "QQ 登录已过期，请重新登录")
	ErrQQConfig      = newErr(Upstream, "qq_config_error", "QQ 登录暂不可用（配置错误），请稍后再试或使用账号密码登录")
	ErrQQToken       = newErr(Upstream, "qq_token_invalid", "QQ 授权已失效，请重新用 QQ 登录")
	ErrQQError       = newErr(Upstream, "qq_error", "QQ 返回了错误，请重新用 QQ 登录")
	ErrQQUnavailable = newErr(Upstream, "qq_unavailable", "QQ 服务暂时不可用，请稍后重试")
	ErrQQTimeout     = newErr(UpstreamTimeout, "qq_timeout", "QQ 服务响应超时，请稍后重试")

	ErrNicknameInvalid   = fieldErr(Invalid, "nickname_invalid", "nickname", "昵称需为 2–20 个字符，可使用中文、字母、数字、_、- 和 ·")
	ErrNicknameTaken     = fieldErr(Conflict, "nickname_taken", "nickname", "该昵称已被使用，换一个吧")
	ErrMobileInvalid     = fieldErr(Invalid, "mobile_invalid", "mobile", "请输入正确的 11 位中国大陆手机号")
	ErrMobileTaken       = fieldErr(Conflict, "mobile_taken", "mobile", "该手机号已注册，请直接登录（用 QQ 登录时请选择「已有账号」绑定）")
	ErrUsernameTaken     = fieldErr(Conflict, "username_taken", "username", "该用户名已被使用")
	ErrEmailTaken        = fieldErr(Conflict, "email_taken", "email", "该邮箱已被使用")
	ErrLastLoginMethod   = newErr(Conflict, "last_login_method", "这是账号唯一的登录方式，请先设置密码或关联其他登录方式再解除")
	ErrQQNotLinked       = newErr(NotFound, "qq_not_linked", "账号尚未关联 QQ")
	ErrEmailInvalid      = fieldErr(Invalid, "email_invalid", "email", "请输入正确的邮箱地址")
	ErrEmailTokenInvalid = newErr(Gone, "email_token_invalid", "邮箱确认链接已失效，请重新发送确认邮件")
	ErrResetTokenInvalid = newErr(Gone, "reset_token_invalid", "重置密码链接已失效或已使用，请重新申请")
	ErrPurposeInvalid    = fieldErr(Invalid, "purpose_invalid", "purpose", "不支持的验证码用途")
	ErrSMSCodeInvalid    = fieldErr(Invalid, "sms_code_invalid", "sms_code", "短信验证码错误或已过期")
	ErrSMSCodeDead       = fieldErr(Invalid, "sms_code_invalid", "sms_code", "验证码错误次数过多，请重新获取")
	ErrSMSSendFailed     = newErr(Upstream, "sms_send_failed", "短信发送失败，请稍后重试")
	// ErrSMSUnavailable: the SMS provider cannot be reached or answers with an outage.
	ErrSMSUnavailable = &Error{Kind: Unavailable, Code: "sms_unavailable", Message: "短信服务暂时不可用，请稍后再试", RetryAfter: 30 * time.Second}

	ErrPasswordTooShort = fieldErr(Invalid, "password_too_short", "password", "密码至少需要 8 个字符")
	ErrPasswordTooLong  = fieldErr(Invalid, "password_too_long", "password", "密码不能超过 128 个字符")
	ErrPasswordCommon   = fieldErr(Invalid, "password_too_common", "password", "这个密码太常见了，请换一个更难猜的")
	ErrPasswordPersonal = fieldErr(Invalid, "password_personal", "password", "密码不能与手机号、昵称或用户名相同")

	ErrCaptchaRequired = fieldErr(Invalid, "captcha_required", "ticket", "请先完成人机验证")
	ErrCaptchaInvalid  = fieldErr(Invalid, "captcha_invalid", "ticket", "人机验证未通过，请重试")
	// ErrCaptchaUnavailable: the captcha service cannot answer and fail-open is off.
	ErrCaptchaUnavailable = &Error{Kind: Unavailable, Code: "captcha_unavailable", Message: "人机验证服务暂时不可用，请稍后再试", RetryAfter: 5 * time.Second}

	ErrServiceUnavailable = &Error{Kind: Unavailable, Code: "service_unavailable", Message: "服务暂时不可用，请稍后重试", RetryAfter: 5 * time.Second}
	ErrServiceBusy        = &Error{Kind: Unavailable, Code: "service_busy", Message: "服务繁忙，请稍后重试", RetryAfter: time.Second}
)

// ErrStorageDown marks a failure to reach the database or the short-lived store (refused
// connection, timeout, server shutting down), as opposed to a bad query. Stores wrap such
// errors with it; IsUnavailable finds it and the web layer answers 503, not 500, so a
// client knows to retry. Nothing is skipped because of it: a check that cannot run fails.
var ErrStorageDown = errors.New("storage unavailable")

// IsUnavailable reports whether err is (or wraps) ErrStorageDown.
func IsUnavailable(err error) bool { return errors.Is(err, ErrStorageDown) }

func errTooManyLogins(after time.Duration) *Error {
	return rateLimited("too_many_attempts", "尝试次数过多，请稍后再试", after)
}

func errSMSTooFrequent(after time.Duration) *Error {
	return rateLimited("sms_too_frequent", "验证码发送过于频繁，请稍后再试", after)
}

// ErrSMSProviderLimited is the SMS provider's own limit for the number, as a 429 with
// Retry-After.
func ErrSMSProviderLimited(after time.Duration) *Error {
	return rateLimited("sms_too_frequent", "该手机号接收验证码过于频繁，请稍后再试", after)
}

func errRateLimited(after time.Duration) *Error {
	return rateLimited("rate_limited", "请求过于频繁，请稍后再试", after)
}

// UnknownField is a body field the endpoint does not take; the message names the ones
// it does.
func UnknownField(field string, known []string) *Error {
	msg := "不支持字段 " + field
	if len(known) > 0 {
		msg += "；这个接口接受的字段是：" + strings.Join(known, "、")
	}
	return fieldErr(Invalid, "invalid_field", field, msg)
}

// WrongType is a body field of the wrong JSON type; want says the right one.
func WrongType(field, want string) *Error {
	return fieldErr(Invalid, "invalid_field", field, "字段 "+field+" 应为"+want)
}
