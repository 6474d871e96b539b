// Package sms sends SMS verification codes and security notices: Dev writes them to the
// development outbox; Tencent Cloud SMS and Aliyun Dysms send them for real.
package sms

import (
	"context"
	"fmt"
	"time"

	"github.com/renran/accounts/internal/outbox"
)

// Dev "sends" codes to the development outbox, never to the console or the log.
type Dev struct {
	Outbox *outbox.Outbox
	Now    func() time.Time
}

// SendCode implements account.SMS.
func (d Dev) SendCode(_ context.Context, mobile, code string, ttl time.Duration) error {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	d.Outbox.Add(outbox.Entry{
		Kind: "sms", To: mobile, Code: code, At: now().UTC(),
		Body: fmt.Sprintf("【荏苒资讯】你的验证码是 %s，%d 分钟内有效。如非本人操作，请忽略本短信。", code, int(ttl.Minutes())),
	})
	return nil
}

// SendNotice implements account.NoticeSMS: the notice goes to the outbox, with no code.
func (d Dev) SendNotice(_ context.Context, mobile, what string) error {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	d.Outbox.Add(outbox.Entry{
		Kind: "sms", To: mobile, At: now().UTC(),
		Body: "【荏苒资讯】你的账号刚刚" + what + "。如非本人操作，请立即登录修改密码并检查绑定信息。",
	})
	return nil
}
