package account

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/renran/accounts/internal/password"
	"github.com/renran/accounts/internal/secret"
	"github.com/renran/accounts/internal/token"
)

// Lifetimes and limits of the flows.
const (
	StateTTL        = 10 * time.Minute // matches QQ's code lifetime
	PendingTTL      = 10 * time.Minute
	PendingAttempts = 5 // failed bind/register attempts before a pending identity is dropped
	SMSCodeTTL      = 5 * time.Minute
	SMSResendAfter  = 60 * time.Second
	SMSMaxTries     = 5
)

// Options configure a Service.
type Options struct {
	Store Store
	KV    KV
	// Providers are the OAuth login providers, by Name (QQ today).
	Providers []Provider
	SMS       SMS
	// Notices sends security notices by SMS to accounts without a confirmed e-mail; nil:
	// none (the provider needs a notice template of its own).
	Notices NoticeSMS
	Captcha Captcha // nil: captcha off
	// Mailer sends mails (confirmation, recovery, notices); nil: none are sent.
	Mailer Mailer
	// PublicURL is the site's external base URL, the only base of links in mails.
	PublicURL string
	// CaptchaPolicy says, per action, when a captcha is asked (zero value: the defaults,
	// after failures for login, always for binding and SMS).
	CaptchaPolicy CaptchaPolicy
	Hasher        *password.Hasher
	Secret        []byte // the master secret; keys per purpose are derived from it
	Limits        bool   // rate limits on (off only for load tests in development)
	Logger        *slog.Logger
	Now           func() time.Time
	AccessTTL     time.Duration // access tokens' lifetime; 0: DefaultAccessTTL
	QueueLen      int           // audit/journal queue length; 0: 4096
	Observer      Observer      // counts for /metrics; nil: none
}

// Service runs the account flows.
type Service struct {
	store       Store
	kv          KV
	providers   map[string]Provider
	sms         SMS
	captcha     Captcha
	policy      CaptchaPolicy
	mailer      Mailer
	forgotSlots chan struct{} // password resets being prepared in the background
	notices     NoticeSMS     // nil: no security notices by SMS
	noticeSlots chan struct{} // SMS notices being sent in the background
	publicURL   string
	hasher      *password.Hasher
	tokens      *token.Issuer
	keyring     *keyring
	accessTTL   time.Duration
	box         *secret.Box // seals QQ tokens and pending records
	smsKey      []byte      // HMAC key for stored SMS codes
	keys        keys
	limits      bool
	log         *slog.Logger
	now         func() time.Time
	journal     *journal
	obs         Observer
	hashes      *hashGate

	stop, stopped chan struct{} // housekeeping
	closeOnce     sync.Once

	readyMu  sync.Mutex
	readyAt  time.Time // wall clock of the last probe
	readyErr error
	probing  bool
}

