package account

import (
	"context"
	"time"
)

// NoticeSMS is what an SMS provider does when it can also send security notices: an
// optional capability, since a notice needs a template of its own approved by the
// provider. what is one short phrase (at most 12 characters, the providers' limit for a
// template parameter), e.g. "关联了QQ".
type NoticeSMS interface {
	SendNotice(ctx context.Context, mobile, what string) error
}

// notice is a security notice: what happened to the account, told to its owner.
type notice struct {
	mail string // the mail's sentence
	sms  string // the same in at most 12 characters, the SMS template's parameter
}

// The notices the service sends.
var (
	noticePassChange = notice{"你的荏苒账号的密码刚刚被修改。", "修改了密码"}
	noticePassReset  = notice{"你的荏苒账号的密码刚刚通过邮件链接重置。", "重置了密码"}
	noticeUnlinkQQ   = notice{"你的荏苒账号刚刚解除了与 QQ 的关联。", "解除了QQ关联"}
	noticeEmailSet   = notice{"", "设置了邮箱"}
)

func noticeLinkQQ(nick string) notice {
	return notice{"你的荏苒账号刚刚关联了 QQ（" + nick + "）。", "关联了QQ"}
}

// noticesPerDay bounds the SMS notices one mobile gets in a day: a notice costs money,
// and a user who changes the password in a loop should not run up the bill.
const noticesPerDay = 10

// notify tells u's owner what happened: by mail when the account has a confirmed
// address, else by SMS to its mobile when the provider can send notices. Neither waits:
// mail is queued, the SMS is sent in the background (at most cap(noticeSlots) at once;
// past that the notice is dropped and logged rather than hold the request).
func (s *Service) notify(u User, n notice) {
	if u.Email != "" {
		s.sendMail(noticeMail(u.Email, u.Nickname, n.mail))
		return
	}
	s.notifySMS(u, n)
}

// notifySMS sends n by SMS to u's mobile, whatever e-mail the account has.
func (s *Service) notifySMS(u User, n notice) {
	if s.notices == nil || u.Mobile == "" {
		return
	}
	select {
	case s.noticeSlots <- struct{}{}:
	default:
		s.log.Warn("security notice dropped: too many being sent", "user", u.ID, "what", n.sms)
		return
	}
	go func() {
		defer func() { <-s.noticeSlots }()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := s.spend(ctx, budget{key: s.keys.noticeDay(u.Mobile), window: 24 * time.Hour, max: noticesPerDay, rule: "notice_mobile_day"}); err != nil {
			s.log.Warn("security notice by SMS not sent: the mobile's daily limit, or the counter could not be read", "user", u.ID, "what", n.sms, "err", err)
			return
		}
		// One attempt: a provider that failed may still have delivered, and two notices
		// are worse than a logged miss.
		if err := s.notices.SendNotice(ctx, u.Mobile, n.sms); err != nil {
			s.log.Warn("security notice by SMS failed", "user", u.ID, "what", n.sms, "err", err)
		}
	}()
}
