package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/renran/accounts/internal/password"
)

// E-mail on the account, password recovery by e-mail, and password change.
const (
	EmailConfirmTTL = 24 * time.Hour
	ResetTokenTTL   = 30 * time.Minute

	forgotPerAddrHour  = 10
	forgotPerEmailHour = 3
)

type emailRecord struct {
	UserID int64  `json:"u"`
	Email  string `json:"e"`
}

type resetRecord struct {
	UserID  int64  `json:"u"`
	Version int64  `json:"v"` // the user's token version when issued: a password change kills it
	Name    string `json:"n"` // the token's key, to tell the newest from a superseded one
}

// link is a page of the site with a token in its query. Always the public URL: never the
// request's Host or X-Forwarded-Host.
func (s *Service) link(page, token string) string {
	return s.publicURL + page + "?token=" + token
}

// RequestEmail starts adding or changing the account's e-mail: the password is checked
// (counted by the login throttle), and a confirmation link goes to the new address. The
// address becomes the account's, for login and recovery, only once confirmed.
func (s *Service) RequestEmail(ctx context.Context, sess Session, email, pw string, cl Client) error {
	addr, ok := NormalizeEmail(email)
	if !ok {
		return ErrEmailInvalid
	}
	if pw == "" {
		return ErrPasswordRequired
	}
	if _, err := s.checkOwnPassword(ctx, sess, pw, cl); err != nil {
		return err
	}
	token := randomToken(32)
	rec, _ := json.Marshal(emailRecord{UserID: sess.User.ID, Email: addr})
	if err := s.kv.Set(ctx, s.keys.emailConfirm(token), rec, EmailConfirmTTL); err != nil {
		return fmt.Errorf("account: store email confirmation: %w", err)
	}
	s.sendMail(confirmMail(addr, sess.User.Nickname, s.link("/confirm-email", token)))
	return nil
}

// ConfirmEmail makes the address of a confirmation link the account's, once; the old
// address, if any, is told.
func (s *Service) ConfirmEmail(ctx context.Context, token string, cl Client) error {
	if token == "" || len(token) > 128 {
		return ErrEmailTokenInvalid
	}
	raw, ok, err := s.kv.Take(ctx, s.keys.emailConfirm(token))
	if err != nil {
		return fmt.Errorf("account: take email confirmation: %w", err)
	}
	var rec emailRecord
	if !ok || json.Unmarshal(raw, &rec) != nil {
		return ErrEmailTokenInvalid
	}
	u, err := s.store.UserByID(ctx, rec.UserID)
	if errors.Is(err, ErrNoRows) {
		return ErrEmailTokenInvalid
	}
	if err != nil {
		return fmt.Errorf("account: load user: %w", err)
	}
	if err := s.store.SetEmail(ctx, u.ID, rec.Email, s.event(u.ID, EventEmailSet, cl, "")); err != nil {
		return err
	}
	switch {
	case u.Email == "":
		s.notifySMS(u, noticeEmailSet) // a first address is news to the mobile's owner
	case u.Email != rec.Email:
		s.notify(u, notice{mail: "你的荏苒账号的邮箱已更换为 " + rec.Email + "。"})
	}
	return nil
}

// ForgotPassword sends a reset link to a confirmed address. The answer is the same for
// unknown, unconfirmed and known addresses, and takes the same time: only the limits are
// checked before it; the look-up, the token and the mail happen in the background (at most
// 64 at once). Limited per address bucket and per e-mail, counted before anything else.
func (s *Service) ForgotPassword(ctx context.Context, email string, cl Client) error {
	addr, ok := NormalizeEmail(email)
	if !ok {
		return ErrEmailInvalid
	}
	if s.limits {
		if err := s.spend(ctx,
			budget{key: s.keys.forgotAddr(AddrBucket(cl.IP)), window: time.Hour, max: forgotPerAddrHour, rule: RuleForgotAddress},
			budget{key: s.keys.forgotEmail(addr), window: time.Hour, max: forgotPerEmailHour, rule: RuleForgotEmail},
		); err != nil {
			return err
		}
	}
	// Everything that depends on whether the address is known happens after the answer,
	// so the answer takes the same time for every address.
	select {
	case s.forgotSlots <- struct{}{}:
		go func() {
			defer func() { <-s.forgotSlots }()
			bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := s.sendReset(bg, addr); err != nil {
				s.log.Error("password reset mail", "err", err)
			}
		}()
	default:
		s.log.Warn("too many password resets in progress; one was dropped")
	}
	return nil
}

