package account

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// Login throttling (docs/security.md, login throttling; docs/abuse.md). Every attempt
// reserves itself before any password is hashed: the counters are incremented atomically
// first and the attempt is refused when it lands over a limit, so N concurrent guesses
// see N different counts and only those under the limits are ever checked. A success
// settles the reservation: it clears the account's failures and takes itself back from
// the address and site counters.
//
//   - Per account (the user once the identifier resolves, so username, mobile and e-mail
//     share one budget; the identifier itself otherwise): a captcha from the 4th failure in
//     15 minutes; from the 11th, without a solved captcha, one attempt per back-off period
//     (1 s, doubling, at most 15 minutes). An attempt with a solved captcha skips the
//     back-off: an attacker can make the owner solve a captcha, never lock the owner out.
//   - Per address (IPv4 address, IPv6 /64): a captcha after 3 attempts in an hour that did
//     not succeed, 429 after 100.
//   - Site-wide: past loginSitePerMinute failed attempts in a minute every login needs a
//     captcha (429 when captcha is off), with a log line and a metric when it trips.
//
// Password login and binding share the counters, so the bind endpoint is no side door.
const (
	acctWindow       = 15 * time.Minute
	acctCaptchaAfter = 3
	acctBackoffAfter = 10
	backoffBase      = time.Second
	backoffCap       = 15 * time.Minute

	addrWindow       = time.Hour
	addrCaptchaAfter = 3
	addrLockAfter    = 100

	loginSitePerMinute = 300

	qqStatesPerAddr = 120 // per StateTTL: a QQ login every 5 s for 10 minutes

	smsPerMobileHour = 5
	smsPerMobileDay  = 10
	smsPerIPHour     = 20
	smsPerIPDay      = 50
	smsSitePerHour   = 1000
	smsSitePerDay    = 5000
	smsCaptchaAfter  = 3 // codes an address may ask for in an hour without a captcha (policy after-failures)
)

// Policy says when an action asks for a captcha.
type Policy string

// The policies (RENRAN_CAPTCHA_LOGIN, RENRAN_CAPTCHA_BIND, RENRAN_CAPTCHA_SMS).
const (
	PolicyAlways        Policy = "always"         // every request (the seed's behaviour)
	PolicyAfterFailures Policy = "after-failures" // login, bind: after 3 failures for the account or the address; SMS: after 3 codes an hour from the address

	policyVerified Policy = "verified" // internal: the caller already checked the captcha
)

// CaptchaPolicy is the policy of each protected action.
type CaptchaPolicy struct {
	Login, Bind, SMS Policy
}

func (p CaptchaPolicy) withDefaults() CaptchaPolicy {
	if p.Login == "" {
		p.Login = PolicyAfterFailures
	}
	if p.Bind == "" {
		p.Bind = PolicyAlways
	}
	if p.SMS == "" {
		p.SMS = PolicyAlways
	}
	return p
}

// peek reads a counter without counting.
func (s *Service) peek(ctx context.Context, key string) int64 {
	v, ok, err := s.kv.Get(ctx, key)
	if err != nil || !ok {
		return 0
	}
	n, _ := strconv.ParseInt(string(v), 10, 64)
	return n
}

// smsNeedsCaptcha applies the SMS policy.
func (s *Service) smsNeedsCaptcha(ctx context.Context, ip string) bool {
	if s.policy.SMS == PolicyAlways {
		return true
	}
	return s.peek(ctx, s.keys.smsAddrHour(AddrBucket(ip))) >= smsCaptchaAfter
}

