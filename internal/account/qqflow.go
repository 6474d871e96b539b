package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// QQStart is the beginning of a QQ login: where to send the browser, and the state the
// browser must keep in its cookie.
type QQStart struct {
	URL   string
	State string
	Next  string
}

type stateRecord struct {
	Provider string `json:"provider,omitempty"` // "" in states minted before providers: qq
	App      string `json:"app,omitempty"`      // the provider's app the code will come from; "": its default
	Next     string `json:"next"`
	// A link intent: the logged-in user (id and creation time) the QQ identity is for.
	Link        int64 `json:"link,omitempty"`
	LinkCreated int64 `json:"link_created,omitempty"`
	Remember    bool  `json:"remember,omitempty"` // 记住我 on the login page: the session lasts 30 days
}

// Begin mints a state (256 random bits in hex) for provider's authorize URL and
// remembers the sanitised next with it on the server for StateTTL (ErrNotFound for a
// provider that is not registered).
//
// An address may mint qqStatesPerAddr states per StateTTL, so it never holds more live
// states than that (each costs the short-lived store about 100 bytes for 10 minutes).
// remember is the login page's 记住我, carried to the session the login opens.
func (s *Service) Begin(ctx context.Context, provider, next string, remember, mobile bool, cl Client) (QQStart, error) {
	return s.begin(ctx, stateRecord{Provider: provider, Next: next, Remember: remember}, mobile, cl)
}

// BeginLink is Begin for a logged-in user linking the provider to the account: the state
// remembers the user, and only that user's session can finish it.
func (s *Service) BeginLink(ctx context.Context, provider string, sess Session, next string, mobile bool, cl Client) (QQStart, error) {
	return s.begin(ctx, stateRecord{Provider: provider, Next: next, Link: sess.User.ID, LinkCreated: sess.User.CreatedAt.UnixMilli()}, mobile, cl)
}

// begin mints a state for st.Provider's authorize URL.
func (s *Service) begin(ctx context.Context, st stateRecord, mobile bool, cl Client) (QQStart, error) {
	p, ok := s.providers[st.Provider]
	if !ok {
		return QQStart{}, ErrNotFound
	}
	if s.limits {
		if err := s.spend(ctx, budget{key: s.keys.qqStatesAddr(AddrBucket(cl.IP)), window: StateTTL, max: qqStatesPerAddr, rule: RuleQQStates}); err != nil {
			return QQStart{}, err
		}
	}
	next := SafeNext(st.Next)
	st.Next = next
	// Hex, not base64url: WeChat's official account takes only letters and digits in state
	// (at most 128 bytes); 256 bits either way.
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	state := hex.EncodeToString(b)
	u, app := p.AuthorizeURL(state, Browser{Mobile: mobile, UserAgent: cl.UserAgent})
	if app != p.AppID() {
		st.App = app
	}
	rec, _ := json.Marshal(st)
	if err := s.kv.Set(ctx, s.keys.qqState(state), rec, StateTTL); err != nil {
		return QQStart{}, fmt.Errorf("account: store state: %w", err)
	}
	s.obs.QQStep(StepAuthorize)
	return QQStart{URL: u, State: state, Next: next}, nil
}

// QQCallback is what the callback page forwards: QQ's code and state, and the state the
// browser's cookie holds.
type QQCallback struct {
	Code        string
	State       string
	CookieState string
	Client      Client
	Session     *Session // the caller's session, if any: needed to finish a link state
}

// QQResult is either a login (a returning user) or a pending identity (a first-time user
// who must bind an existing account or register).
type QQResult struct {
	Login   *Login
	Pending *Pending
	Linked  *Linked
}

// Linked is a QQ identity linked to the logged-in user from the user centre.
type Linked struct {
	Identity Identity
	Next     string
}

// Pending is a first-time QQ user waiting to bind or register. Handle goes to the page;
// Browser goes only into an HttpOnly cookie; both are needed to use it.
type Pending struct {
	Handle   string
	Browser  string
	Nickname string
	Avatar   string
	Next     string
	Remember bool // 记住我 was ticked on the login page
}