// sendReset issues a reset token for the account with the confirmed address addr, if any,
// and mails the link.
func (s *Service) sendReset(ctx context.Context, addr string) error {
	u, err := s.store.UserByLogin(ctx, ByEmail, addr)
	if errors.Is(err, ErrNoRows) || (err == nil && u.Disabled) {
		// The same work as for a known address, minus the mail, so that even the load it
		// puts on the machine does not tell the two apart.
		token := randomToken(32)
		name := s.keys.resetToken(token)
		rec, _ := json.Marshal(resetRecord{Name: name})
		_ = s.kv.Set(ctx, s.keys.resetToken("decoy"), rec, time.Second)
		_ = s.kv.Set(ctx, s.keys.resetToken("decoy-user"), []byte(name), time.Second)
		return nil
	}
	if err != nil {
		return fmt.Errorf("account: look up email: %w", err)
	}
	token := randomToken(32)
	name := s.keys.resetToken(token)
	rec, _ := json.Marshal(resetRecord{UserID: u.ID, Version: u.TokenVersion, Name: name})
	if err := s.kv.Set(ctx, name, rec, ResetTokenTTL); err != nil {
		return fmt.Errorf("account: store reset token: %w", err)
	}
	if err := s.kv.Set(ctx, s.keys.resetUser(u.ID), []byte(name), ResetTokenTTL); err != nil {
		return fmt.Errorf("account: store reset token: %w", err)
	}
	s.sendMail(resetMail(u.Email, u.Nickname, s.link("/reset-password", token)))
	return nil
}

// ResetPassword sets a new password with a reset token: single use, ResetTokenTTL, dead
// when a newer one was issued or the password changed since. Every token (JWT) issued
// before stops working. An unknown, used, expired or superseded token is one answer. The
// token is read and judged first and used up only when the new password is acceptable, so
// a refused password leaves it usable.
func (s *Service) ResetPassword(ctx context.Context, token, pw string, cl Client) error {
	if token == "" || len(token) > 128 {
		return ErrResetTokenInvalid
	}
	if pw == "" {
		return ErrPasswordRequired
	}
	name := s.keys.resetToken(token)
	var rec resetRecord
	raw, ok, err := s.kv.Get(ctx, name)
	if err != nil {
		return fmt.Errorf("account: get reset token: %w", err)
	}
	if !ok || json.Unmarshal(raw, &rec) != nil || rec.Name != name {
		return ErrResetTokenInvalid
	}
	newest, ok, err := s.kv.Get(ctx, s.keys.resetUser(rec.UserID))
	if err != nil {
		return fmt.Errorf("account: get reset token: %w", err)
	}
	if !ok || string(newest) != name {
		return ErrResetTokenInvalid
	}
	u, err := s.store.UserByID(ctx, rec.UserID)
	if errors.Is(err, ErrNoRows) || (err == nil && (u.Disabled || u.TokenVersion != rec.Version)) {
		return ErrResetTokenInvalid
	}
	if err != nil {
		return fmt.Errorf("account: load user: %w", err)
	}
	if err := passwordErr(password.Check(pw, u.Mobile, u.Nickname, u.Username, u.Email)); err != nil {
		return err
	}
	// Used up now, atomically: of two requests with the same token, one goes on.
	if _, ok, err := s.kv.Take(ctx, name); err != nil || !ok {
		if err != nil {
			return fmt.Errorf("account: take reset token: %w", err)
		}
		return ErrResetTokenInvalid
	}
	if _, err := s.setPassword(ctx, u, pw, EventPassReset, cl); err != nil {
		return err
	}
	s.forgiveFailures(ctx, u.ID) // the owner proved the mailbox
	s.notify(u, noticePassReset)
	return nil
}