// New returns a Service; Close it to flush the audit journal.
func New(o Options) (*Service, error) {
	if len(o.Secret) < secret.MinLen {
		return nil, errors.New("account: secret shorter than 32 bytes")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Observer == nil {
		o.Observer = noObserver{}
	}
	iss, err := token.NewIssuer(secret.Derive(o.Secret, "jwt"), o.Now)
	if err != nil {
		return nil, err
	}
	box, err := secret.NewBox(secret.Derive(o.Secret, "seal"))
	if err != nil {
		return nil, err
	}
	keyBox, err := signingKeyBox(o.Secret)
	if err != nil {
		return nil, err
	}
	if o.AccessTTL <= 0 {
		o.AccessTTL = DefaultAccessTTL
	}
	s := &Service{
		store: o.Store, kv: o.KV, providers: map[string]Provider{}, sms: o.SMS, captcha: o.Captcha, policy: o.CaptchaPolicy.withDefaults(), mailer: o.Mailer, publicURL: strings.TrimRight(o.PublicURL, "/"), hasher: o.Hasher,
		tokens: iss, box: box, smsKey: secret.Derive(o.Secret, "sms-code"), keys: keys{secret.Derive(o.Secret, "kv-key")},
		limits: o.Limits, log: o.Logger, now: o.Now, obs: o.Observer, hashes: newHashGate(),
		forgotSlots: make(chan struct{}, 64), notices: o.Notices, noticeSlots: make(chan struct{}, 16), readyErr: errNotProbed, accessTTL: o.AccessTTL,
		keyring: &keyring{store: o.Store, box: keyBox, iss: iss, now: o.Now, accessTTL: o.AccessTTL, log: o.Logger},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err = s.keyring.load(ctx)
	cancel()
	if err != nil {
		return nil, err
	}
	for _, p := range o.Providers {
		s.providers[p.Name()] = p
	}
	s.journal = startJournal(o.Store, o.Logger, o.QueueLen)
	s.stop = make(chan struct{})
	s.stopped = make(chan struct{})
	go s.housekeeping(KeyReload, time.Hour)
	return s, nil
}

// Close stops housekeeping and flushes pending audit events and identity updates.
func (s *Service) Close() {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.stopped
		for range cap(s.forgotSlots) { // password resets still being prepared finish first
			s.forgotSlots <- struct{}{}
		}
		for range cap(s.noticeSlots) { // and SMS notices still being sent
			s.noticeSlots <- struct{}{}
		}
		s.journal.close()
	})
}

// housekeeping reloads the signing keys every keysEvery (a rotation reaches every
// instance) and purges expired token revocations and old sessions every purgeEvery.
// Every instance runs it; the DELETEs are idempotent, so running them on several at once
// costs a little and breaks nothing.
func (s *Service) housekeeping(keysEvery, purgeEvery time.Duration) {
	defer close(s.stopped)
	keys := time.NewTicker(keysEvery)
	defer keys.Stop()
	purge := time.NewTicker(purgeEvery)
	defer purge.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-keys.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := s.keyring.load(ctx); err != nil {
				s.log.Warn("reload signing keys", "err", err)
			}
			cancel()
		case <-purge.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if n, err := s.store.PurgeRevoked(ctx, s.now()); err != nil {
				s.log.Warn("purge revoked tokens", "err", err)
			} else if n > 0 {
				s.log.Info("purged revoked tokens", "count", n)
			}
			// Ended or expired sessions are kept a day, then go with their refresh tokens.
			if n, err := s.store.PurgeSessions(ctx, s.now().Add(-24*time.Hour)); err != nil {
				s.log.Warn("purge sessions", "err", err)
			} else if n > 0 {
				s.log.Info("purged sessions", "count", n)
			}
			cancel()
		}
	}
}

// readyFor is how long a readiness answer is kept, so that a flood of probes costs one
// write a period.
const readyFor = 500 * time.Millisecond

// errNotProbed is the readiness answer before the first probe has finished.
var errNotProbed = errors.New("account: readiness not probed yet")

// Ready reports whether the store and the short-lived store answer and take writes. One
// probe runs at a time, outside the lock; callers meanwhile get the last answer.
func (s *Service) Ready(ctx context.Context) error {
	s.readyMu.Lock()
	if s.probing || (!s.readyAt.IsZero() && time.Since(s.readyAt) < readyFor) {
		err := s.readyErr
		s.readyMu.Unlock()
		return err
	}
	s.probing = true
	s.readyMu.Unlock()
	err := s.probe(ctx)
	s.readyMu.Lock()
	s.readyAt, s.readyErr, s.probing = time.Now(), err, false
	s.readyMu.Unlock()
	return err
}

func (s *Service) probe(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return fmt.Errorf("account: store: %w", err)
	}
	if err := s.kv.Ping(ctx); err != nil {
		return fmt.Errorf("account: kv: %w", err)
	}
	if err := s.kv.Set(ctx, "ready:probe", []byte("1"), time.Minute); err != nil {
		return fmt.Errorf("account: kv write: %w", err)
	}
	return nil
}