// pendingRecord is kept server-side, sealed, under a digest of the handle. The QQ tokens
// never leave the server.
type pendingRecord struct {
	Provider  string    `json:"provider,omitempty"` // "" in records from before providers: qq
	AppID     string    `json:"app_id"`
	OpenID    string    `json:"openid"`
	UnionID   string    `json:"unionid,omitempty"`
	Nickname  string    `json:"nickname"`
	Avatar    string    `json:"avatar"`
	Access    string    `json:"access"`
	Refresh   string    `json:"refresh"`
	ExpiresIn int64     `json:"expires_in"`
	Next      string    `json:"next"`
	Remember  bool      `json:"remember,omitempty"`
	Browser   []byte    `json:"browser"` // SHA-256 of the browser secret
	Attempts  int       `json:"attempts"`
	Expires   time.Time `json:"expires"`
}

// Finish handles the provider's callback. The state is checked against the browser's
// cookie and used up before anything else, so a bad state costs no call to the provider.
// Then the code is exchanged once (QQ: fmt=json&need_openid=1 gives the openid with the
// token), and a bound subject logs in: one call to QQ for a returning user; a link state
// links to the logged-in user; anyone else becomes a pending identity. No transaction is
// open meanwhile.
func (s *Service) Finish(ctx context.Context, provider string, cb QQCallback) (QQResult, error) {
	p, ok := s.providers[provider]
	if !ok {
		return QQResult{}, ErrNotFound
	}
	if cb.State == "" || len(cb.State) > 128 || len(cb.CookieState) != len(cb.State) ||
		subtle.ConstantTimeCompare([]byte(cb.State), []byte(cb.CookieState)) != 1 {
		return QQResult{}, ErrStateInvalid
	}
	raw, ok, err := s.kv.Take(ctx, s.keys.qqState(cb.State))
	if err != nil {
		return QQResult{}, fmt.Errorf("account: take state: %w", err)
	}
	if !ok {
		return QQResult{}, ErrStateInvalid
	}
	var st stateRecord
	if err := json.Unmarshal(raw, &st); err != nil || orQQ(st.Provider) != provider {
		return QQResult{}, ErrStateInvalid // a state minted for another provider is no good here
	}
	// A link state is finished only by the session of the user who started it: with no
	// session, or another user's, it is invalid and nothing is bound.
	if st.Link != 0 && (cb.Session == nil || cb.Session.User.ID != st.Link || cb.Session.User.CreatedAt.UnixMilli() != st.LinkCreated) {
		return QQResult{}, ErrStateInvalid
	}
	s.obs.QQStep(StepCallback)
	if cb.Code == "" || len(cb.Code) > 256 {
		return QQResult{}, ErrQQCancelled
	}

	appID := p.AppID()
	if st.App != "" {
		appID = st.App
	}
	ext, err := p.Identify(ctx, appID, cb.Code)
	if err != nil {
		return QQResult{}, s.providerErr(p, "identify", err)
	}
	ext.AppID = appID

	if st.Link != 0 {
		return s.linkIdentity(ctx, *cb.Session, st, p, ext, cb.Client)
	}
	id, u, err := s.store.IdentityByOpenID(ctx, p.Name(), appID, ext.Subject)
	switch {
	case err == nil:
		if u.Disabled {
			s.audit(u.ID, EventLoginFailed, cb.Client, "qq: disabled account")
			return QQResult{}, ErrInvalidCredentials
		}
		id.AccessToken, id.RefreshToken, id.TokenExpiresAt = s.sealTokens(p.Name(), id.OpenID, ext.AccessToken, ext.RefreshToken, ext.ExpiresIn)
		id.UpdatedAt = s.now()
		s.journal.add(journalItem{identity: &id})
		s.audit(u.ID, providerEvent(p.Name(), EventQQLogin), cb.Client, "")
		s.obs.QQStep(StepReturning)
		l, err := s.issue(ctx, u, issueInput{Remember: st.Remember, Method: p.Name(), Client: cb.Client, Next: st.Next})
		if err != nil {
			return QQResult{}, err
		}
		return QQResult{Login: &l}, nil
	case !errors.Is(err, ErrNoRows):
		return QQResult{}, fmt.Errorf("account: look up identity: %w", err)
	}
	if r, ok, err := s.sameUnionID(ctx, p, ext, st, cb.Client); ok || err != nil {
		return r, err
	}

	// A first-time user: the profile only prefills the form, so a failure is no reason to
	// stop the login (docs/qq-connect.md §11.11).
	nick, avatar := s.profile(ctx, p, ext)
	pend := Pending{Handle: randomToken(32), Browser: randomToken(32), Nickname: nick, Avatar: avatar, Next: st.Next, Remember: st.Remember}
	bh := sha256.Sum256([]byte(pend.Browser))
	rec := pendingRecord{
		Provider: p.Name(), AppID: appID, OpenID: ext.Subject, UnionID: ext.UnionID, Nickname: nick, Avatar: avatar,
		Access: ext.AccessToken, Refresh: ext.RefreshToken, ExpiresIn: ext.ExpiresIn, Next: st.Next, Remember: st.Remember,
		Browser: bh[:], Expires: s.now().Add(PendingTTL),
	}
	if err := s.putPending(ctx, pend.Handle, rec); err != nil {
		return QQResult{}, err
	}
	s.obs.QQStep(StepPending)
	return QQResult{Pending: &pend}, nil
}

