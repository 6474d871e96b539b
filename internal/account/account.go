package account

import (
	"context"
	"errors"
	"time"
)

// User is a Renran account.
type User struct {
	ID           int64
	Username     string
	Mobile       string // empty when none
	Email        string // lower-case; empty when none
	Nickname     string
	Avatar       string
	PasswordHash string // argon2id PHC string, or a Django hash kept from an import until the next login; empty: no password
	TokenVersion int64
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// ProviderQQ names QQ Connect identities.
const ProviderQQ = "qq"

// Identity is a QQ identity bound to a user. Tokens are sealed (encrypted) before they
// reach the store.
type Identity struct {
	ID             int64
	Provider       string
	AppID          string // an openid belongs to one QQ app
	OpenID         string
	UnionID        string // empty unless the app has the unionid permission
	UserID         int64
	Nickname       string // QQ nickname when bound
	Avatar         string
	AccessToken    []byte // sealed
	RefreshToken   []byte // sealed
	TokenExpiresAt time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// AuditEvent records a security-relevant event.
type AuditEvent struct {
	UserID    int64 // 0 when unknown
	Event     string
	IP        string
	UserAgent string
	Detail    string // never a secret
	At        time.Time
}

// Audit event names.
const (
	EventLoginOK     = "login_ok"
	EventLoginFailed = "login_failed"
	EventQQLogin     = "qq_login"
	EventQQBind      = "qq_bind"
	EventRegister    = "register"
	EventLogout      = "logout"
	EventLogoutAll   = "logout_all"
	EventEmailSet    = "email_set"
	EventQQUnbind    = "qq_unbind"
	EventPassChange  = "password_change"
	EventPassReset   = "password_reset"
	EventSessionEnd  = "session_end"   // a session ended from the user centre
	EventTokenReuse  = "refresh_reuse" // a refresh token presented twice: the session ended
)

// SessionRecord is a session: one login on one device, until it is ended or expires.
type SessionRecord struct {
	ID         string
	UserID     int64
	Method     string // how it logged in: password, qq, register, reset…
	Remember   bool   // 记住我: 30 days sliding; otherwise the browser session
	IP         string
	UserAgent  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// SessionTouch is a session seen at a time.
type SessionTouch struct {
	ID string
	At time.Time
}

// RefreshOutcome says what presenting a refresh token did.
type RefreshOutcome int

const (
	// RefreshRotated: the token was unused; it is spent and the new one recorded.
	RefreshRotated RefreshOutcome = iota
	// RefreshInGrace: the token was the one spent last, within the grace window (two tabs
	// refreshing at once); the new one is recorded beside the other successor.
	RefreshInGrace
	// RefreshReused: the token was spent before: it leaked; the session is ended.
	RefreshReused
)

// SigningKey is an access-token signing key as stored: the Ed25519 private key sealed.
type SigningKey struct {
	ID         string
	Public     []byte
	Sealed     []byte
	CreatedAt  time.Time
	ActiveFrom time.Time
}

// ErrNoRows is returned by a Store for a lookup that found nothing.
var ErrNoRows = errors.New("account: no rows")

// Store keeps users, identities and audit events. Implementations translate unique
// constraint violations into ErrQQBound, ErrAccountHasQQ, ErrMobileTaken, ErrNicknameTaken,
// ErrUsernameTaken or ErrEmailTaken.
type Store interface {
	UserByID(ctx context.Context, id int64) (User, error)
	// UserForToken returns the user with id and whether the token jti was logged out, in
	// one read: the whole cost of authenticating a request.
	UserForToken(ctx context.Context, id int64, jti string) (User, bool, error)
	// UserByLogin finds a user by exactly one of username, mobile or (lower-case) email.
	UserByLogin(ctx context.Context, kind LoginKind, value string) (User, error)
	// IdentityByOpenID returns a bound identity and its user in one read.
	IdentityByOpenID(ctx context.Context, provider, appID, openID string) (Identity, User, error)
	// IdentityByUnionID returns the oldest identity of provider with unionID (the same person
	// through another of the provider's apps) and its user.
	IdentityByUnionID(ctx context.Context, provider, unionID string) (Identity, User, error)
	IdentitiesByUser(ctx context.Context, userID int64) ([]Identity, error)
	// The writes that change an account take the audit events that record the change and
	// write them in the same transaction (an event without a user id gets the user's).
	CreateUser(ctx context.Context, u User, events ...AuditEvent) (User, error)
	// CreateUserWithIdentity creates the user and binds the identity in one transaction.
	CreateUserWithIdentity(ctx context.Context, u User, id Identity, events ...AuditEvent) (User, Identity, error)
	BindIdentity(ctx context.Context, id Identity, events ...AuditEvent) (Identity, error)
	// DeleteIdentity removes the user's identity of provider and says how many went.
	DeleteIdentity(ctx context.Context, userID int64, provider string, events ...AuditEvent) (int64, error)
	UpdateIdentityTokens(ctx context.Context, ids []Identity) error
	AppendAudit(ctx context.Context, events []AuditEvent) error
	// RecentAuditEvents lists a user's n newest events, newest first.
	RecentAuditEvents(ctx context.Context, userID int64, n int) ([]AuditEvent, error)
	// BumpTokenVersion moves the token version on and ends every live session of the user.
	BumpTokenVersion(ctx context.Context, userID int64, events ...AuditEvent) (int64, error)
	SetPasswordHash(ctx context.Context, userID int64, hash string) error
	// ChangePassword sets a new hash and revokes every token of the user (new version,
	// every live session ended).
	ChangePassword(ctx context.Context, userID int64, hash string, events ...AuditEvent) (int64, error)
	// SetEmail sets the confirmed e-mail; another user's address is ErrEmailTaken.
	SetEmail(ctx context.Context, userID int64, email string, events ...AuditEvent) error
	// CreateSession records a new session and its first refresh token (by hash).
	CreateSession(ctx context.Context, sess SessionRecord, refreshHash []byte) error
	// UserForSession returns the user with id and its live session sid (not ended, not
	// expired at now) in one read: the whole cost of authenticating a request. A session
	// that is not live, or is another user's, is ErrNoRows.
	UserForSession(ctx context.Context, userID int64, sid string, now time.Time) (User, SessionRecord, error)
	// ProfileForSession is UserForSession with the user's identities in the same read (for
	// the profile: ID, Provider, AppID, Nickname, Avatar and CreatedAt are set, never the
	// tokens), oldest first, an empty slice for none.
	ProfileForSession(ctx context.Context, userID int64, sid string, now time.Time) (User, SessionRecord, []Identity, error)
	// RotateRefresh spends the refresh token whose hash is old, in one transaction, and
	// says what happened (see RefreshOutcome): the new token next is recorded unless the
	// session ends. expires gives the session's new expiry; reuse is the audit event of a
	// detected reuse. A token that is unknown, or whose session is no longer live, is
	// ErrNoRows.
	RotateRefresh(ctx context.Context, old, next []byte, now time.Time, grace time.Duration, expires func(SessionRecord) time.Time, reuse AuditEvent) (User, SessionRecord, RefreshOutcome, error)
	// ListSessions returns the user's live sessions, the most recently seen first.
	ListSessions(ctx context.Context, userID int64, now time.Time) ([]SessionRecord, error)
	// EndSession ends the user's live session sid and says whether there was one.
	EndSession(ctx context.Context, userID int64, sid, reason string, events ...AuditEvent) (bool, error)
	// TouchSessions records when sessions were last seen (batched by the journal).
	TouchSessions(ctx context.Context, touches []SessionTouch) error
	// PurgeSessions deletes sessions that ended or expired before t, with their refresh
	// tokens, and says how many.
	PurgeSessions(ctx context.Context, t time.Time) (int64, error)
	// SigningKeys returns every access-token signing key; AddSigningKey stores a new one.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	AddSigningKey(ctx context.Context, k SigningKey) error
	// RevokeToken records a logged-out token until expires; PurgeRevoked drops the
	// records of tokens that expired before t.
	RevokeToken(ctx context.Context, jti string, userID int64, expires time.Time, events ...AuditEvent) error
	PurgeRevoked(ctx context.Context, t time.Time) (int64, error)
	Ping(ctx context.Context) error
}

// KV holds short-lived records with a time to live. Take is an atomic get-and-delete.
type KV interface {
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error)
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Take(ctx context.Context, key string) ([]byte, bool, error)
	Delete(ctx context.Context, key string) error
	Incr(ctx context.Context, key string, window time.Duration) (int64, error)
	// Decr takes one back from a live counter, not below zero, keeping its window.
	Decr(ctx context.Context, key string) error
	TTL(ctx context.Context, key string) (time.Duration, error)
	Ping(ctx context.Context) error
}

// SMS sends verification codes.
type SMS interface {
	SendCode(ctx context.Context, mobile, code string, ttl time.Duration) error
}

// MailMessage is one mail the service sends; Link is its action link (also in the text).
type MailMessage struct {
	To, Subject, Text, HTML, Link string
}

// Mailer queues mails; delivery (and its retries) happens in the background.
type Mailer interface {
	Enqueue(m MailMessage) error
}

// Captcha verifies a Tencent captcha ticket. A nil Captcha means captcha is off.
type Captcha interface {
	Verify(ctx context.Context, ticket, randstr, ip string) error
}

// Client describes who is asking: for throttling and the audit log.
type Client struct {
	IP        string
	UserAgent string
}

// CaptchaAnswer is what Tencent's front-end callback gives.
type CaptchaAnswer struct {
	Ticket, Randstr string
}
