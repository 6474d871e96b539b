package account

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/renran/accounts/internal/password"
)

// PurposeRegister is the SMS code purpose for a new account, with or without QQ.
const PurposeRegister = "register"

var purposes = map[string]bool{PurposeRegister: true}

// SMSInput asks for a code to be sent.
type SMSInput struct {
	Mobile  string
	Purpose string
	Captcha CaptchaAnswer
	Client  Client
}

// SMSSent says when the code expires and when another may be asked for.
type SMSSent struct {
	ExpiresIn   time.Duration
	ResendAfter time.Duration
}

type smsRecord struct {
	MAC   []byte `json:"mac"`   // HMAC(key, mobile‖purpose‖code): the code itself is never stored
	Nonce string `json:"nonce"` // names this code's try counter
}

// SendSMSCode sends a 6-digit code, valid SMSCodeTTL, to a mainland mobile. One send per
// SMSResendAfter per mobile, daily caps per mobile and hourly per IP; a registered and an
// unregistered mobile get the same answer. A new code replaces the previous one.
func (s *Service) SendSMSCode(ctx context.Context, in SMSInput) (SMSSent, error) {
	mobile, ok := NormalizeMobile(in.Mobile)
	if !ok {
		return SMSSent{}, ErrMobileInvalid
	}
	if !purposes[in.Purpose] {
		return SMSSent{}, ErrPurposeInvalid
	}
	if err := s.checkCaptcha(ctx, in.Captcha, in.Client.IP, s.smsNeedsCaptcha(ctx, in.Client.IP)); err != nil {
		return SMSSent{}, err
	}
	if s.limits {
		if err := s.smsAllowed(ctx, mobile, in.Client.IP); err != nil {
			return SMSSent{}, err
		}
	}
	code, err := sixDigits()
	if err != nil {
		return SMSSent{}, err
	}
	rec, _ := json.Marshal(smsRecord{MAC: s.smsMAC(mobile, in.Purpose, code), Nonce: randomToken(12)})
	key := s.keys.smsCode(in.Purpose, mobile)
	if err := s.kv.Set(ctx, key, rec, SMSCodeTTL); err != nil {
		return SMSSent{}, fmt.Errorf("account: store sms code: %w", err)
	}
	if err := s.sms.SendCode(ctx, mobile, code, SMSCodeTTL); err != nil {
		s.obs.SMS(false)
		s.log.Error("send sms code", "err", err)
		// Not sent, so not counted: the code is dropped, and the mobile's interval and
		// budgets and the site's get their reservation back (the address keeps its count:
		// that one is about who asks, not about what was sent).
		bg := context.WithoutCancel(ctx)
		_ = s.kv.Delete(bg, key)
		if s.limits {
			_ = s.kv.Delete(bg, s.keys.smsInterval(mobile))
			for _, k := range []string{s.keys.smsMobileHour(mobile), s.keys.smsMobileDay(mobile), s.keys.smsSiteHour(), s.keys.smsSiteDay()} {
				_ = s.kv.Decr(bg, k)
			}
		}
		if ErrorOf(err) != nil {
			return SMSSent{}, err // the provider's limit (429), an outage (503), a bad number
		}
		return SMSSent{}, ErrSMSSendFailed
	}
	s.obs.SMS(true)
	return SMSSent{ExpiresIn: SMSCodeTTL, ResendAfter: SMSResendAfter}, nil
}

// smsAllowed reserves one send against every SMS budget, in order: the address (IPv4, or
// IPv6 /64), the mobile's 60-second interval, the mobile's hour and day, and last the
// site's hour and day (so that only a code about to be sent counts there). Each counter
// is incremented before it is compared, so concurrent requests cannot all slip under a
// limit. A site budget that trips is logged as an error: SMS pumping costs money.
func (s *Service) smsAllowed(ctx context.Context, mobile, ip string) error {
	bucket := AddrBucket(ip)
	if err := s.spend(ctx,
		budget{key: s.keys.smsAddrHour(bucket), window: time.Hour, max: smsPerIPHour, rule: RuleSMSAddrHour},
		budget{key: s.keys.smsAddrDay(bucket), window: 24 * time.Hour, max: smsPerIPDay, rule: RuleSMSAddrDay},
	); err != nil {
		return err
	}
	interval := s.keys.smsInterval(mobile)
	ok, err := s.kv.SetNX(ctx, interval, []byte("1"), SMSResendAfter)
	if err != nil {
		return fmt.Errorf("account: sms interval: %w", err)
	}
	if !ok {
		s.obs.Refused(RuleSMSInterval)
		return errSMSTooFrequent(s.retryAfter(ctx, interval, SMSResendAfter))
	}
	return s.spend(ctx,
		budget{key: s.keys.smsMobileHour(mobile), window: time.Hour, max: smsPerMobileHour, rule: RuleSMSMobileHr, err: errSMSTooFrequent},
		budget{key: s.keys.smsMobileDay(mobile), window: 24 * time.Hour, max: smsPerMobileDay, rule: RuleSMSMobileDay, err: errSMSTooFrequent},
		budget{key: s.keys.smsSiteHour(), window: time.Hour, max: smsSitePerHour, rule: RuleSMSSiteHour,
			siteWide: "site-wide SMS budget reached: no more codes are sent until the window ends"},
		budget{key: s.keys.smsSiteDay(), window: 24 * time.Hour, max: smsSitePerDay, rule: RuleSMSSiteDay,
			siteWide: "site-wide SMS budget reached: no more codes are sent until the window ends"},
	)
}

