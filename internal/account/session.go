package account

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/renran/accounts/internal/token"
)

// Lifetimes of sessions and their tokens.
const (
	// DefaultAccessTTL is how long an access token lives unless Options say otherwise.
	DefaultAccessTTL = 15 * time.Minute
	// RememberTTL is a 记住我 session's lifetime, renewed by every refresh (sliding): the
	// pages keep its tokens in localStorage.
	RememberTTL = 30 * 24 * time.Hour
	// BrowserSessionTTL is the lifetime of a session without 记住我, also sliding. The
	// pages keep its tokens in sessionStorage, which the browser forgets with the tab;
	// the server forgets the session after this long without a refresh.
	BrowserSessionTTL = 12 * time.Hour
	// RefreshGrace is how long the refresh token spent last may be presented again (two
	// tabs refreshing at once, or an answer lost on the way) without counting as a reuse.
	RefreshGrace = 30 * time.Second
	// seenEvery is how often a session's last-seen time is written at most.
	seenEvery = time.Minute
)

// Login methods recorded on sessions.
const (
	MethodPassword = "password"
	MethodRegister = "register"
)

// sessionTTL is how long a session lives after its last renewal.
func sessionTTL(remember bool) time.Duration {
	if remember {
		return RememberTTL
	}
	return BrowserSessionTTL
}

// issueInput says what session a login opens.
type issueInput struct {
	Remember bool
	Method   string // MethodPassword, MethodRegister, or a provider's name
	Client   Client
	Next     string
}

// issue opens a session for u and returns its login: an access token for the session and
// its first refresh token.
func (s *Service) issue(ctx context.Context, u User, in issueInput) (Login, error) {
	now := s.now()
	rec := SessionRecord{ID: randomToken(16), UserID: u.ID, Method: in.Method, Remember: in.Remember, IP: in.Client.IP, UserAgent: in.Client.userAgent(),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(sessionTTL(in.Remember))}
	refresh := randomToken(32)
	if err := s.store.CreateSession(ctx, rec, hashRefresh(refresh)); err != nil {
		return Login{}, fmt.Errorf("account: create session: %w", err)
	}
	return s.login(u, rec, refresh, in.Next)
}

// login signs an access token for session rec of u.
func (s *Service) login(u User, rec SessionRecord, refresh, next string) (Login, error) {
	tok, _, err := s.tokens.Issue(u.ID, u.CreatedAt.UnixMilli(), u.TokenVersion, rec.ID, s.accessTTL)
	if err != nil {
		return Login{}, fmt.Errorf("account: issue token: %w", err)
	}
	return Login{Token: tok, RefreshToken: refresh, ExpiresIn: int64(s.accessTTL / time.Second), Session: rec, User: u, Next: SafeNext(next)}, nil
}

// hashRefresh is what the store keeps of a refresh token.
func hashRefresh(t string) []byte {
	h := sha256.Sum256([]byte(t))
	return h[:]
}

// wellFormedRefresh reports whether t looks like a refresh token (32 random bytes,
// base64url), so that anything else costs no database read.
func wellFormedRefresh(t string) bool {
	if len(t) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(t)
	return err == nil
}

// Refresh spends a refresh token for a new access token and a new refresh token of the
// same session. A token presented a second time (outside RefreshGrace for the one spent
// last) means it leaked: the session ends for both holders, with an audit event.
func (s *Service) Refresh(ctx context.Context, refresh string, cl Client) (Login, error) {
	if refresh == "" {
		return Login{}, ErrRefreshRequired
	}
	if !wellFormedRefresh(refresh) {
		return Login{}, ErrRefreshInvalid
	}
	next := randomToken(32)
	u, rec, out, err := s.store.RotateRefresh(ctx, hashRefresh(refresh), hashRefresh(next), s.now(), RefreshGrace,
		func(r SessionRecord) time.Time { return s.now().Add(sessionTTL(r.Remember)) }, s.event(0, EventTokenReuse, cl, ""))
	switch {
	case errors.Is(err, ErrNoRows):
		return Login{}, ErrRefreshInvalid
	case err != nil:
		return Login{}, fmt.Errorf("account: refresh: %w", err)
	case out == RefreshReused:
		s.log.Warn("refresh token presented twice: session ended", "user", rec.UserID, "session", rec.ID[:6])
		return Login{}, ErrSessionReused
	case u.Disabled:
		return Login{}, ErrRefreshInvalid
	}
	return s.login(u, rec, next, "")
}