// AddrBucket is the unit address limits count by: an IPv4 address, or the /64 an IPv6
// address is in (one subscriber usually holds a whole /64). Anything unparsable counts as
// itself.
func AddrBucket(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// backoff is the wait before the k-th attempt past acctBackoffAfter (k ≥ 1).
func backoff(k int64) time.Duration {
	if k > 20 {
		return backoffCap
	}
	return min(backoffBase<<(k-1), backoffCap)
}

func (s *Service) retryAfter(ctx context.Context, key string, fallback time.Duration) time.Duration {
	if d, err := s.kv.TTL(ctx, key); err == nil && d > 0 {
		return d
	}
	return fallback
}

// incr counts one against key. A counter that cannot be written is an error, never zero:
// a limit the service cannot check refuses the request (503) rather than let it through.
func (s *Service) incr(ctx context.Context, key string, window time.Duration) (int64, error) {
	n, err := s.kv.Incr(ctx, key, window)
	if err != nil {
		return 0, fmt.Errorf("account: count: %w", err)
	}
	return n, nil
}

// budget is one counter a limited action spends from: max per window, counted by key.
type budget struct {
	key      string
	window   time.Duration
	max      int64
	rule     string                     // the metric's rule when refused
	err      func(time.Duration) *Error // the refusal; nil: errRateLimited
	siteWide string                     // when set, the error logged as the site first trips it
}

// spend reserves one from each budget in order, counting before comparing, so that
// concurrent requests cannot all slip under a limit; it stops at the first one over.
func (s *Service) spend(ctx context.Context, bs ...budget) error {
	for _, b := range bs {
		n, err := s.incr(ctx, b.key, b.window)
		if err != nil {
			return err
		}
		if n <= b.max {
			continue
		}
		s.obs.Refused(b.rule)
		if n == b.max+1 && b.siteWide != "" {
			s.log.Error(b.siteWide, "rule", b.rule, "max", b.max)
		}
		refuse := b.err
		if refuse == nil {
			refuse = errRateLimited
		}
		return refuse(s.retryAfter(ctx, b.key, b.window))
	}
	return nil
}

// loginReservation is one attempt's place in the counters, settled on success.
type loginReservation struct {
	acct, gate, addr, site string
}

// reserveLogin counts the attempt and decides, before any hash, whether it may go on.
// checked says the captcha was already verified (policy always). Under after-failures the
// counters are first read without counting: an attempt that needs a captcha and has no
// valid one is refused having touched nothing; concurrent attempts that all read a low
// count are caught by the same rule after counting.
func (s *Service) reserveLogin(ctx context.Context, acctKey, ip string, c CaptchaAnswer, checked bool) (*loginReservation, error) {
	if !s.limits {
		if checked {
			return nil, nil
		}
		return nil, s.checkCaptcha(ctx, c, ip, false)
	}
	r := &loginReservation{
		acct: acctKey, gate: gateKey(acctKey), addr: s.keys.loginFailAddr(AddrBucket(ip)),
		site: s.keys.loginFailSite(),
	}
	if s.captcha != nil && !checked {
		// A ticket sent anyway is checked without reading the counters.
		if c.Ticket != "" || s.peek(ctx, r.acct) >= acctCaptchaAfter || s.peek(ctx, r.addr) >= addrCaptchaAfter || s.peek(ctx, r.site) >= loginSitePerMinute {
			if err := s.checkCaptcha(ctx, c, ip, true); err != nil {
				return nil, err
			}
			checked = true
		}
	}
	na, err := s.incr(ctx, r.addr, addrWindow)
	if err != nil {
		return nil, err
	}
	if na > addrLockAfter {
		s.obs.Refused(RuleLoginAddress)
		return nil, errTooManyLogins(s.retryAfter(ctx, r.addr, addrWindow))
	}
	nsite, err := s.incr(ctx, r.site, time.Minute)
	if err != nil {
		return nil, err
	}
	if nsite == loginSitePerMinute+1 {
		s.log.Warn("site-wide failed-login budget reached: every login needs a captcha until the minute ends", "per_minute", loginSitePerMinute)
		s.obs.Refused(RuleLoginSite)
	}
	n, err := s.incr(ctx, r.acct, acctWindow)
	if err != nil {
		return nil, err
	}
	needCaptcha := n > acctCaptchaAfter || na > addrCaptchaAfter || nsite > loginSitePerMinute
	if s.captcha == nil && nsite > loginSitePerMinute {
		return nil, errTooManyLogins(s.retryAfter(ctx, r.site, time.Minute))
	}
	if !checked {
		if err := s.checkCaptcha(ctx, c, ip, needCaptcha); err != nil {
			return nil, err
		}
	}
	solved := s.captcha != nil && c.Ticket != ""
	if n > acctBackoffAfter && !solved {
		wait := backoff(n - acctBackoffAfter)
		ok, err := s.kv.SetNX(ctx, r.gate, []byte("1"), wait)
		if err != nil {
			return nil, fmt.Errorf("account: back-off gate: %w", err)
		}
		if !ok {
			s.obs.Refused(RuleLoginAccount)
			return nil, errTooManyLogins(s.retryAfter(ctx, r.gate, wait))
		}
	}
	return r, nil
}

// settleLogin undoes a successful attempt's reservation: the account's failures are
// cleared, the address and the site get their count back.
func (s *Service) settleLogin(ctx context.Context, r *loginReservation) {
	if r == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for _, err := range []error{s.kv.Delete(ctx, r.acct), s.kv.Delete(ctx, r.gate), s.kv.Decr(ctx, r.addr), s.kv.Decr(ctx, r.site)} {
		if err != nil {
			s.log.Warn("settle login counters", "err", err)
		}
	}
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

// gateKey is the back-off gate of an account's login counter.
func gateKey(acctKey string) string { return acctKey + ":gate" }

// forgiveFailures clears a user's failed logins and back-off (after a password reset:
// the owner proved the mailbox).
func (s *Service) forgiveFailures(ctx context.Context, userID int64) {
	key := s.keys.accountKey(userID)
	_ = s.kv.Delete(ctx, key)
	_ = s.kv.Delete(ctx, gateKey(key))
}

// accountKey is the login counter of a resolved user, shared by all its identifiers.
func (k keys) accountKey(userID int64) string {
	return "login:fail:user:" + strconv.FormatInt(userID, 10)
}