// sameUnionID logs in a person new to this app whom another app of the same provider knows
// by the same unionid (WeChat: the website app, then the official account inside WeChat):
// the new openid is bound to that account as an identity of its own, and the login is a
// returning one. Without a unionid, openids of different apps are different people, and
// nothing is guessed (ok false).
func (s *Service) sameUnionID(ctx context.Context, p Provider, ext External, st stateRecord, cl Client) (QQResult, bool, error) {
	if ext.UnionID == "" {
		return QQResult{}, false, nil
	}
	known, u, err := s.store.IdentityByUnionID(ctx, p.Name(), ext.UnionID)
	switch {
	case errors.Is(err, ErrNoRows):
		return QQResult{}, false, nil
	case err != nil:
		return QQResult{}, false, fmt.Errorf("account: look up unionid: %w", err)
	case u.Disabled:
		s.audit(u.ID, EventLoginFailed, cl, p.Name()+": disabled account")
		return QQResult{}, true, ErrInvalidCredentials
	}
	rec := pendingRecord{Provider: p.Name(), AppID: ext.AppID, OpenID: ext.Subject, UnionID: ext.UnionID, Nickname: known.Nickname,
		Avatar: known.Avatar, Access: ext.AccessToken, Refresh: ext.RefreshToken, ExpiresIn: ext.ExpiresIn}
	if _, err := s.store.BindIdentity(ctx, s.identityFrom(rec, u.ID),
		s.event(u.ID, providerEvent(p.Name(), EventQQBind), cl, "same person in app "+known.AppID+" (unionid)")); err != nil {
		return QQResult{}, true, err
	}
	s.audit(u.ID, providerEvent(p.Name(), EventQQLogin), cl, "")
	s.obs.QQStep(StepReturning)
	l, err := s.issue(ctx, u, issueInput{Remember: st.Remember, Method: p.Name(), Client: cl, Next: st.Next})
	if err != nil {
		return QQResult{}, true, err
	}
	return QQResult{Login: &l}, true, nil
}

// otherPerson refuses to give user a second identity of provider that is not the same
// person: the same app (the database refuses it too), or another app unless both carry the
// same unionid. ErrAccountHasQQ (account_has_<provider>).
func (s *Service) otherPerson(ctx context.Context, userID int64, provider, appID, unionID string) error {
	ids, err := s.store.IdentitiesByUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("account: load identities: %w", err)
	}
	for _, id := range ids {
		if id.Provider != provider {
			continue
		}
		if id.AppID == appID || unionID == "" || id.UnionID != unionID {
			return ErrAccountHasQQ
		}
	}
	return nil
}

// orQQ reads a provider name from a record made before there were providers.
func orQQ(name string) string {
	if name == "" {
		return ProviderQQ
	}
	return name
}

// profile asks the provider for nickname and avatar. They only prefill the form, so a
// failure is no reason to stop the login (docs/qq-connect.md §11.11).
func (s *Service) profile(ctx context.Context, p Provider, ext External) (string, string) {
	nick, avatar, err := p.Profile(ctx, ext)
	if err != nil { // not a failed login: logged, not counted in the funnel
		s.log.Warn("provider profile failed; continuing without it", "provider", p.Name(), "err", err)
		return "", ""
	}
	return nick, avatar
}

func (s *Service) sealTokens(provider, openID, access, refresh string, expiresIn int64) ([]byte, []byte, time.Time) {
	ad := []byte(provider + ":" + openID)
	var exp time.Time
	if expiresIn > 0 {
		exp = s.now().Add(time.Duration(expiresIn) * time.Second)
	}
	var sr []byte
	if refresh != "" {
		sr = s.box.Seal([]byte(refresh), ad)
	}
	return s.box.Seal([]byte(access), ad), sr, exp
}

