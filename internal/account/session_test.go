package account_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/renran/accounts/internal/account"
)

// login logs in the fixture user's account by username.
func (f *fixture) login(t *testing.T, username string, remember bool) account.Login {
	t.Helper()
	l, err := f.svc.LoginPassword(context.Background(), account.LoginInput{Account: username, Password: "correct horse battery", Remember: remember, Client: cl})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestSessionExpiryAndSlidingRenewal: a session without 记住我 lives 12 hours from its last
// refresh, one with it 30 days; each refresh moves the end on; an access token lives 15
// minutes.
func TestSessionExpiryAndSlidingRenewal(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sess := f.user(t, "s@example.com")
	for _, tt := range []struct {
		name     string
		remember bool
		life     time.Duration
	}{
		{"browser session", false, account.BrowserSessionTTL},
		{"记住我", true, account.RememberTTL},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := f.login(t, sess.User.Username, tt.remember)
			if l.ExpiresIn != 900 || l.Session.Remember != tt.remember || !l.Session.ExpiresAt.Equal(f.clock.now().Add(tt.life)) {
				t.Fatalf("login = %+v", l.Session)
			}
			f.clock.add(account.DefaultAccessTTL + time.Minute) // past the access token and its leeway
			if _, err := f.svc.Authenticate(ctx, l.Token); !errors.Is(err, account.ErrUnauthenticated) {
				t.Errorf("an access token after 16 minutes: %v", err)
			}
			rt := l.RefreshToken
			for i := range 3 { // each refresh just before the end slides it on
				f.clock.add(tt.life - account.DefaultAccessTTL - 2*time.Minute)
				n, err := f.svc.Refresh(ctx, rt, cl)
				if err != nil {
					t.Fatalf("refresh %d, %v after the last: %v", i, tt.life-time.Minute, err)
				}
				if _, err := f.svc.Authenticate(ctx, n.Token); err != nil {
					t.Fatalf("the refreshed access token: %v", err)
				}
				rt = n.RefreshToken
			}
			f.clock.add(tt.life + time.Second)
			if _, err := f.svc.Refresh(ctx, rt, cl); !errors.Is(err, account.ErrRefreshInvalid) {
				t.Errorf("refresh past the session's end: %v, want refresh_token_invalid", err)
			}
		})
	}
}

// TestRefreshGraceWindow: the token spent last may come again within RefreshGrace (two
// tabs); after it, or for an older token, the session ends.
func TestRefreshGraceWindow(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sess := f.user(t, "g@example.com")
	l := f.login(t, sess.User.Username, false)
	n1, err := f.svc.Refresh(ctx, l.RefreshToken, cl)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.add(account.RefreshGrace - time.Second)
	if _, err := f.svc.Refresh(ctx, l.RefreshToken, cl); err != nil {
		t.Errorf("the token spent last, %v later: %v", account.RefreshGrace-time.Second, err)
	}
	f.clock.add(2 * time.Second)
	if _, err := f.svc.Refresh(ctx, l.RefreshToken, cl); !errors.Is(err, account.ErrSessionReused) {
		t.Errorf("the token spent last, past the grace window: %v, want session_revoked", err)
	}
	if _, err := f.svc.Refresh(ctx, n1.RefreshToken, cl); !errors.Is(err, account.ErrRefreshInvalid) {
		t.Errorf("the successor after the session ended: %v", err)
	}
	if _, err := f.svc.Authenticate(ctx, n1.Token); !errors.Is(err, account.ErrUnauthenticated) {
		t.Errorf("an access token of the ended session: %v", err)
	}
}

// TestKeyRotationWithClock: a rotated key is published at once, signs after its delay;
// tokens of the old key verify until they have expired, then the old key is retired.
func TestKeyRotationWithClock(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sess := f.user(t, "k@example.com")
	old := f.login(t, sess.User.Username, false)
	k, err := account.RotateKey(ctx, f.db, []byte("flows-test-secret-Vq8Lr2Kx9Pm4Tz7Nw1Yb"), f.clock.now(), account.DefaultKeyDelay)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ReloadKeys(ctx); err != nil {
		t.Fatal(err)
	}
	states := func() map[string]string {
		keys, _ := f.db.SigningKeys(ctx)
		m := map[string]string{}
		for _, s := range account.KeyStates(keys, f.clock.now(), account.DefaultAccessTTL) {
			m[s.ID] = s.State
		}
		return m
	}
	if st := states(); st[k.ID] != "upcoming" || len(st) != 2 {
		t.Errorf("right after the rotation: %v", st)
	}
	if got := f.login(t, sess.User.Username, false); got.Token == "" || kid(got.Token) == k.ID {
		t.Errorf("a login before the new key's time signs with it")
	}
	f.clock.add(account.DefaultKeyDelay)
	if err := f.svc.ReloadKeys(ctx); err != nil {
		t.Fatal(err)
	}
	fresh := f.login(t, sess.User.Username, false)
	if kid(fresh.Token) != k.ID {
		t.Errorf("a login after the new key's time: kid %s, want %s", kid(fresh.Token), k.ID)
	}
	// old was issued DefaultKeyDelay (10 minutes) ago: still valid, under the old key.
	for name, tok := range map[string]string{"old key": old.Token, "new key": fresh.Token} {
		if _, err := f.svc.Authenticate(ctx, tok); err != nil {
			t.Errorf("a token of the %s during the overlap: %v", name, err)
		}
	}
	if st := states(); st[k.ID] != "active" || st[kid(old.Token)] != "previous" {
		t.Errorf("during the overlap: %v", st)
	}
	f.clock.add(account.KeyReload + account.DefaultAccessTTL) // 16 minutes after the switch
	if st := states(); st[kid(old.Token)] != "previous" {
		t.Errorf("while a token the old key signed just before an instance's reload may live: %v", st)
	}
	f.clock.add(time.Minute)
	if err := f.svc.ReloadKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if st := states(); st[kid(old.Token)] != "retired" {
		t.Errorf("once the old key's tokens have expired: %v", st)
	}
	if jwks := string(f.svc.JWKS()); !strings.Contains(jwks, k.ID) || strings.Contains(jwks, kid(old.Token)) {
		t.Errorf("JWKS after the old key retired: %s", jwks)
	}
}

// TestSessionsOfAUser: the list holds the live sessions only; ending one is the user's
// own business.
func TestSessionsOfAUser(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b := f.user(t, "a@example.com"), f.user(t, "b@example.com")
	l := f.login(t, a.User.Username, true)
	other := f.login(t, b.User.Username, false)
	cur, err := f.svc.Authenticate(ctx, l.Token)
	if err != nil {
		t.Fatal(err)
	}
	list, err := f.svc.Sessions(ctx, cur)
	if err != nil || len(list) != 2 { // f.user logged in once too
		t.Fatalf("sessions = %+v, %v", list, err)
	}
	if err := f.svc.EndSession(ctx, cur, other.Session.ID, cl); !errors.Is(err, account.ErrSessionNotFound) {
		t.Errorf("ending another user's session: %v", err)
	}
	if err := f.svc.EndSession(ctx, cur, a.Record.ID, cl); err != nil {
		t.Fatal(err)
	}
	if list, _ = f.svc.Sessions(ctx, cur); len(list) != 1 || list[0].ID != l.Session.ID {
		t.Errorf("after ending one: %+v", list)
	}
}

// kid is the key id in a token's header.
func kid(tok string) string {
	head, _, _ := strings.Cut(tok, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(head)
	var h struct{ Kid string }
	json.Unmarshal(raw, &h)
	return h.Kid
}
