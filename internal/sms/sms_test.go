package sms

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/tencentcloud/tcfake"
)

// ---- a fake sms.tencentcloudapi.com ----

type tencentFake struct {
	mu     sync.Mutex
	answer string // "": Ok; a Tencent code: answered per number (or request-level when it starts with AuthFailure/InternalError)
	got    map[string]any
}

func (f *tencentFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	reply := func(resp map[string]any) {
		resp["RequestId"] = "req-1"
		json.NewEncoder(w).Encode(map[string]any{"Response": resp})
	}
	if code, msg := tcfake.CheckSignature(r, body, "sms", "AKIDsms", "sms-secret", time.Now()); code != "" {
		reply(map[string]any{"Error": map[string]string{"Code": code, "Message": msg}})
		return
	}
	if r.Header.Get("X-TC-Action") != "SendSms" || r.Header.Get("X-TC-Version") != "2021-01-11" || r.Header.Get("X-TC-Region") == "" {
		reply(map[string]any{"Error": map[string]string{"Code": "InvalidAction", "Message": "action, version or region"}})
		return
	}
	var in map[string]any
	json.Unmarshal(body, &in)
	f.mu.Lock()
	f.got = in
	answer := f.answer
	f.mu.Unlock()
	if strings.HasPrefix(answer, "AuthFailure") || strings.HasPrefix(answer, "InternalError") {
		reply(map[string]any{"Error": map[string]string{"Code": answer, "Message": "refused"}})
		return
	}
	code, msg := "Ok", "send success"
	if answer != "" {
		code, msg = answer, "failed"
	}
	phones, _ := in["PhoneNumberSet"].([]any)
	var set []map[string]any
	for _, p := range phones {
		set = append(set, map[string]any{"SerialNo": "5000:1", "PhoneNumber": p, "Fee": 1, "Code": code, "Message": msg, "IsoCode": "CN"})
	}
	reply(map[string]any{"SendStatusSet": set})
}

func tencentClient(t *testing.T, f *tencentFake) *Tencent {
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	return &Tencent{API: NewTencentAPI(ts.URL, "ap-guangzhou", "AKIDsms", "sms-secret"), SdkAppID: "1400006666",
		SignName: "荏苒资讯", TemplateID: "1234", NoticeTemplateID: "5678", Log: slog.New(slog.DiscardHandler)}
}

func TestTencentSendsAndMaps(t *testing.T) {
	f := &tencentFake{}
	c := tencentClient(t, f)
	ctx := context.Background()
	if err := c.SendCode(ctx, "13912345678", "042517", 5*time.Minute); err != nil {
		t.Fatalf("SendCode = %v", err)
	}
	if p := fmt.Sprint(f.got["PhoneNumberSet"]); p != "[+8613912345678]" || fmt.Sprint(f.got["TemplateParamSet"]) != "[042517 5]" || f.got["SmsSdkAppId"] != "1400006666" || f.got["TemplateId"] != "1234" {
		t.Errorf("request = %v", f.got)
	}
	if err := c.SendNotice(ctx, "13912345678", "修改了密码"); err != nil {
		t.Fatalf("SendNotice = %v", err)
	}
	if fmt.Sprint(f.got["TemplateParamSet"]) != "[修改了密码]" || f.got["TemplateId"] != "5678" {
		t.Errorf("notice request = %v, want the notice template with one parameter", f.got)
	}
	tests := []struct {
		code     string
		want     error
		retryMin time.Duration
	}{
		{"LimitExceeded.PhoneNumberThirtySecondLimit", nil, 30 * time.Second},
		{"LimitExceeded.PhoneNumberOneHourLimit", nil, time.Hour},
		{"LimitExceeded.PhoneNumberDailyLimit", nil, time.Minute},
		{"InvalidParameterValue.IncorrectPhoneNumber", account.ErrMobileInvalid, 0},
		{"FailedOperation.InsufficientBalanceInSmsPackage", account.ErrSMSUnavailable, 0},
		{"FailedOperation.TemplateIncorrectOrUnapproved", account.ErrSMSUnavailable, 0},
		{"AuthFailure.SecretIdNotFound", account.ErrSMSUnavailable, 0},
		{"InternalError.Timeout", account.ErrSMSUnavailable, 0},
	}
	for _, tt := range tests {
		f.mu.Lock()
		f.answer = tt.code
		f.mu.Unlock()
		err := c.SendCode(ctx, "13912345678", "042517", 5*time.Minute)
		if tt.retryMin > 0 {
			e := account.ErrorOf(err)
			if e == nil || e.Kind != account.RateLimited || e.RetryAfter < tt.retryMin {
				t.Errorf("%s: %v, want a 429 with Retry-After ≥ %v", tt.code, err, tt.retryMin)
			}
			continue
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.code, err, tt.want)
		}
	}
}