// ChangePassword sets a new password for a logged-in user who knows the old one (counted
// by the login throttle). Every other token stops working; the new login is returned.
func (s *Service) ChangePassword(ctx context.Context, sess Session, oldPW, newPW string, cl Client) (Login, error) {
	if oldPW == "" || newPW == "" {
		return Login{}, ErrPasswordRequired
	}
	u, err := s.checkOwnPassword(ctx, sess, oldPW, cl)
	if err != nil {
		return Login{}, err
	}
	if err := passwordErr(password.Check(newPW, u.Mobile, u.Nickname, u.Username, u.Email)); err != nil {
		return Login{}, err
	}
	if u, err = s.setPassword(ctx, u, newPW, EventPassChange, cl); err != nil {
		return Login{}, err
	}
	s.notify(u, noticePassChange)
	// Every session ended with the change; this browser gets a new one, as remembered as before.
	return s.issue(ctx, u, issueInput{Remember: sess.Record.Remember, Method: MethodPassword, Client: cl, Next: "/user"})
}

// setPassword hashes pw and stores it, moving the token version on (every earlier token,
// and every reset link, stops working), with the audit event event. It returns u as it is
// now.
func (s *Service) setPassword(ctx context.Context, u User, pw, event string, cl Client) (User, error) {
	h, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return User{}, fmt.Errorf("account: hash password: %w", err)
	}
	v, err := s.store.ChangePassword(ctx, u.ID, h, s.event(u.ID, event, cl, ""))
	if err != nil {
		return User{}, err
	}
	_ = s.kv.Delete(ctx, s.keys.resetUser(u.ID))
	u.TokenVersion, u.PasswordHash = v, h
	return u, nil
}

// checkOwnPassword checks a logged-in user's password through the login check (its
// throttle and back-off; no captcha: the session stands for it). The session already
// holds the user: nothing is looked up again.
func (s *Service) checkOwnPassword(ctx context.Context, sess Session, pw string, cl Client) (User, error) {
	return s.verifyPassword(ctx, pw, CaptchaAnswer{}, cl, policyVerified, func() (User, string, bool, error) {
		return sess.User, s.keys.accountKey(sess.User.ID), true, nil
	})
}

func (s *Service) sendMail(m MailMessage) {
	if s.mailer == nil || m.To == "" {
		return
	}
	_ = s.mailer.Enqueue(m)
}

func confirmMail(to, nick, link string) MailMessage {
	text := fmt.Sprintf("%s，你好：\n\n请打开下面的链接，确认这个邮箱属于你的荏苒账号（24 小时内有效）：\n\n%s\n\n如果这不是你本人的操作，请忽略这封邮件，你的账号不会有任何变化。\n\n荏苒资讯", nick, link)
	return MailMessage{To: to, Subject: "【荏苒资讯】请确认你的邮箱", Text: text, HTML: htmlMail(text, link), Link: link}
}

func resetMail(to, nick, link string) MailMessage {
	text := fmt.Sprintf("%s，你好：\n\n有人（希望是你）申请重置荏苒账号的密码。请在 30 分钟内打开下面的链接设置新密码，链接只能使用一次：\n\n%s\n\n如果这不是你本人的操作，请忽略这封邮件：你的密码不会改变。若多次收到此类邮件，建议登录后修改密码。\n\n荏苒资讯", nick, link)
	return MailMessage{To: to, Subject: "【荏苒资讯】重置密码", Text: text, HTML: htmlMail(text, link), Link: link}
}

func noticeMail(to, nick, what string) MailMessage {
	text := fmt.Sprintf("%s，你好：\n\n%s\n\n如果这不是你本人的操作，请立即通过“忘记密码”重置密码，并检查账号的绑定信息。\n\n荏苒资讯", nick, what)
	return MailMessage{To: to, Subject: "【荏苒资讯】账号安全提醒", Text: text, HTML: htmlMail(text, "")}
}

// htmlMail is the HTML part: the text, escaped, with the link as a button.
func htmlMail(text, link string) string {
	var b strings.Builder
	b.WriteString(`<!doctype html><html lang="zh-CN"><body style="font-family:sans-serif;line-height:1.6;color:#222">`)
	for _, p := range strings.Split(text, "\n\n") {
		if p == link && link != "" {
			b.WriteString(`<p><a href="` + html.EscapeString(link) + `" style="display:inline-block;padding:10px 18px;background:#ea6f5a;color:#fff;border-radius:20px;text-decoration:none">打开链接</a></p><p style="font-size:12px;color:#555">` + html.EscapeString(link) + `</p>`)
			continue
		}
		b.WriteString("<p>" + strings.ReplaceAll(html.EscapeString(p), "\n", "<br>") + "</p>")
	}
	b.WriteString("</body></html>")
	return b.String()
}
