package sms

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/renran/accounts/internal/account"
)

// Aliyun sends codes with Aliyun Dysms SendSms (RPC API, version 2017-05-25, HMAC-SHA1
// signature). The template's variable is ${code}.
type Aliyun struct {
	Endpoint     string // https://dysmsapi.aliyuncs.com (tests: a local fake)
	AccessKeyID  string
	AccessSecret string
	SignName     string
	TemplateCode string
	// NoticeTemplateCode is the security-notice template (variable ${action}); empty: none.
	NoticeTemplateCode string
	HTTP               *http.Client // nil: a client with a 5 s timeout
	Now                func() time.Time
	Log                *slog.Logger
}

// SendCode implements account.SMS.
func (a *Aliyun) SendCode(ctx context.Context, mobile, code string, ttl time.Duration) error {
	return a.send(ctx, mobile, a.TemplateCode, map[string]string{"code": code})
}

// SendNotice implements account.NoticeSMS with the notice template (variable ${action}).
// Only wired when RENRAN_SMS_NOTICE_TEMPLATE_ID is set.
func (a *Aliyun) SendNotice(ctx context.Context, mobile, what string) error {
	return a.send(ctx, mobile, a.NoticeTemplateCode, map[string]string{"action": what})
}

func (a *Aliyun) send(ctx context.Context, mobile, template string, vars map[string]string) error {
	param, _ := json.Marshal(vars) // values must be strings
	var out struct{ Code, Message, RequestId, BizId string }
	status, err := a.call(ctx, url.Values{
		"Action": {"SendSms"}, "PhoneNumbers": {E164(mobile)}, "SignName": {a.SignName},
		"TemplateCode": {template}, "TemplateParam": {string(param)},
	}, &out)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		a.log().Error("aliyun sms unreachable", "err", err)
		return account.ErrSMSUnavailable
	}
	if out.Code == "" {
		a.log().Error("aliyun sms: not a Dysms answer", "status", status)
		return account.ErrSMSUnavailable
	}
	if out.Code == "OK" {
		return nil
	}
	now := a.now()
	switch out.Code {
	case "isv.BUSINESS_LIMIT_CONTROL":
		switch {
		case strings.Contains(out.Message, "天"):
			return account.ErrSMSProviderLimited(untilTomorrow(now))
		case strings.Contains(out.Message, "小时"):
			return account.ErrSMSProviderLimited(time.Hour)
		default:
			return account.ErrSMSProviderLimited(time.Minute)
		}
	case "isv.DAY_LIMIT_CONTROL":
		return account.ErrSMSProviderLimited(untilTomorrow(now))
	case "isv.MOBILE_NUMBER_ILLEGAL":
		return account.ErrMobileInvalid
	}
	a.log().Error("aliyun sms refused the send: check the SMS settings", "code", out.Code, "message", out.Message, "request_id", out.RequestId)
	return account.ErrSMSUnavailable
}

func (a *Aliyun) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// call makes one signed RPC call with the action's parameters v (the common ones are
// added here) and decodes the JSON answer into out. It returns the HTTP status.
func (a *Aliyun) call(ctx context.Context, v url.Values, out any) (int, error) {
	var nonce [16]byte
	rand.Read(nonce[:])
	for k, val := range map[string]string{
		"AccessKeyId": a.AccessKeyID, "Format": "JSON", "RegionId": "cn-hangzhou", "SignatureMethod": "HMAC-SHA1",
		"SignatureNonce": hex.EncodeToString(nonce[:]), "SignatureVersion": "1.0",
		"Timestamp": a.now().UTC().Format("2006-01-02T15:04:05Z"), "Version": "2017-05-25",
	} {
		v.Set(k, val)
	}
	v.Set("Signature", AliyunSignature(http.MethodPost, v, a.AccessSecret))
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, a.Endpoint, strings.NewReader(v.Encode()))
	if err != nil {
		return 0, err
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hc := a.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	res, err := hc.Do(r)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	_ = json.Unmarshal(raw, out) // a body that is not JSON leaves out empty; the caller says so
	return res.StatusCode, nil
}

func (a *Aliyun) log() *slog.Logger {
	if a.Log == nil {
		return slog.Default()
	}
	return a.Log
}

// AliyunSignature is the RPC signature of the parameters v (without Signature):
// Base64(HMAC-SHA1(secret + "&", METHOD & %2F & pct(sorted k=v&…))).
func AliyunSignature(method string, v url.Values, secret string) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = percent(k) + "=" + percent(v.Get(k))
	}
	toSign := method + "&" + percent("/") + "&" + percent(strings.Join(parts, "&"))
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// percent is RFC 3986 encoding as Aliyun's POP signs it.
func percent(s string) string {
	e := url.QueryEscape(s)
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(e)
}

// TemplateStatus asks Dysms QuerySmsTemplate for the template's review status (0 under
// review, 1 approved, 2 refused): a signed call that sends nothing, for renran doctor.
func (a *Aliyun) TemplateStatus(ctx context.Context) (int, error) {
	var out struct {
		Code, Message  string
		TemplateStatus int
	}
	if _, err := a.call(ctx, url.Values{"Action": {"QuerySmsTemplate"}, "TemplateCode": {a.TemplateCode}}, &out); err != nil {
		return 0, err
	}
	if out.Code == "" {
		return 0, errors.New("aliyun: not a Dysms answer")
	}
	if out.Code != "OK" {
		return 0, errors.New("aliyun: " + out.Code + ": " + out.Message)
	}
	return out.TemplateStatus, nil
}