// TestTencentSignatureChecked: the fake refuses a wrong key, a stale clock and a body
// changed after signing, as Tencent does; each is a 503 for the visitor.
func TestTencentSignatureChecked(t *testing.T) {
	ctx := context.Background()
	for name, spoil := range map[string]func(c *Tencent){
		"wrong key":   func(c *Tencent) { c.API.SecretKey = "other" },
		"stale clock": func(c *Tencent) { c.API.Now = func() time.Time { return time.Now().Add(-10 * time.Minute) } },
		"changed body": func(c *Tencent) {
			c.API.HTTP = &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
				b, _ := io.ReadAll(r.Body)
				b = []byte(strings.Replace(string(b), "+8613912345678", "+8613900000000", 1))
				r.Body, r.ContentLength = io.NopCloser(strings.NewReader(string(b))), int64(len(b))
				return http.DefaultTransport.RoundTrip(r)
			})}
		},
	} {
		f := &tencentFake{}
		c := tencentClient(t, f)
		spoil(c)
		if err := c.SendCode(ctx, "13912345678", "042517", 5*time.Minute); !errors.Is(err, account.ErrSMSUnavailable) || f.got != nil {
			t.Errorf("%s: SendCode = %v (fake saw a send: %v), want sms_unavailable and nothing sent", name, err, f.got != nil)
		}
	}
	c := &Tencent{API: NewTencentAPI("http://127.0.0.1:1", "ap-guangzhou", "AKIDsms", "sms-secret"), Log: slog.New(slog.DiscardHandler)}
	if err := c.SendCode(ctx, "13912345678", "1", time.Minute); !errors.Is(err, account.ErrSMSUnavailable) {
		t.Errorf("provider down: %v, want sms_unavailable", err)
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// ---- a fake dysmsapi.aliyuncs.com ----

// aliyunSign is the fake's own Dysms signature (independent of AliyunSignature).
func aliyunSign(method string, form url.Values, secret string) string {
	enc := func(s string) string {
		var b strings.Builder
		for _, c := range []byte(s) {
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		}
		return b.String()
	}
	var keys []string
	for k := range form {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var q []string
	for _, k := range keys {
		q = append(q, enc(k)+"="+enc(form.Get(k)))
	}
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(method + "&%2F&" + enc(strings.Join(q, "&"))))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

type aliyunFake struct {
	mu     sync.Mutex
	code   string
	msg    string
	got    url.Values
	nonces map[string]bool
}

func (f *aliyunFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	reply := func(status int, code, msg string) {
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"Code": code, "Message": msg, "RequestId": "r-1", "BizId": "b-1"})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.nonces == nil {
		f.nonces = map[string]bool{}
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", r.PostForm.Get("Timestamp"))
	switch {
	case r.PostForm.Get("AccessKeyId") != "LTAIsms":
		reply(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	case r.PostForm.Get("Signature") != aliyunSign(r.Method, r.PostForm, "aliyun-secret"):
		reply(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
	case err != nil || time.Since(ts) > 15*time.Minute || time.Until(ts) > 15*time.Minute:
		reply(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
	case f.nonces[r.PostForm.Get("SignatureNonce")]:
		reply(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
	case r.PostForm.Get("Action") != "SendSms" || r.PostForm.Get("Version") != "2017-05-25":
		reply(400, "InvalidAction", "action")
	default:
		f.nonces[r.PostForm.Get("SignatureNonce")] = true
		f.got = r.PostForm
		if f.code != "" {
			reply(200, f.code, f.msg)
			return
		}
		reply(200, "OK", "OK")
	}
}

func aliyunClient(t *testing.T, f *aliyunFake) *Aliyun {
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	return &Aliyun{Endpoint: ts.URL, AccessKeyID: "LTAIsms", AccessSecret: "aliyun-secret", SignName: "荏苒资讯", TemplateCode: "SMS_123",
		NoticeTemplateCode: "SMS_456", Log: slog.New(slog.DiscardHandler)}
}

func TestAliyunSendsAndMaps(t *testing.T) {
	f := &aliyunFake{}
	c := aliyunClient(t, f)
	ctx := context.Background()
	if err := c.SendCode(ctx, "13912345678", "042517", 5*time.Minute); err != nil {
		t.Fatalf("SendCode = %v", err)
	}
	if f.got.Get("PhoneNumbers") != "+8613912345678" || f.got.Get("TemplateParam") != `{"code":"042517"}` || f.got.Get("SignName") != "荏苒资讯" || f.got.Get("TemplateCode") != "SMS_123" {
		t.Errorf("request = %v", f.got)
	}
	if err := c.SendNotice(ctx, "13912345678", "关联了QQ"); err != nil {
		t.Fatalf("SendNotice = %v", err)
	}
	if f.got.Get("TemplateParam") != `{"action":"关联了QQ"}` || f.got.Get("TemplateCode") != "SMS_456" {
		t.Errorf("notice request = %v, want the notice template with ${action}", f.got)
	}
	tests := []struct {
		code, msg string
		want      error
		retryMin  time.Duration
	}{
		{"isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1", nil, time.Minute},
		{"isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5", nil, time.Hour},
		{"isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:10", nil, time.Minute},
		{"isv.DAY_LIMIT_CONTROL", "", nil, time.Minute},
		{"isv.MOBILE_NUMBER_ILLEGAL", "", account.ErrMobileInvalid, 0},
		{"isv.AMOUNT_NOT_ENOUGH", "", account.ErrSMSUnavailable, 0},
		{"isv.SMS_TEMPLATE_ILLEGAL", "", account.ErrSMSUnavailable, 0},
		{"isp.SYSTEM_ERROR", "", account.ErrSMSUnavailable, 0},
	}
	for _, tt := range tests {
		f.mu.Lock()
		f.code, f.msg = tt.code, tt.msg
		f.mu.Unlock()
		err := c.SendCode(ctx, "13912345678", "042517", 5*time.Minute)
		if tt.retryMin > 0 {
			e := account.ErrorOf(err)
			if e == nil || e.Kind != account.RateLimited || e.RetryAfter < tt.retryMin {
				t.Errorf("%s %s: %v, want a 429 with Retry-After ≥ %v", tt.code, tt.msg, err, tt.retryMin)
			}
			continue
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.code, err, tt.want)
		}
	}
}

func TestAliyunSignatureChecked(t *testing.T) {
	ctx := context.Background()
	for name, spoil := range map[string]func(c *Aliyun){
		"wrong secret":  func(c *Aliyun) { c.AccessSecret = "other" },
		"unknown key":   func(c *Aliyun) { c.AccessKeyID = "LTAIother" },
		"stale clock":   func(c *Aliyun) { c.Now = func() time.Time { return time.Now().Add(-time.Hour) } },
		"provider down": func(c *Aliyun) { c.Endpoint = "http://127.0.0.1:1" },
	} {
		f := &aliyunFake{}
		c := aliyunClient(t, f)
		spoil(c)
		if err := c.SendCode(ctx, "13912345678", "042517", 5*time.Minute); !errors.Is(err, account.ErrSMSUnavailable) || f.got != nil {
			t.Errorf("%s: %v (sent: %v), want sms_unavailable and nothing sent", name, err, f.got != nil)
		}
	}
	// The client's own signature agrees with the fake's on awkward characters.
	v := url.Values{"A": {"a b*c~d+e/f"}, "SignName": {"荏苒"}, "Z": {"%"}}
	if AliyunSignature("POST", v, "k") != aliyunSign("POST", v, "k") {
		t.Error("the client's percent-encoding differs from Dysms's")
	}
}

func TestUntilTomorrow(t *testing.T) {
	now := time.Date(2026, 12, 4, 15, 30, 0, 0, time.UTC) // 23:30 in China
	if d := untilTomorrow(now); d != 30*time.Minute {
		t.Errorf("untilTomorrow(23:30 CST) = %v, want 30m", d)
	}
}
