package sms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/tencentcloud"
)

// E164 writes a mainland mobile (11 digits) as the providers want it: +86….
func E164(mobile string) string { return "+86" + mobile }

// untilTomorrow is the wait for a daily limit: until midnight in China (UTC+8).
func untilTomorrow(now time.Time) time.Duration {
	cn := now.In(time.FixedZone("CST", 8*3600))
	next := time.Date(cn.Year(), cn.Month(), cn.Day()+1, 0, 0, 0, 0, cn.Location())
	return next.Sub(cn).Round(time.Second)
}

// Tencent sends codes with Tencent Cloud SMS SendSms (API 3.0, version 2021-01-11). The
// template takes two parameters: the code and its lifetime in minutes.
type Tencent struct {
	API        *tencentcloud.Client // Service "sms", Version "2021-01-11", Region
	SdkAppID   string
	SignName   string
	TemplateID string
	// NoticeTemplateID is the security-notice template (one parameter); empty: none.
	NoticeTemplateID string
	Log              *slog.Logger
	Now              func() time.Time
}

// NewTencentAPI is the API client for Tencent SMS at endpoint (https://sms.tencentcloudapi.com).
func NewTencentAPI(endpoint, region, secretID, secretKey string) *tencentcloud.Client {
	return &tencentcloud.Client{Endpoint: endpoint, Service: "sms", Version: "2021-01-11", Region: region,
		SecretID: secretID, SecretKey: secretKey, Timeout: 5 * time.Second}
}

type sendStatus struct {
	SerialNo, PhoneNumber, Code, Message, IsoCode string
	Fee                                           int
}

// SendCode implements account.SMS.
func (t *Tencent) SendCode(ctx context.Context, mobile, code string, ttl time.Duration) error {
	return t.send(ctx, mobile, t.TemplateID, code, fmt.Sprint(int(ttl.Minutes())))
}

// SendNotice implements account.NoticeSMS with the notice template (one parameter: what
// happened). Only wired when RENRAN_SMS_NOTICE_TEMPLATE_ID is set.
func (t *Tencent) SendNotice(ctx context.Context, mobile, what string) error {
	return t.send(ctx, mobile, t.NoticeTemplateID, what)
}

func (t *Tencent) send(ctx context.Context, mobile, template string, params ...string) error {
	req := map[string]any{
		"PhoneNumberSet":   []string{E164(mobile)},
		"SmsSdkAppId":      t.SdkAppID,
		"SignName":         t.SignName,
		"TemplateId":       template,
		"TemplateParamSet": params,
	}
	var res struct {
		SendStatusSet []sendStatus
		RequestID     string `json:"RequestId"`
	}
	err := t.API.Call(ctx, "SendSms", req, &res)
	var ae *tencentcloud.APIError
	switch {
	case errors.As(err, &ae):
		return t.failure(ae.Code, ae.Message, ae.RequestID)
	case errors.Is(err, tencentcloud.ErrUnavailable):
		t.log().Error("tencent sms unreachable", "err", err)
		return account.ErrSMSUnavailable
	case err != nil:
		return err
	}
	if len(res.SendStatusSet) != 1 {
		t.log().Error("tencent sms: no status for the number", "request_id", res.RequestID)
		return account.ErrSMSSendFailed
	}
	st := res.SendStatusSet[0]
	if st.Code != "Ok" { // per-number failures come inside a 200
		return t.failure(st.Code, st.Message, res.RequestID)
	}
	return nil
}

// failure maps Tencent's codes: its limits are the visitor's 429, an outage or a refusal
// of our request is 503 (a misconfiguration is logged as such), a bad number is 400.
func (t *Tencent) failure(code, msg, reqID string) error {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	switch code {
	case "LimitExceeded.PhoneNumberThirtySecondLimit":
		return account.ErrSMSProviderLimited(30 * time.Second)
	case "LimitExceeded.PhoneNumberOneHourLimit":
		return account.ErrSMSProviderLimited(time.Hour)
	case "LimitExceeded.PhoneNumberDailyLimit", "LimitExceeded.PhoneNumberSameContentDailyLimit":
		return account.ErrSMSProviderLimited(untilTomorrow(now()))
	case "LimitExceeded.DeliveryFrequencyLimit":
		return account.ErrSMSProviderLimited(time.Minute)
	case "InvalidParameterValue.IncorrectPhoneNumber", "FailedOperation.PhoneNumberInBlacklist":
		return account.ErrMobileInvalid
	case "LimitExceeded.AppDailyLimit", "LimitExceeded.DailyLimit":
		t.log().Error("tencent sms: the app's daily limit is reached", "code", code, "request_id", reqID)
		return account.ErrSMSUnavailable
	}
	if strings.HasPrefix(code, "InternalError") {
		t.log().Error("tencent sms internal error", "code", code, "message", msg, "request_id", reqID)
		return account.ErrSMSUnavailable
	}
	// AuthFailure.*, FailedOperation.*Unapproved, InsufficientBalance…: ours to fix.
	t.log().Error("tencent sms refused the send: check the SMS settings", "code", code, "message", msg, "request_id", reqID)
	return account.ErrSMSUnavailable
}

func (t *Tencent) log() *slog.Logger {
	if t.Log == nil {
		return slog.Default()
	}
	return t.Log
}