// Sessions lists the live sessions of the session's user, the most recently seen first.
func (s *Service) Sessions(ctx context.Context, sess Session) ([]SessionRecord, error) {
	list, err := s.store.ListSessions(ctx, sess.User.ID, s.now())
	if err != nil {
		return nil, fmt.Errorf("account: list sessions: %w", err)
	}
	return list, nil
}

// EndSession ends one of the user's own sessions (退出此设备); another user's, an ended or an
// unknown one is ErrSessionNotFound, the same answer for all.
func (s *Service) EndSession(ctx context.Context, sess Session, id string, cl Client) error {
	if id == "" || len(id) > 64 {
		return ErrSessionNotFound
	}
	ok, err := s.store.EndSession(ctx, sess.User.ID, id, "user_centre", s.event(sess.User.ID, EventSessionEnd, cl, ""))
	if err != nil {
		return fmt.Errorf("account: end session: %w", err)
	}
	if !ok {
		return ErrSessionNotFound
	}
	return nil
}

// Session is an authenticated request: its user, its token and its session (zero for a
// legacy token, which has none).
type Session struct {
	User   User
	Claims token.Claims
	Record SessionRecord
}

// Authenticate verifies an access token and that its session is live: the user exists, is
// the one the token was issued to, is enabled and has the token's version, and the session
// was not ended and has not expired. Nothing about revocation is cached (only the
// signature check, in token.Issuer): an ended session's tokens are refused at once, on
// every instance. A token of the first release (HS256, no session) is honoured until it
// expires unless it was logged out.
func (s *Service) Authenticate(ctx context.Context, tok string) (Session, error) {
	sess, _, err := s.authenticate(ctx, tok, false)
	return sess, err
}

// AuthenticateProfile is Authenticate and Me in one read of the store: what GET /users/me/
// needs.
func (s *Service) AuthenticateProfile(ctx context.Context, tok string) (Session, Profile, error) {
	sess, ids, err := s.authenticate(ctx, tok, true)
	if err != nil {
		return Session{}, Profile{}, err
	}
	if ids == nil { // a legacy token: no session to read them with
		p, err := s.Me(ctx, sess)
		return sess, p, err
	}
	return sess, Profile{User: sess.User, Identities: ids}, nil
}

// authenticate is Authenticate, reading the user's identities too when profile is set
// (nil for a legacy token).
func (s *Service) authenticate(ctx context.Context, tok string, profile bool) (Session, []Identity, error) {
	c, err := s.tokens.Verify(tok)
	if errors.Is(err, token.ErrUnknownKey) && s.keyring.reloadForUnknown(ctx) {
		c, err = s.tokens.Verify(tok) // another instance may have rotated the key
	}
	if err != nil {
		return Session{}, nil, ErrUnauthenticated
	}
	var u User
	var rec SessionRecord
	var ids []Identity
	switch {
	case c.Legacy():
		var revoked bool
		u, revoked, err = s.store.UserForToken(ctx, c.UserID, c.ID)
		if err == nil && revoked {
			return Session{}, nil, ErrUnauthenticated
		}
	case profile:
		u, rec, ids, err = s.store.ProfileForSession(ctx, c.UserID, c.SessionID, s.now())
	default:
		u, rec, err = s.store.UserForSession(ctx, c.UserID, c.SessionID, s.now())
	}
	if errors.Is(err, ErrNoRows) {
		return Session{}, nil, ErrUnauthenticated
	}
	if err != nil {
		return Session{}, nil, fmt.Errorf("account: load user: %w", err)
	}
	// The creation time tells this user from an earlier one that had the same id.
	if u.Disabled || u.TokenVersion != c.Version || u.CreatedAt.UnixMilli() != c.Created {
		return Session{}, nil, ErrUnauthenticated
	}
	if !c.Legacy() && s.now().Sub(rec.LastSeenAt) >= seenEvery {
		s.journal.add(journalItem{touch: &SessionTouch{ID: rec.ID, At: s.now()}})
	}
	return Session{User: u, Claims: c, Record: rec}, ids, nil
}
