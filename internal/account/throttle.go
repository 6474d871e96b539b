package account

import (
	"context"
	"fmt"
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

// count reads a counter. A counter that cannot be read is an error, never zero: a limit
// the service cannot check refuses the request (503) rather than letting it through.
func (s *Service) count(ctx context.Context, key string) (int64, error) {
	v, ok, err := s.kv.Get(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("account: read counter: %w", err)
	}
	if !ok {
		return 0, nil
	}
	n, _ := strconv.ParseInt(string(v), 10, 64)
	return n, nil
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
	ipKey := s.keys.loginFailAddr(ip)
	n, err := s.count(ctx, ipKey)
	if err != nil {
		return err
	}
	if n >= ipLockAfter {
		s.obs.Refused(RuleLoginAddress)
		return errTooManyLogins(s.retryAfter(ctx, ipKey, ipWindow))
	}
	if n, err = s.count(ctx, acctKey); err != nil {
		return err
	}
	if n >= acctLockAfter {
		s.obs.Refused(RuleLoginAccount)
		return errTooManyLogins(s.retryAfter(ctx, acctKey, acctWindow))
	}
	return s.checkCaptcha(ctx, c, ip, n >= acctCaptchaAfter)
}

// loginFailed counts a failure against the account and the IP. When the count cannot be
// written the caller answers 503, not 401: an uncounted guess must not get an answer.
func (s *Service) loginFailed(ctx context.Context, acctKey, ip string) error {
	if !s.limits {
		return nil
	}
	if _, err := s.kv.Incr(ctx, acctKey, acctWindow); err != nil {
		return fmt.Errorf("account: count failed login: %w", err)
	}
	if _, err := s.kv.Incr(ctx, s.keys.loginFailAddr(ip), ipWindow); err != nil {
		return fmt.Errorf("account: count failed login: %w", err)
	}
	return nil
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