func (s *Service) putPending(ctx context.Context, handle string, rec pendingRecord) error {
	ttl := rec.Expires.Sub(s.now())
	if ttl <= 0 || rec.Attempts >= PendingAttempts {
		return nil // used up: let it go
	}
	key := s.keys.qqPending(handle)
	plain, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("account: encode pending: %w", err)
	}
	if err := s.kv.Set(ctx, key, s.box.Seal(plain, []byte(key)), ttl); err != nil {
		return fmt.Errorf("account: store pending: %w", err)
	}
	return nil
}

// peekPending reads a pending identity without claiming it: it must exist and belong to
// this browser. Every failure is the same ErrPendingGone.
func (s *Service) peekPending(ctx context.Context, handle, browser string) (pendingRecord, error) {
	if handle == "" || browser == "" || len(handle) > 128 || len(browser) > 128 {
		return pendingRecord{}, ErrPendingGone
	}
	key := s.keys.qqPending(handle)
	raw, ok, err := s.kv.Get(ctx, key)
	if err != nil {
		return pendingRecord{}, fmt.Errorf("account: get pending: %w", err)
	}
	if !ok {
		return pendingRecord{}, ErrPendingGone
	}
	rec, err := s.openPending(key, raw)
	if err != nil {
		return pendingRecord{}, ErrPendingGone
	}
	bh := sha256.Sum256([]byte(browser))
	if subtle.ConstantTimeCompare(bh[:], rec.Browser) != 1 {
		return pendingRecord{}, ErrPendingGone
	}
	return rec, nil
}

// ResumePending tells the callback page, reloaded while a first-time login waits for 已有账号
// or 没有账号, what it showed: the provider's nickname and avatar, and next. Only the
// browser that started it, with the handle, gets an answer; the identity is not used up.
func (s *Service) ResumePending(ctx context.Context, provider, handle, browser string) (Pending, error) {
	rec, err := s.peekPending(ctx, handle, browser)
	if err != nil {
		return Pending{}, err
	}
	if orQQ(rec.Provider) != orQQ(provider) {
		return Pending{}, ErrPendingGone
	}
	return Pending{Handle: handle, Nickname: rec.Nickname, Avatar: rec.Avatar, Next: rec.Next, Remember: rec.Remember}, nil
}

// takePending claims a pending identity for one attempt: it must exist, belong to this
// browser, and be taken atomically, so of two concurrent uses exactly one proceeds. Every
// failure is the same ErrPendingGone.
func (s *Service) takePending(ctx context.Context, handle, browser string) (pendingRecord, error) {
	if _, err := s.peekPending(ctx, handle, browser); err != nil {
		return pendingRecord{}, err
	}
	key := s.keys.qqPending(handle)
	raw, ok, err := s.kv.Take(ctx, key)
	if err != nil {
		return pendingRecord{}, fmt.Errorf("account: take pending: %w", err)
	}
	if !ok {
		return pendingRecord{}, ErrPendingGone
	}
	rec, err := s.openPending(key, raw)
	if err != nil {
		return pendingRecord{}, ErrPendingGone
	}
	return rec, nil
}

func (s *Service) openPending(key string, raw []byte) (pendingRecord, error) {
	plain, err := s.box.Open(raw, []byte(key))
	if err != nil {
		return pendingRecord{}, err
	}
	var rec pendingRecord
	err = json.Unmarshal(plain, &rec)
	return rec, err
}

// giveBack returns a pending identity after a failed attempt the person can correct (a
// typo in the password, a nickname already taken), counting the attempt.
func (s *Service) giveBack(ctx context.Context, handle string, rec pendingRecord) {
	rec.Attempts++
	// Even if the person's request was cancelled meanwhile, the identity goes back.
	if err := s.putPending(context.WithoutCancel(ctx), handle, rec); err != nil {
		s.log.Error("give back pending identity", "err", err)
	}
}

// retryable reports whether a failed bind or register may be tried again with the same
// pending identity: a mistake the person can correct, or an outage of our own storage.
func retryable(err error) bool {
	if IsUnavailable(err) {
		return true
	}
	e := ErrorOf(err)
	return e != nil && e.Kind != Internal
}