func (s *Service) smsMAC(mobile, purpose, code string) []byte {
	m := hmac.New(sha256.New, s.smsKey)
	m.Write([]byte(mobile + "\x00" + purpose + "\x00" + code))
	return m.Sum(nil)
}

func sixDigits() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("account: random code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// checkSMSCode verifies a code without using it up; the returned func uses it up once
// the work it guards has succeeded. Every try counts, and after SMSMaxTries the code is
// dead even when the next guess is right.
func (s *Service) checkSMSCode(ctx context.Context, mobile, purpose, code string) (func(), error) {
	key := s.keys.smsCode(purpose, mobile)
	raw, ok, err := s.kv.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("account: get sms code: %w", err)
	}
	if !ok || len(code) != 6 {
		return nil, ErrSMSCodeInvalid
	}
	var rec smsRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, ErrSMSCodeInvalid
	}
	tries, err := s.kv.Incr(ctx, s.keys.smsTries(rec.Nonce), SMSCodeTTL)
	if err != nil {
		return nil, fmt.Errorf("account: count sms tries: %w", err)
	}
	if tries > SMSMaxTries {
		_ = s.kv.Delete(ctx, key)
		return nil, ErrSMSCodeDead
	}
	if !hmac.Equal(rec.MAC, s.smsMAC(mobile, purpose, code)) {
		return nil, ErrSMSCodeInvalid
	}
	return func() { _ = s.kv.Delete(context.WithoutCancel(ctx), key) }, nil
}

// RegisterInput registers a new account (also tab 没有账号).
type RegisterInput struct {
	Nickname string
	Mobile   string
	SMSCode  string
	Password string
	Client   Client
}

// Register creates an account from a nickname, a mobile proven by an SMS code and a
// password. Whether the mobile is taken is told only after the code proves ownership.
func (s *Service) Register(ctx context.Context, in RegisterInput, next string) (Login, error) {
	u, consume, err := s.prepareUser(ctx, in)
	if err != nil {
		return Login{}, err
	}
	created, err := s.createWithRetry(u, func(u User) (User, error) {
		return s.store.CreateUser(ctx, u, s.event(0, EventRegister, in.Client, ""))
	})
	if err != nil {
		return Login{}, err
	}
	consume()
	return s.issue(ctx, created, issueInput{Method: MethodRegister, Client: in.Client, Next: next})
}

// prepareUser validates a registration, checks the SMS code and hashes the password.
func (s *Service) prepareUser(ctx context.Context, in RegisterInput) (User, func(), error) {
	nick, ok := NormalizeNickname(in.Nickname)
	if !ok {
		return User{}, nil, ErrNicknameInvalid
	}
	mobile, ok := NormalizeMobile(in.Mobile)
	if !ok {
		return User{}, nil, ErrMobileInvalid
	}
	if err := passwordErr(password.Check(in.Password, mobile, nick)); err != nil {
		return User{}, nil, err
	}
	consume, err := s.checkSMSCode(ctx, mobile, PurposeRegister, in.SMSCode)
	if err != nil {
		return User{}, nil, err
	}
	release, err := s.hashes.enter(in.Client.IP)
	if err != nil {
		return User{}, nil, err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	release()
	if err != nil {
		return User{}, nil, fmt.Errorf("account: hash password: %w", err)
	}
	now := s.now()
	return User{Mobile: mobile, Nickname: nick, PasswordHash: hash, TokenVersion: 1, CreatedAt: now, UpdatedAt: now}, consume, nil
}

// createWithRetry gives the user a generated username and creates it, trying another
// username in the unlikely case of a clash.
func (s *Service) createWithRetry(u User, create func(User) (User, error)) (User, error) {
	for i := 0; ; i++ {
		u.Username = "rr_" + RandomName(10)
		created, err := create(u)
		if errors.Is(err, ErrUsernameTaken) && i < 3 {
			continue
		}
		return created, err
	}
}

// RandomName is n lower-case letters and digits, without the ones people confuse (l, o,
// 0, 1): for generated usernames and nicknames.
func RandomName(n int) string {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func passwordErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, password.ErrTooShort):
		return ErrPasswordTooShort
	case errors.Is(err, password.ErrTooLong):
		return ErrPasswordTooLong
	case errors.Is(err, password.ErrCommon):
		return ErrPasswordCommon
	case errors.Is(err, password.ErrPersonal):
		return ErrPasswordPersonal
	}
	return ErrPasswordTooShort
}
