package account

import (
	"context"
	"strconv"
	"time"
)

// Login throttling (security-cases.md §2): per account, a captcha from the 5th failure in
// 15 minutes and a 429 from the 10th until the window ends; per IP, a 429 after 100
// failures in an hour. Never a permanent lock. Password login and binding share the
// counters, so the bind endpoint is no side door for guessing.
const (
	acctWindow       = 15 * time.Minute
	acctCaptchaAfter = 5
	acctLockAfter    = 10
	ipWindow         = time.Hour
	ipLockAfter      = 100

	smsPerMobileDay = 10
	smsPerIPHour    = 20
	smsPerIPDay     = 50
)

func (s *Service) count(ctx context.Context, key string) int64 {
	v, ok, err := s.kv.Get(ctx, key)
	if err != nil || !ok {
		return 0
	}
	n, _ := strconv.ParseInt(string(v), 10, 64)
	return n
}

func (s *Service) retryAfter(ctx context.Context, key string, fallback time.Duration) time.Duration {
	if d, err := s.kv.TTL(ctx, key); err == nil && d > 0 {
		return d
	}
	return fallback
}

// loginAllowed checks the counters before any password is hashed.
func (s *Service) loginAllowed(ctx context.Context, acctKey, ip string, c CaptchaAnswer) error {
	if !s.limits {
		return s.checkCaptcha(ctx, c, ip, false)
	}
	ipKey := "lf:ip:" + ip
	if s.count(ctx, ipKey) >= ipLockAfter {
		return errTooManyLogins(s.retryAfter(ctx, ipKey, ipWindow))
	}
	n := s.count(ctx, acctKey)
	if n >= acctLockAfter {
		return errTooManyLogins(s.retryAfter(ctx, acctKey, acctWindow))
	}
	return s.checkCaptcha(ctx, c, ip, n >= acctCaptchaAfter)
}

// loginFailed counts a failure against the account and the IP.
func (s *Service) loginFailed(ctx context.Context, acctKey, ip string) {
	if !s.limits {
		return
	}
	_, _ = s.kv.Incr(ctx, acctKey, acctWindow)
	_, _ = s.kv.Incr(ctx, "lf:ip:"+ip, ipWindow)
}

// checkCaptcha verifies a captcha answer when captcha is on and one is required (or one
// was sent anyway). With captcha off (nil), it passes.
func (s *Service) checkCaptcha(ctx context.Context, c CaptchaAnswer, ip string, required bool) error {
	if s.captcha == nil {
		return nil
	}
	if c.Ticket == "" {
		if required {
			return ErrCaptchaRequired
		}
		return nil
	}
	if err := s.captcha.Verify(ctx, c.Ticket, c.Randstr, ip); err != nil {
		if ErrorOf(err) != nil {
			return err
		}
		return ErrCaptchaInvalid
	}
	return nil
}