func (s *Service) identityFrom(rec pendingRecord, userID int64) Identity {
	now := s.now()
	id := Identity{Provider: orQQ(rec.Provider), AppID: rec.AppID, OpenID: rec.OpenID, UnionID: rec.UnionID, UserID: userID,
		Nickname: rec.Nickname, Avatar: rec.Avatar, CreatedAt: now, UpdatedAt: now}
	id.AccessToken, id.RefreshToken, id.TokenExpiresAt = s.sealTokens(id.Provider, rec.OpenID, rec.Access, rec.Refresh, rec.ExpiresIn)
	return id
}

// BindInput binds a pending QQ identity to an existing account (tab 已有账号).
type BindInput struct {
	Provider string // the route's provider; "" is qq
	Handle   string
	Browser  string // the pending cookie
	Account  string
	Password string
	Captcha  CaptchaAnswer
	Client   Client
}

// BindExisting checks the account's password and binds the pending QQ identity to it.
// Unknown account and wrong password answer the same ErrInvalidCredentials; an identity or
// account already bound answers 409, enforced by the database's unique constraints.
func (s *Service) BindExisting(ctx context.Context, in BindInput) (Login, error) {
	if _, ok := s.providers[orQQ(in.Provider)]; !ok {
		return Login{}, ErrNotFound
	}
	policy := s.policy.Bind
	if policy == PolicyAlways && s.captcha != nil {
		// First, before the pending identity is even looked at: a request without a valid
		// ticket uses up none of its attempts.
		if err := s.checkCaptcha(ctx, in.Captcha, in.Client.IP, true); err != nil {
			return Login{}, err
		}
		policy = policyVerified
	}
	rec, err := s.takePending(ctx, in.Handle, in.Browser)
	if err != nil {
		return Login{}, err
	}
	if orQQ(rec.Provider) != orQQ(in.Provider) { // another provider's pending identity
		s.giveBack(ctx, in.Handle, rec)
		return Login{}, ErrPendingGone
	}
	if in.Account == "" || in.Password == "" {
		s.giveBack(ctx, in.Handle, rec)
		if in.Account == "" {
			return Login{}, ErrAccountRequired
		}
		return Login{}, ErrPasswordRequired
	}
	u, err := s.checkPassword(ctx, in.Account, in.Password, in.Captcha, in.Client, policy)
	if err != nil {
		s.obs.QQStep(StepBindFailed)
		if retryable(err) {
			s.giveBack(ctx, in.Handle, rec)
		}
		return Login{}, err
	}
	if err := s.otherPerson(ctx, u.ID, orQQ(rec.Provider), rec.AppID, rec.UnionID); err != nil {
		s.obs.QQStep(StepBindFailed)
		s.giveBack(ctx, in.Handle, rec) // another account may still be bound
		return Login{}, err
	}
	if _, err := s.store.BindIdentity(ctx, s.identityFrom(rec, u.ID), s.event(u.ID, providerEvent(rec.Provider, EventQQBind), in.Client, "existing account")); err != nil {
		s.obs.QQStep(StepBindFailed)
		if errors.Is(err, ErrAccountHasQQ) || IsUnavailable(err) {
			s.giveBack(ctx, in.Handle, rec) // another account may still be bound
		}
		return Login{}, err
	}
	s.obs.QQStep(StepBindOK)
	s.notify(u, noticeLinkQQ(rec.Nickname)) // docs/requirements.md §6 / B-05: the owner hears of every binding
	return s.issue(ctx, u, issueInput{Remember: rec.Remember, Method: orQQ(rec.Provider), Client: in.Client, Next: rec.Next})
}

// RegisterQQInput registers a new account for a pending QQ identity (tab 没有账号).
type RegisterQQInput struct {
	Provider string // the route's provider; "" is qq
	Handle   string
	Browser  string
	RegisterInput
}

