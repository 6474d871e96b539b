// Package sms sends SMS verification codes. Dev writes them to the development outbox;
// real providers (Tencent Cloud, Aliyun, Ronglian) come in a later step.
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
		Body: fmt.Sprintf("【荏苒资讯】您的验证码是 %s，%d 分钟内有效。如非本人操作，请忽略本短信。", code, int(ttl.Minutes())),
	})
	return nil
}
