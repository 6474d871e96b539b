// Package storetest is the conformance suite every account.Store must pass.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/renran/accounts/internal/account"
)

// Store is an account.Store with the test helpers the suite needs.
type Store interface {
	account.Store
	Counts(ctx context.Context) (users, identities int, err error)
}

var seq atomic.Int64

// NewUser returns a user with unique username, mobile, e-mail and nickname.
func NewUser() account.User {
	n := seq.Add(1) + time.Now().UnixNano()%1_000_000*1000
	return account.User{
		Username: fmt.Sprintf("user%d", n), Mobile: fmt.Sprintf("139%08d", n%100_000_000),
		Email: fmt.Sprintf("u%d@example.com", n), Nickname: fmt.Sprintf("昵称%d", n), PasswordHash: "", TokenVersion: 1,
	}
}

// NewIdentity returns a QQ identity with a unique openid.
func NewIdentity() account.Identity {
	return account.Identity{Provider: account.ProviderQQ, AppID: "101000001",
		OpenID: fmt.Sprintf("%032X", seq.Add(1)+time.Now().UnixNano()), Nickname: "QQ昵称", AccessToken: []byte("sealed")}
}

// Run runs the suite against stores made by open.
func Run(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()

	t.Run("CreateAndFind", func(t *testing.T) {
		s := open(t)
		u, err := s.CreateUser(ctx, NewUser())
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		for _, tc := range []struct {
			name  string
			kind  account.LoginKind
			value string
		}{
			{"username", account.ByUsername, u.Username},
			{"mobile", account.ByMobile, u.Mobile},
			{"email", account.ByEmail, u.Email},
		} {
			got, err := s.UserByLogin(ctx, tc.kind, tc.value)
			if err != nil || got.ID != u.ID {
				t.Errorf("UserByLogin(%s, %q) = %d, %v; want %d", tc.name, tc.value, got.ID, err, u.ID)
			}
		}
		if _, err := s.UserByLogin(ctx, account.ByUsername, "nobody"); !errors.Is(err, account.ErrNoRows) {
			t.Errorf("UserByLogin(nobody) error = %v, want ErrNoRows", err)
		}
		if _, err := s.UserByID(ctx, u.ID+1000); !errors.Is(err, account.ErrNoRows) {
			t.Errorf("UserByID(missing) error = %v, want ErrNoRows", err)
		}
	})

	t.Run("UniqueConflicts", func(t *testing.T) {
		s := open(t)
		a, _ := s.CreateUser(ctx, NewUser())
		for _, tc := range []struct {
			name   string
			mutate func(u *account.User)
			want   error
		}{
			{"mobile", func(u *account.User) { u.Mobile = a.Mobile }, account.ErrMobileTaken},
			{"nickname", func(u *account.User) { u.Nickname = a.Nickname }, account.ErrNicknameTaken},
			{"username", func(u *account.User) { u.Username = a.Username }, account.ErrUsernameTaken},
			{"email", func(u *account.User) { u.Email = a.Email }, account.ErrEmailTaken},
		} {
			u := NewUser()
			tc.mutate(&u)
			if _, err := s.CreateUser(ctx, u); !errors.Is(err, tc.want) {
				t.Errorf("CreateUser with same %s: error = %v, want %v", tc.name, err, tc.want)
			}
		}
	})

	t.Run("BindConflicts", func(t *testing.T) {
		s := open(t)
		a, _ := s.CreateUser(ctx, NewUser())
		b, _ := s.CreateUser(ctx, NewUser())
		id := NewIdentity()
		id.UserID = a.ID
		if _, err := s.BindIdentity(ctx, id); err != nil {
			t.Fatalf("BindIdentity: %v", err)
		}
		again := id
		again.UserID = b.ID
		if _, err := s.BindIdentity(ctx, again); !errors.Is(err, account.ErrQQBound) {
			t.Errorf("bind the same openid to another user: %v, want ErrQQBound", err)
		}
		other := NewIdentity()
		other.UserID = a.ID
		if _, err := s.BindIdentity(ctx, other); !errors.Is(err, account.ErrAccountHasQQ) {
			t.Errorf("bind a second QQ to a user: %v, want ErrAccountHasQQ", err)
		}
		gotID, gotU, err := s.IdentityByOpenID(ctx, account.ProviderQQ, id.AppID, id.OpenID)
		if err != nil || gotU.ID != a.ID || gotID.OpenID != id.OpenID || string(gotID.AccessToken) != "sealed" {
			t.Errorf("IdentityByOpenID = %+v, user %d, %v; want user %d", gotID, gotU.ID, err, a.ID)
		}
		ids, err := s.IdentitiesByUser(ctx, a.ID)
		if err != nil || len(ids) != 1 {
			t.Errorf("IdentitiesByUser = %d identities, %v; want 1", len(ids), err)
		}
	})

	t.Run("CreateWithIdentityIsAtomic", func(t *testing.T) {
		s := open(t)
		a, _ := s.CreateUser(ctx, NewUser())
		id := NewIdentity()
		id.UserID = a.ID
		_, _ = s.BindIdentity(ctx, id)
		users0, ids0, _ := s.Counts(ctx)
		// The openid is bound meanwhile: the user insert must be rolled back too.
		if _, _, err := s.CreateUserWithIdentity(ctx, NewUser(), id); !errors.Is(err, account.ErrQQBound) {
			t.Fatalf("CreateUserWithIdentity(bound openid) = %v, want ErrQQBound", err)
		}
		users1, ids1, _ := s.Counts(ctx)
		if users1 != users0 || ids1 != ids0 {
			t.Errorf("after a failed registration: users %d→%d, identities %d→%d; want unchanged", users0, users1, ids0, ids1)
		}
		u, i, err := s.CreateUserWithIdentity(ctx, NewUser(), NewIdentity())
		if err != nil || i.UserID != u.ID {
			t.Errorf("CreateUserWithIdentity = user %d, identity user %d, %v", u.ID, i.UserID, err)
		}
	})

	t.Run("ConcurrentBindsOneWins", func(t *testing.T) {
		s := open(t)
		id := NewIdentity()
		var ok, conflict atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < 8; i++ {
			u, err := s.CreateUser(ctx, NewUser())
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func(uid int64) {
				defer wg.Done()
				<-start
				x := id
				x.UserID = uid
				_, err := s.BindIdentity(ctx, x)
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, account.ErrQQBound):
					conflict.Add(1)
				default:
					t.Errorf("BindIdentity: %v", err)
				}
			}(u.ID)
		}
		close(start)
		wg.Wait()
		if ok.Load() != 1 || conflict.Load() != 7 {
			t.Errorf("8 concurrent binds: %d ok, %d conflicts; want 1 and 7", ok.Load(), conflict.Load())
		}
	})

	t.Run("TokenVersionAndAudit", func(t *testing.T) {
		s := open(t)
		u, _ := s.CreateUser(ctx, NewUser())
		v, err := s.BumpTokenVersion(ctx, u.ID)
		if err != nil || v != u.TokenVersion+1 {
			t.Errorf("BumpTokenVersion = %d, %v; want %d", v, err, u.TokenVersion+1)
		}
		if err := s.AppendAudit(ctx, []account.AuditEvent{{UserID: u.ID, Event: account.EventLoginOK, At: time.Now()}, {Event: account.EventLoginFailed, At: time.Now()}}); err != nil {
			t.Errorf("AppendAudit: %v", err)
		}
		if err := s.SetPasswordHash(ctx, u.ID, "$argon2id$x"); err != nil {
			t.Errorf("SetPasswordHash: %v", err)
		}
		got, _ := s.UserByID(ctx, u.ID)
		if got.PasswordHash != "$argon2id$x" || got.TokenVersion != v {
			t.Errorf("user after updates = %+v", got)
		}
		id := NewIdentity()
		id.UserID = u.ID
		_, _ = s.BindIdentity(ctx, id)
		id.AccessToken = []byte("new")
		id.UpdatedAt = time.Now()
		if err := s.UpdateIdentityTokens(ctx, []account.Identity{id}); err != nil {
			t.Errorf("UpdateIdentityTokens: %v", err)
		}
		gotID, _, _ := s.IdentityByOpenID(ctx, id.Provider, id.AppID, id.OpenID)
		if string(gotID.AccessToken) != "new" {
			t.Errorf("access token after update = %q, want \"new\"", gotID.AccessToken)
		}
	})

	t.Run("JournalBatches", func(t *testing.T) {
		// The journal's writes, as it batches them: events with and without a user, two
		// updates of one identity (the later wins), a token without a refresh token or an
		// expiry, a last-seen time that never goes back.
		s := open(t)
		u, _ := s.CreateUser(ctx, NewUser())
		at := time.Now().Truncate(time.Millisecond)
		var events []account.AuditEvent
		for i := range 300 {
			events = append(events, account.AuditEvent{UserID: u.ID, Event: account.EventQQLogin, IP: "192.0.2.1", UserAgent: "ua", Detail: fmt.Sprint(i), At: at.Add(time.Duration(i) * time.Millisecond)})
		}
		events = append(events, account.AuditEvent{Event: account.EventLoginFailed, IP: "192.0.2.2", At: at})
		if err := s.AppendAudit(ctx, events); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
		got, err := s.RecentAuditEvents(ctx, u.ID, 1000)
		if err != nil || len(got) != 300 || got[0].Detail != "299" || got[0].IP != "192.0.2.1" || got[0].UserAgent != "ua" ||
			!got[0].At.Equal(at.Add(299*time.Millisecond)) || got[0].Event != account.EventQQLogin {
			t.Fatalf("after a batch of 300 events and one without a user: %d events, newest %+v, %v", len(got), got, err)
		}
		a, b := NewIdentity(), NewIdentity()
		a.UserID, b.UserID = u.ID, u.ID
		b.Provider = account.ProviderWeibo
		for _, id := range []account.Identity{a, b} {
			if _, err := s.BindIdentity(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		exp := at.Add(90 * 24 * time.Hour)
		a1, a2, b1 := a, a, b
		a1.AccessToken, a1.RefreshToken, a1.TokenExpiresAt, a1.UpdatedAt = []byte("a1"), []byte("r1"), exp, at
		a2.AccessToken, a2.RefreshToken, a2.TokenExpiresAt, a2.UpdatedAt = []byte("a2"), []byte("r2"), exp.Add(time.Second), at.Add(time.Second)
		b1.AccessToken, b1.RefreshToken, b1.TokenExpiresAt, b1.UpdatedAt = []byte("b1"), nil, time.Time{}, at
		if err := s.UpdateIdentityTokens(ctx, []account.Identity{a1, b1, a2}); err != nil {
			t.Fatalf("UpdateIdentityTokens: %v", err)
		}
		ga, _, _ := s.IdentityByOpenID(ctx, a.Provider, a.AppID, a.OpenID)
		if string(ga.AccessToken) != "a2" || string(ga.RefreshToken) != "r2" || !ga.TokenExpiresAt.Equal(exp.Add(time.Second)) {
			t.Errorf("identity updated twice in a batch = %q %q %v; want the later update", ga.AccessToken, ga.RefreshToken, ga.TokenExpiresAt)
		}
		gb, _, _ := s.IdentityByOpenID(ctx, b.Provider, b.AppID, b.OpenID)
		if string(gb.AccessToken) != "b1" || gb.RefreshToken != nil || !gb.TokenExpiresAt.IsZero() {
			t.Errorf("identity without refresh token or expiry = %q %q %v", gb.AccessToken, gb.RefreshToken, gb.TokenExpiresAt)
		}
		rec := account.SessionRecord{ID: fmt.Sprintf("sess-%d", seq.Add(1)), UserID: u.ID, Method: "qq", CreatedAt: at, LastSeenAt: at, ExpiresAt: at.Add(time.Hour)}
		if err := s.CreateSession(ctx, rec, []byte(rec.ID)); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchSessions(ctx, []account.SessionTouch{{ID: rec.ID, At: at.Add(2 * time.Minute)}, {ID: "no-such-session", At: at}}); err != nil {
			t.Fatalf("TouchSessions: %v", err)
		}
		if err := s.TouchSessions(ctx, []account.SessionTouch{{ID: rec.ID, At: at.Add(time.Minute)}}); err != nil {
			t.Fatalf("TouchSessions: %v", err)
		}
		if _, gs, err := s.UserForSession(ctx, u.ID, rec.ID, at); err != nil || !gs.LastSeenAt.Equal(at.Add(2*time.Minute)) {
			t.Errorf("last seen after touches at +2 min then +1 min = %v, %v; want +2 min", gs.LastSeenAt, err)
		}
	})

	t.Run("SessionsAndRefreshTokens", func(t *testing.T) {
		s := open(t)
		u, _ := s.CreateUser(ctx, NewUser())
		now := time.Now().Truncate(time.Millisecond)
		rec := account.SessionRecord{ID: fmt.Sprintf("sess-%d", seq.Add(1)), UserID: u.ID, Method: "password", Remember: true,
			IP: "192.0.2.1", UserAgent: "ua", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
		h := func(s string) []byte { return []byte(fmt.Sprintf("%-32s", s)) }
		if err := s.CreateSession(ctx, rec, h("r1")); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		got, gs, err := s.UserForSession(ctx, u.ID, rec.ID, now)
		if err != nil || got.ID != u.ID || gs.ID != rec.ID || !gs.Remember || !gs.ExpiresAt.Equal(rec.ExpiresAt) {
			t.Fatalf("UserForSession = %+v, %+v, %v", got, gs, err)
		}
		other, _ := s.CreateUser(ctx, NewUser())
		if _, _, err := s.UserForSession(ctx, other.ID, rec.ID, now); !errors.Is(err, account.ErrNoRows) {
			t.Errorf("another user's session: %v, want ErrNoRows", err)
		}
		if _, _, err := s.UserForSession(ctx, u.ID, rec.ID, now.Add(2*time.Hour)); !errors.Is(err, account.ErrNoRows) {
			t.Errorf("an expired session: %v, want ErrNoRows", err)
		}
		// The profile read: the same checks, with the identities (none yet, then two in
		// the order they were bound, without their tokens).
		if pu, ps, ids, err := s.ProfileForSession(ctx, u.ID, rec.ID, now); err != nil || pu.ID != u.ID || ps.ID != rec.ID || ids == nil || len(ids) != 0 {
			t.Fatalf("ProfileForSession without identities = %+v, %+v, %#v, %v", pu, ps, ids, err)
		}
		bound := []account.Identity{NewIdentity(), NewIdentity()}
		bound[1].Provider, bound[1].AppID, bound[1].Nickname, bound[1].Avatar = account.ProviderWeibo, "3000000001", "微博昵称", "https://tvax1.sinaimg.cn/a.jpg"
		for i := range bound {
			bound[i].UserID, bound[i].CreatedAt, bound[i].UpdatedAt = u.ID, now.Add(time.Duration(i)*time.Second), now
			if _, err := s.BindIdentity(ctx, bound[i]); err != nil {
				t.Fatalf("BindIdentity: %v", err)
			}
		}
		bindOther := NewIdentity()
		bindOther.UserID = other.ID
		if _, err := s.BindIdentity(ctx, bindOther); err != nil {
			t.Fatalf("BindIdentity: %v", err)
		}
		_, _, ids, err := s.ProfileForSession(ctx, u.ID, rec.ID, now)
		if err != nil || len(ids) != 2 {
			t.Fatalf("ProfileForSession = %+v, %v; want the user's 2 identities", ids, err)
		}
		for i, id := range ids {
			if id.Provider != bound[i].Provider || id.AppID != bound[i].AppID || id.Nickname != bound[i].Nickname ||
				id.Avatar != bound[i].Avatar || !id.CreatedAt.Equal(bound[i].CreatedAt) || id.UserID != u.ID || id.AccessToken != nil {
				t.Errorf("identity %d = %+v, want %+v without its token", i, id, bound[i])
			}
		}
		if _, _, _, err := s.ProfileForSession(ctx, other.ID, rec.ID, now); !errors.Is(err, account.ErrNoRows) {
			t.Errorf("ProfileForSession of another user's session: %v, want ErrNoRows", err)
		}
		if _, _, _, err := s.ProfileForSession(ctx, u.ID, rec.ID, now.Add(2*time.Hour)); !errors.Is(err, account.ErrNoRows) {
			t.Errorf("ProfileForSession of an expired session: %v, want ErrNoRows", err)
		}
		exp := func(account.SessionRecord) time.Time { return now.Add(2 * time.Hour) }
		reuse := account.AuditEvent{Event: account.EventTokenReuse, At: now}
		// Concurrent rotations of one token: one spends it, the others are the grace case;
		// none ends the session.
		outs := make([]account.RefreshOutcome, 8)
		errs := make([]error, 8)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				_, _, outs[i], errs[i] = s.RotateRefresh(ctx, h("r1"), h(fmt.Sprintf("r2-%d", i)), now, 30*time.Second, exp, reuse)
			})
		}
		wg.Wait()
		rotated := 0
		for i := range 8 {
			if errs[i] != nil || outs[i] == account.RefreshReused {
				t.Errorf("concurrent rotation %d = %v, %v", i, outs[i], errs[i])
			}
			if outs[i] == account.RefreshRotated {
				rotated++
			}
		}
		if rotated != 1 {
			t.Errorf("%d of 8 concurrent rotations spent the token, want 1", rotated)
		}
		if _, gs, _ := s.UserForSession(ctx, u.ID, rec.ID, now); !gs.ExpiresAt.Equal(now.Add(2 * time.Hour)) {
			t.Errorf("session after a rotation expires %v, want slid to %v", gs.ExpiresAt, now.Add(2*time.Hour))
		}
		if _, _, out, err := s.RotateRefresh(ctx, h("r2-0"), h("r3"), now, 30*time.Second, exp, reuse); err != nil || out != account.RefreshRotated {
			t.Fatalf("rotating r2-0 = %v, %v", out, err)
		}
		if _, _, out, err := s.RotateRefresh(ctx, h("r1"), h("r4"), now, 30*time.Second, exp, reuse); err != nil || out != account.RefreshReused {
			t.Fatalf("r1 after r2-0 was spent = %v, %v; want RefreshReused", out, err)
		}
		if _, _, err := s.UserForSession(ctx, u.ID, rec.ID, now); !errors.Is(err, account.ErrNoRows) {
			t.Errorf("the session after a reuse: %v, want ended", err)
		}
		if _, _, _, err := s.ProfileForSession(ctx, u.ID, rec.ID, now); !errors.Is(err, account.ErrNoRows) {
			t.Errorf("ProfileForSession of the ended session: %v, want ErrNoRows", err)
		}
		if _, _, _, err := s.RotateRefresh(ctx, h("r3"), h("r5"), now, 30*time.Second, exp, reuse); !errors.Is(err, account.ErrNoRows) {
			t.Errorf("a token of the ended session: %v, want ErrNoRows", err)
		}
		if _, _, _, err := s.RotateRefresh(ctx, h("never issued"), h("r6"), now, 30*time.Second, exp, reuse); !errors.Is(err, account.ErrNoRows) {
			t.Errorf("an unknown token: %v, want ErrNoRows", err)
		}
		if evs, _ := s.RecentAuditEvents(ctx, u.ID, 1); len(evs) != 1 || evs[0].Event != account.EventTokenReuse {
			t.Errorf("audit after a reuse = %+v", evs)
		}
		// List, end, purge.
		r2 := rec
		r2.ID, r2.Remember = rec.ID+"-b", false
		s.CreateSession(ctx, r2, h("b1"))
		r3 := rec
		r3.ID = rec.ID + "-c"
		s.CreateSession(ctx, r3, h("c1"))
		if list, err := s.ListSessions(ctx, u.ID, now); err != nil || len(list) != 2 {
			t.Errorf("ListSessions = %d, %v; want the 2 live ones", len(list), err)
		}
		if ok, err := s.EndSession(ctx, other.ID, r2.ID, "test"); ok || err != nil {
			t.Errorf("EndSession by another user = %v, %v", ok, err)
		}
		if ok, err := s.EndSession(ctx, u.ID, r2.ID, "test"); !ok || err != nil {
			t.Errorf("EndSession = %v, %v", ok, err)
		}
		if err := s.TouchSessions(ctx, []account.SessionTouch{{ID: r3.ID, At: now.Add(time.Minute)}}); err != nil {
			t.Errorf("TouchSessions: %v", err)
		}
		if list, _ := s.ListSessions(ctx, u.ID, now); len(list) != 1 || !list[0].LastSeenAt.Equal(now.Add(time.Minute)) {
			t.Errorf("after ending one and touching the other: %+v", list)
		}
		if _, err := s.BumpTokenVersion(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if list, _ := s.ListSessions(ctx, u.ID, now); len(list) != 0 {
			t.Errorf("sessions after BumpTokenVersion: %+v, want none", list)
		}
		if n, err := s.PurgeSessions(ctx, now.Add(time.Hour)); err != nil || n < 3 {
			t.Errorf("PurgeSessions = %d, %v; want the 3 ended ones", n, err)
		}
	})

	t.Run("SigningKeys", func(t *testing.T) {
		s := open(t)
		now := time.Now().Truncate(time.Millisecond)
		before, _ := s.SigningKeys(ctx)
		k := account.SigningKey{ID: fmt.Sprintf("kid-%d", seq.Add(1)), Public: []byte("pub"), Sealed: []byte("sealed"), CreatedAt: now, ActiveFrom: now.Add(time.Hour)}
		if err := s.AddSigningKey(ctx, k); err != nil {
			t.Fatalf("AddSigningKey: %v", err)
		}
		keys, err := s.SigningKeys(ctx)
		if err != nil || len(keys) != len(before)+1 {
			t.Fatalf("SigningKeys = %d, %v", len(keys), err)
		}
		last := keys[len(keys)-1]
		if last.ID != k.ID || string(last.Sealed) != "sealed" || !last.ActiveFrom.Equal(k.ActiveFrom) {
			t.Errorf("newest key = %+v", last)
		}
	})

	t.Run("SessionsGroupCommit", func(t *testing.T) {
		s := open(t)
		u, _ := s.CreateUser(ctx, NewUser())
		now := time.Now().Truncate(time.Millisecond)
		const n = 200
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				userID := u.ID
				if i == 7 {
					userID = u.ID + 1_000_000 // nobody: its row fails, the others of its batch must not
				}
				rec := account.SessionRecord{ID: fmt.Sprintf("gc-%d-%d", seq.Add(1), i), UserID: userID, Method: "password",
					CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
				errs[i] = s.CreateSession(ctx, rec, []byte(fmt.Sprintf("gc-hash-%d-%d-%d", seq.Add(1), i, now.UnixNano())))
			})
		}
		wg.Wait()
		failed := 0
		for i, err := range errs {
			if err != nil {
				failed++
				if i != 7 {
					t.Errorf("session %d of %d created at once: %v", i, n, err)
				}
			}
		}
		if errs[7] == nil || failed != 1 {
			t.Errorf("a session for nobody: %v (%d failed in all, want only it)", errs[7], failed)
		}
		if list, err := s.ListSessions(ctx, u.ID, now); err != nil || len(list) != n-1 {
			t.Errorf("ListSessions after %d concurrent creations = %d, %v; want %d", n, len(list), err, n-1)
		}
	})
}