// RegisterWithQQ creates the account and binds the QQ identity in one transaction.
func (s *Service) RegisterWithQQ(ctx context.Context, in RegisterQQInput) (Login, error) {
	if _, ok := s.providers[orQQ(in.Provider)]; !ok {
		return Login{}, ErrNotFound
	}
	rec, err := s.takePending(ctx, in.Handle, in.Browser)
	if err != nil {
		return Login{}, err
	}
	if orQQ(rec.Provider) != orQQ(in.Provider) {
		s.giveBack(ctx, in.Handle, rec)
		return Login{}, ErrPendingGone
	}
	u, consume, err := s.prepareUser(ctx, in.RegisterInput)
	if err != nil {
		if retryable(err) {
			s.giveBack(ctx, in.Handle, rec)
		}
		return Login{}, err
	}
	if u.Avatar == "" {
		u.Avatar = rec.Avatar
	}
	created, err := s.createWithRetry(u, func(u User) (User, error) {
		c, _, err := s.store.CreateUserWithIdentity(ctx, u, s.identityFrom(rec, 0),
			s.event(0, EventRegister, in.Client, "with "+orQQ(rec.Provider)), s.event(0, providerEvent(rec.Provider, EventQQBind), in.Client, "new account"))
		return c, err
	})
	if err != nil {
		if errors.Is(err, ErrMobileTaken) || errors.Is(err, ErrNicknameTaken) || IsUnavailable(err) {
			s.giveBack(ctx, in.Handle, rec)
		}
		return Login{}, err
	}
	consume()
	s.obs.QQStep(StepRegisterOK)
	return s.issue(ctx, created, issueInput{Remember: rec.Remember, Method: orQQ(rec.Provider), Client: in.Client, Next: rec.Next})
}

// linkIdentity binds the identity to the logged-in user of a link state: 409 qq_already_bound
// when it is another account's, 409 account_has_qq when the user already has a QQ; the
// same identity linked again is simply reported.
func (s *Service) linkIdentity(ctx context.Context, sess Session, st stateRecord, p Provider, ext External, cl Client) (QQResult, error) {
	id, u, err := s.store.IdentityByOpenID(ctx, p.Name(), ext.AppID, ext.Subject)
	switch {
	case err == nil && u.ID == sess.User.ID:
		return QQResult{Linked: &Linked{Identity: id, Next: st.Next}}, nil
	case err == nil:
		return QQResult{}, ErrQQBound
	case !errors.Is(err, ErrNoRows):
		return QQResult{}, fmt.Errorf("account: look up identity: %w", err)
	}
	if ext.UnionID != "" { // the same person through another app, bound to someone else
		if _, other, err := s.store.IdentityByUnionID(ctx, p.Name(), ext.UnionID); err == nil && other.ID != sess.User.ID {
			return QQResult{}, ErrQQBound
		}
	}
	if err := s.otherPerson(ctx, sess.User.ID, p.Name(), ext.AppID, ext.UnionID); err != nil {
		return QQResult{}, err
	}
	nick, avatar := s.profile(ctx, p, ext)
	rec := pendingRecord{Provider: p.Name(), AppID: ext.AppID, OpenID: ext.Subject, UnionID: ext.UnionID, Nickname: nick, Avatar: avatar,
		Access: ext.AccessToken, Refresh: ext.RefreshToken, ExpiresIn: ext.ExpiresIn}
	bound, err := s.store.BindIdentity(ctx, s.identityFrom(rec, sess.User.ID), s.event(sess.User.ID, providerEvent(rec.Provider, EventQQBind), cl, "from the user centre"))
	if err != nil {
		return QQResult{}, err
	}
	s.obs.QQStep(StepBindOK)
	s.notify(sess.User, noticeLinkQQ(nick))
	return QQResult{Linked: &Linked{Identity: bound, Next: st.Next}}, nil
}

// Unlink removes the user's identities at provider after checking the password (counted
// by the login throttle). Refused when the account would be left without a way in: with
// no password, unless another provider's identity remains (then the session is all the
// proof there is). The next login of that identity is a first-time one.
func (s *Service) Unlink(ctx context.Context, provider string, sess Session, pw string, cl Client) error {
	if _, ok := s.providers[provider]; !ok {
		return ErrNotFound
	}
	if sess.User.PasswordHash == "" {
		ids, err := s.store.IdentitiesByUser(ctx, sess.User.ID)
		if err != nil {
			return fmt.Errorf("account: load identities: %w", err)
		}
		others := 0
		for _, id := range ids {
			if id.Provider != provider {
				others++
			}
		}
		if others == 0 {
			return ErrLastLoginMethod
		}
	} else {
		if pw == "" {
			return ErrPasswordRequired
		}
		if _, err := s.checkOwnPassword(ctx, sess, pw, cl); err != nil {
			return err
		}
	}
	n, err := s.store.DeleteIdentity(ctx, sess.User.ID, provider, s.event(sess.User.ID, providerEvent(provider, EventQQUnbind), cl, provider))
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrQQNotLinked
	}
	s.notify(sess.User, noticeUnlinkQQ)
	return nil
}
