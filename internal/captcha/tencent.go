// Package captcha verifies Tencent captcha (腾讯天御 / 防水墙) tickets with
// DescribeCaptchaResult (API 3.0, version 2019-07-22), and holds the development emulator
// that answers in the same format (emulator.go), so that the same client runs in
// development, in tests and in production (docs/tencent.md).
package captcha

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/tencentcloud"
)

// Tencent verifies tickets with Tencent Cloud's captcha API.
type Tencent struct {
	API       *tencentcloud.Client // Service "captcha", Version "2019-07-22"
	AppID     int64                // CaptchaAppId
	AppSecret string               // AppSecretKey
	// FailOpen accepts a ticket when Tencent cannot answer (a timeout, InternalError,
	// CaptchaCode 26), as Tencent's guidance says, so that an outage of the captcha does
	// not stop every login. Each such pass is logged (without the ticket) and counted.
	FailOpen   bool
	Log        *slog.Logger
	OnFailOpen func(reason string) // a metric; may be nil
}

// NewAPI is the API client for captcha at endpoint (https://captcha.tencentcloudapi.com).
func NewAPI(endpoint, secretID, secretKey string) *tencentcloud.Client {
	return &tencentcloud.Client{Endpoint: endpoint, Service: "captcha", Version: "2019-07-22",
		SecretID: secretID, SecretKey: secretKey, Timeout: 3 * time.Second}
}

type describeRequest struct {
	CaptchaType  int
	Ticket       string
	UserIp       string
	Randstr      string
	CaptchaAppId int64
	AppSecretKey string
}

type describeResponse struct {
	CaptchaCode int
	CaptchaMsg  string
	EvilLevel   int
	RequestID   string `json:"RequestId"`
}

// CaptchaCodes with a meaning of their own: Tencent could not decide (26); the app id,
// the secret key and the ticket do not belong together (100).
const (
	codeSystemBusy     = 26
	codeSecretMismatch = 100
)

// ErrUnavailable is returned when Tencent cannot answer and fail-open is off, or refuses
// our own credentials: a 503 for the visitor.
var ErrUnavailable = account.ErrCaptchaUnavailable

// Verify implements account.Captcha: nil only for CaptchaCode 1 with EvilLevel below 100,
// or a fail-open pass.
func (t *Tencent) Verify(ctx context.Context, ticket, randstr, ip string) error {
	if ticket == "" || len(ticket) > 2048 || len(randstr) > 128 {
		return account.ErrCaptchaInvalid
	}
	var res describeResponse
	err := t.API.Call(ctx, "DescribeCaptchaResult", describeRequest{
		CaptchaType: 9, Ticket: ticket, UserIp: ip, Randstr: randstr, CaptchaAppId: t.AppID, AppSecretKey: t.AppSecret,
	}, &res)
	var apiErr *tencentcloud.APIError
	switch {
	case err == nil && res.CaptchaCode == 1 && res.EvilLevel < 100:
		return nil
	case err == nil && res.CaptchaCode == codeSystemBusy:
		return t.undecided(ip, "captcha_code_26")
	case err == nil && res.CaptchaCode == codeSecretMismatch:
		// The app id and the secret key do not belong together: ours to fix, not the
		// visitor's (renran doctor says so too).
		t.log().Error("captcha: CaptchaAppId and AppSecretKey do not match (CaptchaCode 100): check RENRAN_CAPTCHA_APP_ID and RENRAN_CAPTCHA_APP_SECRET", "request_id", res.RequestID)
		return ErrUnavailable
	case err == nil:
		return account.ErrCaptchaInvalid
	case errors.As(err, &apiErr) && apiErr.Code == "InternalError":
		return t.undecided(ip, "internal_error")
	case errors.As(err, &apiErr):
		// InvalidParameter, AuthFailure.* and the like: our configuration, not the visitor.
		t.log().Error("captcha verification refused our request", "code", apiErr.Code, "message", apiErr.Message, "request_id", apiErr.RequestID)
		return ErrUnavailable
	case errors.Is(err, tencentcloud.ErrUnavailable) && ctx.Err() == nil:
		return t.undecided(ip, "unreachable")
	default:
		return err
	}
}

// undecided is Tencent's fail-open rule.
func (t *Tencent) undecided(ip, reason string) error {
	if t.OnFailOpen != nil {
		t.OnFailOpen(reason)
	}
	if !t.FailOpen {
		t.log().Warn("captcha could not be verified; refused (fail-open is off)", "reason", reason, "ip", ip)
		return ErrUnavailable
	}
	t.log().Warn("captcha could not be verified; passed (fail-open)", "reason", reason, "ip", ip)
	return nil
}

func (t *Tencent) log() *slog.Logger {
	if t.Log == nil {
		return slog.Default()
	}
	return t.Log
}

// AppIDOf parses a CaptchaAppId.
func AppIDOf(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, errors.New("captcha: app id must be a positive number")
	}
	return n, nil
}
