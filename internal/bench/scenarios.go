package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
)

// prepare makes the virtual users of scenario sc against base (the service or the
// reference server) and returns their flows. What a scenario needs that would otherwise
// be measured (accounts, bound QQ users, tokens) is made here, before the clock starts.
func prepare(ctx context.Context, o options, s *setup, sc, base string) ([]flow, error) {
	ref := base == s.reference
	flows := make([]flow, o.conc)
	var mu sync.Mutex
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	// At most 32 preparations at once: each may hash a password.
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	each := func(fn func(i int) error) error {
		for i := range o.conc {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				if err := fn(i); err != nil {
					fail(err)
				}
			}()
		}
		wg.Wait()
		return firstErr
	}

	switch sc {
	case "me":
		// A handful of accounts shared by the virtual users: a page's requests repeat a token.
		n := min(o.conc, 8)
		toks := make([]string, n)
		if ref {
			for i := range toks {
				toks[i] = "reference-token"
			}
		} else {
			for i := range n {
				a, err := newClient(base).registerAccount(ctx, fmt.Sprintf("压测%d", i), "")
				if err != nil {
					return nil, err
				}
				toks[i] = a.str("token")
			}
		}
		err := each(func(i int) error {
			c, tok := newClient(base), toks[i%n]
			flows[i] = func(ctx context.Context) (string, string) {
				a, err := c.do(ctx, "GET", "/users/me/", nil, tok)
				if err != nil || a.status != 200 {
					return failure("me", a, err)
				}
				return "", ""
			}
			return nil
		})
		return flows, err

	case "refresh":
		err := each(func(i int) error {
			c := newClient(base)
			a, err := c.registerAccount(ctx, fmt.Sprintf("续期%d", i), "")
			if err != nil {
				return err
			}
			rt := a.str("refresh_token")
			flows[i] = func(ctx context.Context) (string, string) {
				a, err := c.do(ctx, "POST", "/users/token/refresh/", map[string]any{"refresh_token": rt}, "")
				if err != nil || a.status != 200 {
					return failure("refresh", a, err)
				}
				rt = a.str("refresh_token")
				return "", ""
			}
			return nil
		})
		return flows, err

	case "qq-returning":
		// A pool of QQ users, each bound to an account once (as a first-time login); the
		// virtual users then log in as them again and again.
		n := min(o.conc, 64)
		uins := make([]string, n)
		for i := range n {
			u, err := newEmulatorUser(ctx, s.emulator)
			if err != nil {
				return nil, err
			}
			uins[i] = u
			if ref {
				continue
			}
			c := newClient(base)
			q, kind, err := c.qqCallback(ctx, u)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", kind, err)
			}
			p, err := c.do(ctx, "GET", "/oauth/qq/info/?"+q, nil, "")
			if err != nil || p.status != 200 || p.str("qq_user") == "" {
				k, m := failure("info", p, err)
				return nil, errors.New(k + " " + m)
			}
			if _, err := c.registerAccount(ctx, p.str("nickname"), p.str("qq_user")); err != nil {
				return nil, err
			}
		}
		err := each(func(i int) error {
			c, uin := newClient(base), uins[i%n]
			flows[i] = func(ctx context.Context) (string, string) {
				q, kind, err := c.qqCallback(ctx, uin)
				if err != nil {
					return kind, err.Error()
				}
				a, err := c.do(ctx, "GET", "/oauth/qq/info/?"+q, nil, "")
				if err != nil || a.status != 200 || a.str("token") == "" {
					return failure("info", a, err)
				}
				return "", ""
			}
			return nil
		})
		return flows, err

	case "qq-new":
		err := each(func(i int) error {
			c := newClient(base)
			flows[i] = func(ctx context.Context) (string, string) {
				q, kind, err := c.qqCallback(ctx, "new")
				if err != nil {
					return kind, err.Error()
				}
				p, err := c.do(ctx, "GET", "/oauth/qq/info/?"+q, nil, "")
				if err != nil || p.status != 200 || p.str("qq_user") == "" {
					return failure("info", p, err)
				}
				if _, err := c.registerAccount(ctx, p.str("nickname"), p.str("qq_user")); err != nil {
					return "register", err.Error()
				}
				return "", ""
			}
			return nil
		})
		return flows, err

	case "password-login":
		a, err := newClient(base).registerAccount(ctx, "密码压测", "")
		if err != nil {
			return nil, err
		}
		user := a.str("username")
		err = each(func(i int) error {
			c := newClient(base)
			flows[i] = func(ctx context.Context) (string, string) {
				a, err := c.do(ctx, "POST", "/users/login/", map[string]any{"account": user, "password": benchPassword}, "")
				if err != nil || a.status != 200 {
					return failure("login", a, err)
				}
				return "", ""
			}
			return nil
		})
		return flows, err
	}
	return nil, fmt.Errorf("unknown scenario %q", sc)
}

// newEmulatorUser makes a test QQ user in the emulator (POST /_qqemu/users) and returns
// its QQ number.
func newEmulatorUser(ctx context.Context, emulator string) (string, error) {
	c := &client{c: &http.Client{Transport: transport}, base: emulator}
	a, err := c.do(ctx, "POST", "/_qqemu/users", nil, "")
	if err != nil || a.status != http.StatusCreated || a.str("uin") == "" {
		k, m := failure("emulator user", a, err)
		return "", errors.New(k + " " + m)
	}
	return a.str("uin"), nil
}