// Login is a successful login: the access token, the refresh token and the session they
// belong to, and the user they are for.
type Login struct {
	Token        string
	RefreshToken string
	ExpiresIn    int64 // the access token's lifetime, seconds
	Session      SessionRecord
	User         User
	Next         string
}

// LoginInput is a password login.
type LoginInput struct {
	Account  string
	Password string
	Remember bool
	Captcha  CaptchaAnswer
	Next     string
	Client   Client
}

// LoginPassword logs in with an account (username, mobile or e-mail) and a password. Every
// credential failure answers ErrInvalidCredentials, after the same hashing work.
func (s *Service) LoginPassword(ctx context.Context, in LoginInput) (Login, error) {
	if in.Account == "" {
		return Login{}, ErrAccountRequired
	}
	if in.Password == "" {
		return Login{}, ErrPasswordRequired
	}
	u, err := s.checkPassword(ctx, in.Account, in.Password, in.Captcha, in.Client, s.policy.Login)
	if err != nil {
		return Login{}, err
	}
	s.audit(u.ID, EventLoginOK, in.Client, "password")
	return s.issue(ctx, u, issueInput{Remember: in.Remember, Method: MethodPassword, Client: in.Client, Next: in.Next})
}

// checkPassword is the credential check shared by password login and binding to an
// existing account: throttle, captcha, look-up, verify, count failures.
func (s *Service) checkPassword(ctx context.Context, account, pw string, c CaptchaAnswer, cl Client, policy Policy) (User, error) {
	return s.verifyPassword(ctx, pw, c, cl, policy, func() (User, string, bool, error) {
		kind, value := ParseLogin(account)
		// Too long, not UTF-8, or holding a NUL: nobody's login (PostgreSQL text cannot
		// even hold the last two). Still hashed, for even timing.
		if len(pw) > 4*password.MaxLen || len(value) > 254 || !utf8.ValidString(value) || strings.ContainsRune(value, 0) {
			return User{}, s.keys.loginFailAccount(kind, value), false, nil
		}
		u, err := s.store.UserByLogin(ctx, kind, value)
		switch {
		case err == nil:
			// One budget per account, whichever identifier names it.
			return u, s.keys.accountKey(u.ID), true, nil
		case errors.Is(err, ErrNoRows):
			// An identifier that names nobody has a budget of its own, so unknown and known
			// accounts behave alike.
			return User{}, s.keys.loginFailAccount(kind, value), false, nil
		default:
			return User{}, "", false, fmt.Errorf("account: look up login: %w", err)
		}
	})
}

// verifyPassword checks pw against the user look returns (found false: nobody, checked
// against a dummy hash all the same) under the login throttle keyed by its account key.
// A captcha that is always asked is checked before anything else: a request without a
// valid ticket looks nobody up, counts nothing and hashes nothing.
func (s *Service) verifyPassword(ctx context.Context, pw string, c CaptchaAnswer, cl Client, policy Policy,
	look func() (u User, acctKey string, found bool, err error)) (User, error) {
	checked := policy == policyVerified
	if policy == PolicyAlways && s.captcha != nil {
		if err := s.checkCaptcha(ctx, c, cl.IP, true); err != nil {
			return User{}, err
		}
		checked = true
	}
	release, err := s.hashes.enter(cl.IP) // a flood from one address waits on nothing
	if err != nil {
		return User{}, err
	}
	defer release()
	u, acctKey, found, err := look()
	if err != nil {
		return User{}, err
	}
	res, err := s.reserveLogin(ctx, acctKey, cl.IP, c, checked)
	if err != nil {
		return User{}, err
	}
	hash := ""
	if found {
		hash = u.PasswordHash
	}
	ok, rehash, err := s.hasher.Verify(ctx, hash, truncateForTiming(pw))
	if err != nil {
		return User{}, fmt.Errorf("account: verify password: %w", err)
	}
	if !ok || u.Disabled || len(pw) > 4*password.MaxLen {
		s.audit(u.ID, EventLoginFailed, cl, "") // the failure was counted by the reservation
		return User{}, ErrInvalidCredentials
	}
	s.settleLogin(ctx, res)
	if rehash {
		if h, err := s.hasher.Hash(ctx, pw); err == nil {
			if err := s.store.SetPasswordHash(ctx, u.ID, h); err != nil {
				s.log.Warn("rehash password", "user", u.ID, "err", err)
			}
		}
	}
	return u, nil
}

// truncateForTiming bounds what is hashed for a password too long to be valid, so an
// oversized password costs no more than a normal one.
func truncateForTiming(pw string) string {
	if len(pw) > 4*password.MaxLen {
		return pw[:4*password.MaxLen]
	}
	return pw
}

// Profile is what /users/me/ shows.
type Profile struct {
	User       User
	Identities []Identity
}

// Me returns the session user's profile and linked identities.
func (s *Service) Me(ctx context.Context, sess Session) (Profile, error) {
	ids, err := s.store.IdentitiesByUser(ctx, sess.User.ID)
	if err != nil {
		return Profile{}, fmt.Errorf("account: load identities: %w", err)
	}
	return Profile{User: sess.User, Identities: ids}, nil
}

// RecentEvents is what happened to the account lately: its 20 newest security events.
// Events that record no change (logins, failures) are batched and appear within a moment.
func (s *Service) RecentEvents(ctx context.Context, sess Session) ([]AuditEvent, error) {
	evs, err := s.store.RecentAuditEvents(ctx, sess.User.ID, 20)
	if err != nil {
		return nil, fmt.Errorf("account: recent events: %w", err)
	}
	return evs, nil
}

// Logout ends the request's session, or with all every session of the user (and every
// token of the first release).
func (s *Service) Logout(ctx context.Context, sess Session, all bool, cl Client) error {
	if all {
		if _, err := s.store.BumpTokenVersion(ctx, sess.User.ID, s.event(sess.User.ID, EventLogoutAll, cl, "")); err != nil {
			return fmt.Errorf("account: bump token version: %w", err)
		}
		return nil
	}
	if !sess.Claims.Legacy() {
		if _, err := s.store.EndSession(ctx, sess.User.ID, sess.Record.ID, "logout", s.event(sess.User.ID, EventLogout, cl, "")); err != nil {
			return fmt.Errorf("account: end session: %w", err)
		}
		return nil
	}
	// Kept a minute past expiry, which covers the verifier's leeway. In the database, not
	// the short-lived store: a logout must hold on every instance and survive a restart.
	expires := sess.Claims.ExpiresAt.Add(time.Minute)
	if err := s.store.RevokeToken(ctx, sess.Claims.ID, sess.User.ID, expires, s.event(sess.User.ID, EventLogout, cl, "")); err != nil {
		return fmt.Errorf("account: revoke token: %w", err)
	}
	return nil
}

// audit queues an event that records no change (a login, a failure); it never blocks on
// the database. An event that records a change is written with it (event).
func (s *Service) audit(userID int64, event string, cl Client, detail string) {
	e := s.event(userID, event, cl, detail)
	s.journal.add(journalItem{event: &e})
}

// event is an audit event for the store to write in the transaction of the change it
// records; userID 0 means the user the write creates.
func (s *Service) event(userID int64, event string, cl Client, detail string) AuditEvent {
	return AuditEvent{UserID: userID, Event: event, IP: cl.IP, UserAgent: cl.userAgent(), Detail: detail, At: s.now()}
}

// userAgent is the client's user agent as stored (audit events, sessions): at most 256
// bytes, cut at a character boundary.
func (cl Client) userAgent() string { return TruncateUTF8(cl.UserAgent, 256) }

// randomToken returns n random bytes, base64url without padding.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
